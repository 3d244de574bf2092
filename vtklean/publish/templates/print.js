// Printing shows every table: open the folded number tables first. Charts are drawn
// as wide as an A4 page's text (180 mm = 680 px) while printing, then as before.
window.addEventListener("beforeprint", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  if (window.Plotly) {
    document.querySelectorAll(".js-plotly-plot").forEach(function (g) {
      Plotly.relayout(g, {width: 680});
    });
  }
});
window.addEventListener("afterprint", function () {
  if (window.Plotly) {
    document.querySelectorAll(".js-plotly-plot").forEach(function (g) {
      Plotly.relayout(g, {width: null});
    });
  }
});
