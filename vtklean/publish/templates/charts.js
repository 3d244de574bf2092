// Phones: a chart narrower than 600 px is drawn in its narrow layout (smaller margins,
// wrapped names, short value labels), which widgets.narrow puts in the chart's layout.meta;
// again when the window is resized. Data only comes from that JSON, never code.
(function () {
  var NARROW_PX = 600;
  function fit(g) {
    var meta = g.layout && g.layout.meta;
    if (!window.Plotly || !meta || !meta.smal) { return; }
    if (!g.vtkleanWide) { g.vtkleanWide = JSON.parse(JSON.stringify([g.data, g.layout])); }
    var narrow = g.clientWidth < NARROW_PX;
    if (narrow === Boolean(g.vtkleanNarrow)) { return; }
    g.vtkleanNarrow = narrow;
    var data = g.vtkleanWide[0], layout = g.vtkleanWide[1];
    if (narrow) {
      data = data.map(function (t, i) { return Object.assign({}, t, meta.smal.traces[i]); });
      layout = Object.assign({}, layout, meta.smal.layout);
    }
    Plotly.react(g, data, layout, meta.config);
  }
  function fitAll() { document.querySelectorAll(".js-plotly-plot").forEach(fit); }
  fitAll();
  window.addEventListener("resize", fitAll);
})();
