"""Benchmarks for `make bench`: wall time and peak memory of each step, printed as a table.

Each measured step runs in a child process of its own, so peak memory (max RSS) belongs
to that step alone. Results are written to docs/performance.md with the machine they
came from. This is a benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
VTKLEAN = [PY, "-m", "vtklean"]  # what the installed `vtklean` command runs (make report)

TARGETS = {
    "cold": ("kaldt bygg av eksempeldataene", "<= én naiv side (målt i samme kjøring)"),
    "warm": ("nytt bygg uten endringer", "<= 5 % av kaldt bygg"),
    "national": ("landsdekkende mappe, ende til ende", "<= 60 s og <= 4 GiB"),
    "read": ("lesing av landsdekkende mappe", "<= 5 s"),
    "ratio": ("behandling mot pandas", ">= 3 ganger raskere"),
}

# The naive page: a two-chart plotly notebook run by papermill, then exported by
# `jupyter nbconvert --to html --no-input`, the way the tools work out of the box.
NAIVE_CELLS = [
    "import plotly.graph_objects as go\nyears = list(range(2009, 2019))",
    "go.Figure(go.Scatter(x=years, y=[y % 7 + 40 for y in years])).show()",
    "go.Figure(go.Bar(x=years, y=[y % 5 + 3 for y in years])).show()",
]


def naive_page(folder: Path) -> list[str]:
    """Write the naive notebook into `folder`; return the shell command that makes its page."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in NAIVE_CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "naiv.ipynb"
    nbformat.write(nb, source)
    run = folder / "naiv-kjort.ipynb"
    bin_dir = Path(PY).parent
    script = (
        f"'{bin_dir / 'papermill'}' --no-progress-bar '{source}' '{run}' && "
        f"'{bin_dir / 'jupyter'}' nbconvert --to html --no-input '{run}'"
    )
    return ["bash", "-c", script]


class Run(NamedTuple):
    """One measured run: wall seconds, peak RSS of its largest process (MiB), CPU seconds."""

    wall: float
    peak: float
    cpu: float


def _child(command: list[str]) -> Run:
    """Run a command under a fresh wrapper process, whose RUSAGE_CHILDREN covers only it.

    The seconds are the command's wall and CPU time (user + system, all its processes and
    threads), or the times a `step` child reports for the step itself (after its imports
    and reading). On a machine with other load, CPU time is the steadier of the two.
    """
    out = subprocess.run(
        [PY, __file__, "measure", *command], cwd=ROOT, check=True, capture_output=True, text=True
    )
    wall, peak, cpu = out.stdout.strip().splitlines()[-1].split()
    return Run(float(wall), float(peak), float(cpu))


def measure(command: list[str]) -> None:
    """In the wrapper: run the command and print its wall time, peak memory and CPU time."""
    started = time.perf_counter()
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    reported = [line for line in out.stdout.splitlines() if line.startswith("STEG ")]
    if reported:
        wall, cpu = (float(v) for v in reported[-1].split()[1:3])
    print(f"{wall:.3f} {usage.ru_maxrss / 1024:.1f} {cpu:.3f}")


def _summary(runs: list[Run]) -> Run:
    """Median wall and CPU time, largest peak memory."""
    return Run(
        statistics.median(r.wall for r in runs),
        max(r.peak for r in runs),
        statistics.median(r.cpu for r in runs),
    )


def _step(name: str, raw: Path, repeat: int) -> Run:
    """One in-library step, each run in a child (see `_summary`)."""
    return _summary([_child([PY, __file__, "step", name, str(raw)]) for _ in range(repeat)])


def _stamp(started: float, cpu_started: float) -> str:
    """The line a step child prints: its wall and CPU seconds (all threads) since the marks."""
    return f"STEG {time.perf_counter() - started:.3f} {time.process_time() - cpu_started:.3f}"


def run_step(name: str, raw: Path) -> None:
    """One step, in this (child) process; prints the step's own time (no imports, no reading)."""
    from vtklean import build
    from vtklean.core import calendar
    from vtklean.ingest import read
    from vtklean.model import datasets, figures

    if name == "validate":
        from vtklean.ingest.validate import validate
    started, cpu_started = time.perf_counter(), time.process_time()
    data = read.read_folder(raw)
    if name == "read":
        print(_stamp(started, cpu_started))
        return
    tables = {n: td.data for n, td in data.tables.items()}
    period = build.resolve_period(tables["ressursbruk"], None, None)
    if name == "pandas":
        frames = {n: t.to_pandas() for n, t in tables.items()}  # pandas would read its own
    started, cpu_started = time.perf_counter(), time.process_time()
    if name == "validate":
        validate(data, as_of=period.as_of)
    elif name == "process":
        figures.key_figures(datasets.build(tables, period))
    elif name == "privacy":
        from vtklean.model import privacy

        months = datasets.unit_months(
            tables["ressursbruk"], calendar.units(tables["enheter"], period.as_of), period.cutoff
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        privacy.hidden_cells(months, privacy.Rule())
    elif name == "pandas":
        pandas_baseline(frames, period)
    print(_stamp(started, cpu_started))


def pandas_baseline(frames: dict, period) -> None:
    """The same datasets and key figures, the straightforward pandas way (the baseline)."""
    import pandas as pd

    units, gains, res = frames["enheter"], frames["gevinster"], frames["ressursbruk"]
    d = pd.Timestamp(period.as_of)
    units = units.assign(
        aktiv=units["lagt_ned"].isna() | (pd.to_datetime(units["lagt_ned"]) > d),
        trent=pd.to_datetime(units["lean_start"]) <= d,
    )
    units["lean"] = units["aktiv"] & units["trent"]
    g = gains.merge(units[["enhet_id", "enhet", "tjenesteomrade"]], on="enhet_id", how="left")
    known = pd.to_datetime(g["identifisert"]) <= d
    rejected = known & (pd.to_datetime(g["forkastet"]) <= d)
    realised = known & (pd.to_datetime(g["realisert"]) <= d)
    g["identifisert_arsverk"] = g["arsverk"].where(known & ~rejected, 0.0)
    g["realisert_arsverk_dato"] = (
        g["realisert_arsverk"].fillna(g["arsverk"]).where(realised & ~rejected, 0.0)
    )
    g["vsa"] = g["identifisert_arsverk"].where(g["metode"] == "verdistromsanalyse", 0.0)
    cols = ["enhet_id", "enhet", "tjenesteomrade", "lean_start", "pilot"]
    m = res[pd.to_datetime(res["maned"]) <= d].merge(units[cols], on="enhet_id", how="left")
    month = pd.to_datetime(m["maned"])
    start = pd.to_datetime(m["lean_start"])
    m["ar"] = month.dt.year
    m["lean_maned"] = (month.dt.year - start.dt.year) * 12 + (month.dt.month - start.dt.month)
    m["sykefravaer_prosent"] = m["fravaer_dagsverk"] / m["avtalte_dagsverk"] * 100
    m["budsjettavvik_prosent"] = (m["regnskap_kr"] - m["budsjett_kr"]) / m["budsjett_kr"] * 100
    m["kostnad_per_volum"] = m["regnskap_kr"] / m["volum"].where(m["volum"] > 0)
    m = m.sort_values(["enhet_id", "maned"])
    sums = [
        "budsjett_kr",
        "regnskap_kr",
        "arsverk",
        "avtalte_dagsverk",
        "fravaer_dagsverk",
        "volum",
    ]
    unit_year = m.groupby(["enhet_id", "enhet", "tjenesteomrade", "ar"])[sums].sum()
    area_year = m.groupby(["tjenesteomrade", "ar"])[sums].sum()
    whole_year = m.groupby("ar")[sums].sum()
    for frame in (unit_year, area_year, whole_year):
        frame["arsverk"] = frame["arsverk"] / 12
        frame["sykefravaer_prosent"] = frame["fravaer_dagsverk"] / frame["avtalte_dagsverk"] * 100
        frame["budsjettavvik_prosent"] = (
            (frame["regnskap_kr"] - frame["budsjett_kr"]) / frame["budsjett_kr"] * 100
        )
    counts = units.groupby("tjenesteomrade")[["aktiv", "lean"]].sum()
    by_area = g.groupby("tjenesteomrade")[
        ["identifisert_arsverk", "realisert_arsverk_dato", "vsa"]
    ].sum()
    this_year = area_year.xs(period.year, level="ar")
    counts.join(by_area).join(this_year)


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} kjerner ({cpu}), {mem:.0f} GiB minne, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="vtklean benchmarks")
    parser.add_argument("--units", type=int, default=30000, help="units in the national folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cheap step (median)")
    parser.add_argument("--no-national", action="store_true", help="skip the national build")
    parser.add_argument("--write", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()

    rows: list[tuple[str, Run, str]] = []
    work = Path(tempfile.mkdtemp(prefix="vtklean-bench-"))
    raw = ROOT / "data" / "raw"
    out = work / "sample"
    build_cmd = [
        *VTKLEAN,
        "build",
        "--raw",
        str(raw),
        "--processed",
        str(out / "p"),
        "--reports",
        str(out / "r"),
    ]
    print("Måler én naiv side og kaldt bygg av eksempeldataene, vekselvis ...", flush=True)
    naive_cmd = naive_page(work / "naiv")
    # Taken in turns, so that a change in the machine's load falls on both alike.
    pairs = [
        (_child(naive_cmd), _child([*build_cmd, "--force", "--stille"])) for _ in range(args.repeat)
    ]
    naive = _summary([n for n, _ in pairs])
    naive_s = naive.wall
    rows.append(
        (
            "Én naiv side (papermill + nbconvert --no-input, to plotly-figurer)",
            naive,
            "målestokken for kaldt bygg",
        )
    )
    print("Måler eksempeldataene ...", flush=True)
    cold = _summary([c for _, c in pairs])
    cold_s = cold.wall
    rows.append(("Kaldt bygg, eksempeldata (--force)", cold, f"{cold_s / naive_s:.2f} naive sider"))
    bare = _summary(
        [_child([*build_cmd, "--force", "--data-only", "--stille"]) for _ in range(args.repeat)]
    )
    rows.append(("Kaldt bygg uten rapportsider (--data-only)", bare, ""))
    rows.append(
        (
            "Rendering alene (notatbøker og sider)",
            Run(cold_s - bare.wall, float("nan"), cold.cpu - bare.cpu),
            "differansen mellom de to over",
        )
    )
    warm = _summary([_child(build_cmd) for _ in range(5)])
    rows.append(
        ("Nytt bygg uten endringer", warm, f"{warm.wall / cold_s * 100:.1f} % av kaldt bygg")
    )
    for name, label in (
        ("read", "Lesing alene"),
        ("validate", "Kontroll alene (uten lesing)"),
        ("process", "Behandling alene (datasett, nøkkeltall)"),
    ):
        rows.append((f"{label}, eksempeldata", _step(name, raw, args.repeat), ""))

    if not args.no_national:
        print(f"Måler landsdekkende mappe ({args.units} enheter) ...", flush=True)
        national = work / "national"
        gen = _child(
            [
                *VTKLEAN,
                "sample",
                "--units",
                str(args.units),
                "--start",
                "2009",
                "--end",
                "2018",
                "--out",
                str(national / "raw"),
            ]
        )
        rows.append((f"Lage landsdekkende mappe ({args.units} enheter)", gen, ""))
        rows.append(
            ("Lesing alene, landsdekkende", _step("read", national / "raw", args.repeat), "")
        )
        proc = _step("process", national / "raw", args.repeat)
        priv = _step("privacy", national / "raw", args.repeat)
        base = _step("pandas", national / "raw", args.repeat)
        ratio = base.wall / max(proc.wall, 1e-9)
        ratio_bare = base.wall / max(proc.wall - priv.wall, 1e-9)
        rows.append(("Behandling (polars), landsdekkende", proc, "uten lesing, med prikking"))
        rows.append(("Prikking alene, landsdekkende", priv, "del av linjen over"))
        rows.append(
            (
                "Samme datasett og nøkkeltall med pandas",
                base,
                f"polars er {ratio:.1f} ganger så rask, {ratio_bare:.1f} uten prikkingen "
                "(som pandas-grunnlinjen ikke gjør)",
            )
        )
        val = _step("validate", national / "raw", 1)
        rows.append(("Kontroll (Great Expectations), landsdekkende", val, "uten lesing"))
        end = _child(
            [
                *VTKLEAN,
                "build",
                "--force",
                "--raw",
                str(national / "raw"),
                "--processed",
                str(national / "p"),
                "--reports",
                str(national / "r"),
                "--stille",
            ]
        )
        pages = sorted((national / "r").glob("*/*.html"))
        biggest = max((p.stat().st_size for p in pages), default=0) / 2**20
        rows.append(("Landsdekkende bygg ende til ende", end, f"største side {biggest:.1f} MB"))
    shutil.rmtree(work, ignore_errors=True)

    table = [
        "| steg | tid (s) | CPU-tid (s) | toppminne (MiB) | merknad |",
        "|---|---:|---:|---:|---|",
    ]
    table += [
        f"| {n} | {r.wall:.1f} | {r.cpu:.1f} | {'–' if r.peak != r.peak else f'{r.peak:.0f}'} "
        f"| {note} |"
        for n, r, note in rows
    ]
    text = "\n".join(table)
    print(text)
    if args.write:
        header = (
            "# Ytelse\n\n<!-- Skrevet av `make bench` (benchmarks/bench.py). -->\n\n"
            f"Målt {dt.date.today():%d.%m.%Y} på {_machine()}. Toppminne er største "
            "prosess (maks RSS). CPU-tid er bruker- og systemtid for alle prosesser og tråder "
            "i steget (stabilere enn tiden når maskinen har annen last). Tallene er medianen av "
            f"{args.repeat} kjøringer (den naive siden og kaldt bygg vekselvis), bortsett fra "
            "nytt bygg uten endringer (median av 5) og det å lage, kontrollere og bygge den "
            "landsdekkende mappen (én kjøring hver). "
            "Mål fra prosjektet: " + "; ".join(f"{a} {b}" for a, b in TARGETS.values()) + ".\n\n"
        )
        existing = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
        notes = existing.split("## Vurdering", 1)[1] if "## Vurdering" in existing else ""
        args.write.write_text(
            header + text + "\n\n## Vurdering" + (notes or "\n\n(ikke skrevet ennå)\n"),
            encoding="utf-8",
        )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "step":
        run_step(sys.argv[2], Path(sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "measure":
        measure(sys.argv[2:])
    else:
        main()
