"""The report suite on the sample data: pages, offline resources, content, browser, failure."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests import helpers
from tests.browser import offline_browser, wait_for_charts
from tests.conftest import run_build
from vtklean import build
from vtklean.core import norsk, paths
from vtklean.ingest import read
from vtklean.model import pilot, processed
from vtklean.publish import archive, execute

MAX_PAGE_BYTES = 1_500_000  # 1,5 MB: a page goes by e-mail


class PageParser(HTMLParser):
    """Collects what the checks need from a page: tags, attributes, text, title."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.text.append(data)


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html"))


def _areas(folder: Path) -> list[str]:
    with (folder / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        return [
            r["tjenesteomrade"]
            for r in csv.DictReader(fh)
            if r["tjenesteomrade"] != "Hele kommunen"
        ]


def test_every_page_is_built(suite):
    folder = suite["reports"]
    names = {p.name for p in _pages(folder)}
    fixed = {"index", "oversikt", "pilot-effekter", "datakvalitet", "tilgjengelighet"}
    expected = {f"{name}.html" for name in fixed} | {
        f"tjenesteomrade-{norsk.normalise_name(a)}.html" for a in _areas(folder)
    }
    assert names == expected
    assert len(_areas(folder)) >= 6
    audit = {p.stem for p in (folder / execute.NOTEBOOK_DIR).glob("*.ipynb")}
    assert audit == {n.removesuffix(".html") for n in names} - {"index", "tilgjengelighet"}


@pytest.mark.parametrize(
    "page", ["index", "oversikt", "datakvalitet", "tjenesteomrade-omsorg", "pilot-effekter"]
)
def test_page_is_offline_norwegian_and_code_free(suite, page):
    path = suite["reports"] / f"{page}.html"
    html = path.read_text(encoding="utf-8")
    parsed = parse(path)
    assert path.stat().st_size <= MAX_PAGE_BYTES
    assert html.startswith('<!DOCTYPE html>\n<html lang="nb">')
    assert parsed.title.strip() and "2017" in parsed.title
    for tag, attrs in parsed.tags:
        for attr in ("src", "href"):
            value = attrs.get(attr) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, value)
        assert tag != "link" or attrs.get("rel") != "stylesheet"
    assert not [a for t, a in parsed.tags if t == "script" and a.get("src")]  # all inline
    assert "jp-InputArea" not in html and "highlight-ipynb" not in html
    assert "processed_dir" not in "".join(parsed.text)  # no code, no injected parameters shown
    assert [t for t, _ in parsed.tags].count("h1") == 1
    if page != "index":
        assert html.count("plotly.js (basic - minified) v") <= 1  # plotly.js at most once


def test_chart_pages_embed_plotly_once_and_have_text_and_tables(suite):
    path = suite["reports"] / "oversikt.html"
    html = path.read_text(encoding="utf-8")
    parsed = parse(path)
    charts = html.count("Plotly.newPlot(")
    assert charts >= 8
    figures = [a for t, a in parsed.tags if t == "figure" and a.get("class") == "diagram"]
    assert len(figures) == charts
    assert sum(1 for t, _ in parsed.tags if t == "details") >= charts  # the numbers as tables
    assert html.count("Vis tallene i figuren") >= charts
    axis_titles = re.findall(r'"title":\s*\{"text":\s*"[^"]+"', html)
    assert len(axis_titles) >= 2 * charts - 5  # x and y titles (category lists need no y)


def test_overview_2017_shows_published_figures_in_norwegian(suite):
    text = " ".join(parse(suite["reports"] / "oversikt.html").text)
    assert "46,3" in text and "33,1" in text
    assert "43 av 76" in text
    assert "31.12.2017" in text
    assert "fra året før" in text
    assert "\u00a0%" in text and "\u00a0kr" in text  # 7,8 %, 1 234 567 kr with no-break spaces


def test_area_page_covers_its_units(suite):
    folder = suite["reports"]
    text = " ".join(parse(folder / "tjenesteomrade-omsorg.html").text)
    assert "Gimle sykehjem avd. 1" in text and "Pilotbølge" in text
    units = read.read_folder(suite["raw"]).tables["enheter"].data
    omsorg = units.filter(units["tjenesteomrade"] == "Omsorg").get_column("enhet").to_list()
    assert all(name in text for name in omsorg)
    teknisk = (folder / "tjenesteomrade-teknisk.html").read_text(encoding="utf-8")
    assert "Kart &amp; oppmåling &lt;geodata&gt;" in teknisk  # names are escaped, never markup


def test_index_links_every_page_and_the_spreadsheet(suite):
    parsed = parse(suite["reports"] / "index.html")
    links = {a.get("href") for t, a in parsed.tags if t == "a"}
    for page in _pages(suite["reports"]):
        if page.name != "index.html":
            assert page.name in links
    assert {"nokkeltall.xlsx", "nokkeltall.csv"} <= links
    assert "pilot-effekter.html" in links
    assert "kommer" not in " ".join(parsed.text)


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-").replace(",", "."))


def test_pilot_page_shows_the_planted_effect_inside_its_interval(suite):
    text = " ".join(" ".join(parse(suite["reports"] / "pilot-effekter.html").text).split())
    found = re.search(
        r"alle enheter som har startet \((\d+) enheter\) er den anslåtte effekten på "
        r"sykefravær (\S+) prosentpoeng i gjennomsnitt etter start \(95 % intervall (\S+) "
        r"til (\S+)\)",
        text.replace("\u00a0", " "),
    )
    assert found, text[:2000]
    estimate, low, high = (_number(found.group(i)) for i in (2, 3, 4))
    months = processed.load(str(suite["processed"]), 2017).datasets.unit_months
    truth = helpers.planted_truth(months, pilot.panel(months, "sykefravaer_prosent", "ar"))
    assert low <= truth <= high
    assert low <= estimate <= high < 0
    for wave in (1, 2):
        assert f"effekt før og etter start, bølge {wave}" in text
    assert "Toveis faste effekter (TWFE)" in text and "Like utviklingsbaner" in text


def test_provenance_on_every_page(suite):
    raw_hashes = helpers.tree_hashes(suite["raw"])
    for page in _pages(suite["reports"]):
        text = " ".join(parse(page).text)
        assert "31.12.2017" in text and "Laget " in text and "vtklean " in text, page
        for name, digest in raw_hashes.items():
            if name != "README.md" and not name.startswith("."):  # the reader skips dotfiles
                assert name in text and digest in text, (page, name)
        if page.name.startswith("tjenesteomrade-"):
            assert "tjenesteomrade = " in text and "year = 2017" in text


def test_data_quality_page_lists_every_check(suite):
    text = " ".join(parse(suite["reports"] / "datakvalitet.html").text)
    assert "Alle kontroller" in text
    assert "arsverk må være > 0 og <= 50" in text.lower()
    assert "OK" in text


def test_executed_notebooks_have_outputs_and_no_errors(suite):
    for path in (suite["reports"] / execute.NOTEBOOK_DIR).glob("*.ipynb"):
        nb = json.loads(path.read_text(encoding="utf-8"))
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert outputs, path
        assert not [o for o in outputs if o["output_type"] == "error"], path
        stderr = [o for o in outputs if o.get("name") == "stderr"]
        assert not stderr, (path, stderr)


def test_rebuild_with_nothing_changed_does_no_work(suite):
    assert suite["unchanged"]  # not a byte rewritten
    assert suite["second"] < suite["first"] / 5


def test_change_in_raw_data_rebuilds(suite, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(suite["raw"], raw)
    out = tmp_path / "out"
    shutil.copytree(suite["reports"].parent.parent, out, ignore=shutil.ignore_patterns("raw"))
    stamp = (out / "reports" / "2017" / archive.STAMP).read_text(encoding="utf-8")
    enheter = raw / "enheter.csv"
    enheter.write_bytes(enheter.read_bytes().replace(b"Biblioteket", b"Biblioteket Raufoss"))
    assert run_build(raw, out, "--year", "2017") == 0  # data-only: quick, but must not skip
    assert (out / "reports" / "2017" / archive.STAMP).read_text(encoding="utf-8") != stamp


def test_papermill_help_explains_parameters():
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "papermill"),
            "--help-notebook",
            str(paths.NOTEBOOKS / "tjenesteomrade.ipynb"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tjenesteområdet rapporten gjelder" in out.stdout
    assert "rapportåret" in out.stdout


def test_unknown_notebook_parameter_is_an_error(tmp_path, tiny_raw):
    params = tmp_path / "params"
    shutil.copytree(paths.PARAMS, params)
    (params / "oversikt.yaml").write_text("etterslep_antall: 5\nfarge: blå\n", encoding="utf-8")
    options = build.Options(
        raw=tiny_raw, processed=tmp_path / "p", reports=tmp_path / "r", year=2017, params_dir=params
    )
    with pytest.raises(build.UsageError, match="ukjente parametre farge"):
        build.run(options)
    assert not (tmp_path / "r" / "2017").exists()


def test_failing_notebook_stops_the_build_and_keeps_last_reports(tmp_path, tiny_raw, capsys):
    out = tmp_path / "out"
    assert run_build(tiny_raw, out, "--year", "2017") == 0
    before = helpers.tree_hashes(out)
    notebooks = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS, notebooks)
    nb_path = notebooks / "datakvalitet.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    nb["cells"].append(
        {
            "cell_type": "code",
            "id": "feil",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "1 / 0",
        }
    )
    nb_path.write_text(json.dumps(nb), encoding="utf-8")
    options = build.Options(
        raw=tiny_raw,
        processed=out / "processed",
        reports=out / "reports",
        year=2017,
        notebooks=notebooks,
        force=True,
    )
    with pytest.raises(execute.RenderError) as err:
        build.run(options)
    assert err.value.page == "datakvalitet"
    assert "ZeroDivisionError" in err.value.message
    assert helpers.tree_hashes(out) == before


def test_failing_notebook_cli_message(tmp_path, monkeypatch, tiny_raw, capsys):
    """Through the CLI: the notebook's name and error, exit code 3, no traceback."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS, notebooks)
    (notebooks / "oversikt.ipynb").write_text(
        (notebooks / "oversikt.ipynb")
        .read_text(encoding="utf-8")
        .replace(
            "from vtklean.publish import charts", "from vtklean.publish import finnes_ikke, charts"
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(build.Options, "__init__", _with_notebooks(notebooks))
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017", pages=True) == 3
    err = capsys.readouterr().err
    assert "Rapporten «oversikt» feilet" in err
    assert "ImportError" in err and "Traceback" not in err


def _with_notebooks(folder: Path):
    original = build.Options.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.notebooks = folder

    return init


def test_pages_draw_every_chart_offline_in_chromium(suite):
    with offline_browser() as (context, blocked):
        for page_path in _pages(suite["reports"]):
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(page_path.as_uri(), wait_until="load")
            expected = wait_for_charts(page)
            drawn = page.evaluate(
                "Array.from(document.querySelectorAll('figure.diagram .js-plotly-plot'))"
                ".filter(d => d.querySelector('.main-svg .trace')).length"
            )
            assert drawn == expected, page_path.name
            assert errors == [], (page_path.name, errors)
            page.close()
    assert blocked == []


# ---- a kernel reused across notebooks --------------------------------------------------------

_PROBE = [
    "import os, sys, warnings\nimport plotly.io as pio\nimport polars as pl\n"
    "hidden = ('In', 'Out', 'get_ipython', 'exit', 'quit', 'open')\n"
    "names = sorted(n for n in globals() if not n.startswith('_') and n not in hidden)\n"
    "print(names, pio.templates.default, pio.renderers.default, os.getcwd(), sys.path,\n"
    "      os.environ.get('VTKLEAN_LEKK'), warnings.filters, pl.Config.state(if_set=True))",
    "x = 41",
    "print(len(In), x + 1)\nx + 1",
]
_DIRTY = [
    "import os, sys, warnings\nimport plotly.io as pio\nimport polars as pl\n"
    "lekket = 'fra forrige notatbok'\n"
    "pio.templates.default, pio.renderers.default = 'plotly_dark', 'json'\n"
    "os.environ['VTKLEAN_LEKK'] = 'lekket'\nos.chdir('/')\nsys.path.append('/lekket')\n"
    "warnings.simplefilter('ignore')\npl.Config.set_tbl_rows(3)",
]


def _notebook(folder: Path, name: str, cells: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, folder / f"{name}.ipynb")
    return name


def _run(kernel, folder: Path, notebook: str, out: Path) -> list:
    """Execution counts and outputs of a notebook run in `kernel` (RenderError if it fails)."""
    job = execute.Job(notebook, notebook, notebook, ())
    execute.execute(job, folder, out, kernel)
    nb = json.loads((out / execute.NOTEBOOK_DIR / f"{notebook}.ipynb").read_text("utf-8"))
    return [(c["execution_count"], _joined_streams(c["outputs"])) for c in nb["cells"]]


def _joined_streams(outputs: list[dict]) -> list[dict]:
    """Outputs with back-to-back text of one stream joined, as a reader (and nbconvert) sees
    them: a kernel under load may send one printed line in two messages."""
    out: list[dict] = []
    for o in outputs:
        if o["output_type"] != "stream":
            out.append(o)
        elif out and out[-1].get("name") == o["name"]:
            out[-1] = {**out[-1], "text": out[-1]["text"] + "".join(o["text"])}
        else:
            out.append({**o, "text": "".join(o["text"])})
    return out


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """Hand-made notebooks, the probe's outputs in a kernel of its own, a kernel to reuse."""
    folder = tmp_path_factory.mktemp("kjerner")
    for name, cells in (("probe", _PROBE), ("skitten", _DIRTY)):
        _notebook(folder, name, cells)
    _notebook(folder, "feiler", [*_DIRTY, "1 / 0"])
    _notebook(folder, "henger", [*_DIRTY, "import time\ntime.sleep(60)"])
    expected = _run(None, folder, "probe", folder / "alene")  # papermill's own new kernel
    reused = execute.Kernel(folder)
    try:
        yield folder, reused, expected
    finally:
        reused.stop()


def test_a_reused_kernel_runs_each_notebook_as_in_a_kernel_of_its_own(kernels, tmp_path):
    """Names, plotly/polars settings, folder, environment, history and counts do not leak."""
    folder, kernel, expected = kernels
    assert expected[0][0] == 1 and "lekket" not in json.dumps(expected)
    _run(kernel, folder, "skitten", tmp_path / "a")
    assert _run(kernel, folder, "probe", tmp_path / "b") == expected
    _run(kernel, folder, "probe", tmp_path / "c")  # order does not matter either
    _run(kernel, folder, "skitten", tmp_path / "d")
    _run(kernel, folder, "skitten", tmp_path / "e")
    assert _run(kernel, folder, "probe", tmp_path / "f") == expected


def test_a_failing_notebook_leaves_a_fresh_kernel_for_the_next(kernels, tmp_path):
    folder, kernel, expected = kernels
    with pytest.raises(execute.RenderError) as err:
        _run(kernel, folder, "feiler", tmp_path / "a")
    assert err.value.page == "feiler" and "ZeroDivisionError" in err.value.message
    assert _run(kernel, folder, "probe", tmp_path / "b") == expected


def test_a_hanging_notebook_is_stopped_and_its_kernel_replaced(kernels, tmp_path):
    folder, kernel, expected = kernels
    kernel.timeout = 3
    try:
        with pytest.raises(execute.RenderError) as err:
            _run(kernel, folder, "henger", tmp_path / "a")
    finally:
        kernel.timeout = execute.CELL_TIMEOUT
    assert err.value.page == "henger" and "ikke ferdig etter 3 s" in err.value.message
    assert _run(kernel, folder, "probe", tmp_path / "b") == expected


_ORPHAN = """
import sys, time
from pathlib import Path
from vtklean.publish import execute
if __name__ == "__main__":
    pool = execute.Pool(Path(sys.argv[1]), 2)
    pool.run([], Path(sys.argv[1]), print)  # no notebooks: returns once nothing is pending
    print("klar", flush=True)
    time.sleep(600)
"""


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            found |= {int(c) for c in children}
            todo += [int(c) for c in children]
    return found


def _kernels(pid: int) -> list[int]:
    def command(p: int) -> bytes:
        path = Path(f"/proc/{p}/cmdline")
        return path.read_bytes() if path.exists() else b""

    return [p for p in _descendants(pid) if b"ipykernel_launcher" in command(p)]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_killed_build_leaves_no_workers_or_kernels(tmp_path):
    """Workers and their kernels end when the build process is killed (no orphans)."""
    script = tmp_path / "bygg.py"
    script.write_text(_ORPHAN, encoding="utf-8")
    build_process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert build_process.stdout.readline().strip() == "klar"
        deadline = time.monotonic() + 120
        while len(_kernels(build_process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # two workers, each starting a kernel
        assert len(_kernels(build_process.pid)) == 2
        left = _descendants(build_process.pid)
    finally:
        build_process.kill()
        build_process.wait()
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{p}").exists() for p in left) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [p for p in left if Path(f"/proc/{p}").exists()]


def test_page_exporter_gives_what_nbconverts_html_exporter_gives():
    """The page body is HTMLExporter's, without its costly BeautifulSoup pass over the page.

    That pass only re-serialises our pages (no images, no lab cell wrappers), so the soup of
    our body must be exactly HTMLExporter's body: same elements, attributes and text; also
    with the output formats the page never shows left out before the export.
    """
    import copy

    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from tests.hostile import OWN
    from vtklean.core import escape
    from vtklean.publish import widgets

    hostile = " | ".join(OWN)
    fragment = widgets.text(f"Enhet: {hostile}").text + widgets.heading(hostile).text
    outputs = [
        nbformat.v4.new_output("display_data", {"text/html": widgets.setup().text}),
        nbformat.v4.new_output("display_data", {"text/html": fragment, "text/plain": hostile}),
        nbformat.v4.new_output(  # a chart: its plotly JSON (for JupyterLab) is not on the page
            "display_data",
            {
                "text/html": f"<figure>{escape.html_text(hostile)}</figure>",
                widgets.PLOTLY_MIME: {"data": [{"type": "bar", "x": [hostile], "y": [1]}]},
            },
        ),
        nbformat.v4.new_output("execute_result", {"text/plain": hostile}, execution_count=2),
        nbformat.v4.new_output("stream", name="stdout", text=hostile),
        nbformat.v4.new_output("stream", name="stderr", text="advarsel"),
    ]
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# Tittel\n\n{escape.html_text(hostile)}"),
            nbformat.v4.new_code_cell("x = 1", outputs=outputs, execution_count=2),
        ],
        metadata={"language_info": {"name": "python"}},
    )
    theirs = copy.deepcopy(nb)
    ours = execute._export(nb)
    for cell in theirs.cells:
        cell.outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    expected, _ = HTMLExporter(**execute.EXPORTER_SETTINGS).from_notebook_node(theirs)
    assert "advarsel" not in ours and "window.__pwned" in ours  # as text, escaped
    assert str(BeautifulSoup(ours, features="html.parser")) == expected


def test_notebooks_start_longest_first():
    """The pilot analysis starts first, then the overview, the areas by size, data quality."""

    def job(page: str, notebook: str, area: str | None = None) -> execute.Job:
        params = (("tjenesteomrade", area),) if area else ()
        return execute.Job(page, notebook, page, (("year", 2018), *params))

    todo = [
        job("oversikt", "oversikt"),
        job("a", "tjenesteomrade", "Kultur"),
        job("b", "tjenesteomrade", "Omsorg"),
        job("c", "tjenesteomrade", "Teknisk"),
        job("pilot-effekter", "pilot-effekter"),
        job("datakvalitet", "datakvalitet"),
    ]
    sizes = {"Kultur": 3, "Omsorg": 40, "Teknisk": 7, "Hele kommunen": 50}
    order = [j.page for j in build.longest_first(todo, sizes)]
    assert order == ["pilot-effekter", "oversikt", "b", "c", "a", "datakvalitet"]
