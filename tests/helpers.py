"""Small hand-made raw folders, written in any of the contract's file flavours."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter
import yaml

from vtklean import sample
from vtklean.model import gate, pilot

D = dt.date


@dataclass(frozen=True)
class Flavour:
    """How a CSV file is written."""

    encoding: str = "utf-8"
    sep: str = ","
    decimal: str = "."
    thousands: str = ""
    date_fmt: str = "%Y-%m-%d"
    month_fmt: str = "%Y-%m"
    display_headers: bool = False
    display_codes: bool = False


PLAIN = Flavour()
NORWEGIAN = Flavour(
    encoding="cp1252",
    sep=";",
    decimal=",",
    thousands="\u00a0",
    date_fmt="%d.%m.%Y",
    month_fmt="%m.%Y",
    display_headers=True,
    display_codes=True,
)
NORWEGIAN_BOM = Flavour(
    encoding="utf-8-sig",
    sep=";",
    decimal=",",
    thousands=" ",
    date_fmt="%d.%m.%Y",
    month_fmt="15.%m.%Y",  # any date in the month
    display_headers=True,
    display_codes=True,
)

DISPLAY_HEADERS = {
    "enhet_id": "Enhet-ID",
    "enhet": "Enhet",
    "tjenesteomrade": "Tjenesteområde",
    "lean_start": "Lean-start",
    "pilot": "Pilot",
    "lagt_ned": "Lagt ned",
    "volumenhet": "Volumenhet",
    "gevinst_id": "Gevinst-ID",
    "beskrivelse": "Beskrivelse",
    "metode": "Metode",
    "kategori": "Kategori",
    "arsverk": "Årsverk",
    "belop_kr": "Beløp (kr)",
    "identifisert": "Identifisert",
    "realisert": "Realisert",
    "realisert_arsverk": "Realisert årsverk",
    "forkastet": "Forkastet",
    "ansvarlig": "Ansvarlig",
    "maned": "Måned",
    "budsjett_kr": "Budsjett (kr)",
    "regnskap_kr": "Regnskap (kr)",
    "ansatte": "Ansatte",
    "avtalte_dagsverk": "Avtalte dagsverk",
    "fravaer_dagsverk": "Fravær dagsverk",
    "volum": "Volum",
    "forslag_id": "Forslag-ID",
    "registrert": "Registrert",
    "status": "Status",
    "avsluttet": "Avsluttet",
    "planlagt_realisert": "Planlagt realisert",
    "indikator": "Indikator",
    "ar": "År",
    "mal": "Mål",
    "retning": "Retning",
    "tekst": "Tekst",
    "rolle": "Rolle",
}
DISPLAY_CODES = {
    "verdistromsanalyse": "Verdistrømsanalyse",
    "forbedringstavle": "Forbedringstavle",
    "5s": "5S",
    "annet": "Annet",
    "kvalitet": "Kvalitet",
    "kvantitet": "Kvantitet",
    "besparelse": "Besparelse",
    "pagar": "Pågår",
    "gjennomfort": "Gjennomført",
    "ny": "Ny",
    "avvist": "Avvist",
    "hoyst": "Høyst",
    "minst": "Minst",
    "sykefravaer_prosent": "Sykefravær prosent",
    "realiseringsgrad_prosent": "Realiseringsgrad (prosent)",
    "enheter_lean": "Enheter Lean",
}
CODE_COLUMNS = {"metode", "kategori", "status", "indikator", "retning"}
MONTH_COLUMNS = {"maned"}


def tiny_tables() -> dict[str, list[dict]]:
    """A hand-made register whose figures as of 31.12.2017 are computed in the tests."""
    enheter = [
        dict(
            enhet_id="E1",
            enhet="Avd A",
            tjenesteomrade="Omsorg",
            lean_start=D(2016, 3, 1),
            pilot=1,
            lagt_ned=None,
            volumenhet="brukere",
        ),
        dict(
            enhet_id="E2",
            enhet="Avd B & <C>",
            tjenesteomrade="Omsorg",
            lean_start=D(2018, 1, 1),
            pilot=None,
            lagt_ned=None,
            volumenhet="brukere",
        ),
        dict(
            enhet_id="E3",
            enhet="Skole",
            tjenesteomrade="Oppvekst",
            lean_start=None,
            pilot=None,
            lagt_ned=D(2017, 12, 31),
            volumenhet="elever",
        ),
        dict(
            enhet_id="E4",
            enhet="Kontor",
            tjenesteomrade="Stab",
            lean_start=D(2017, 12, 31),
            pilot=None,
            lagt_ned=D(2018, 6, 1),
            volumenhet="saker",
        ),
        dict(
            enhet_id="E5",
            enhet="Ny enhet",
            tjenesteomrade="Stab",
            lean_start=None,
            pilot=None,
            lagt_ned=None,
            volumenhet=None,
        ),
    ]

    def gain(
        gid,
        unit,
        metode,
        kategori,
        arsverk,
        identifisert,
        realisert=None,
        realisert_arsverk=None,
        forkastet=None,
        belop_kr=None,
        planlagt_realisert=None,
    ):
        return dict(
            gevinst_id=gid,
            enhet_id=unit,
            beskrivelse=f"Gevinst {gid}",
            metode=metode,
            kategori=kategori,
            arsverk=arsverk,
            belop_kr=belop_kr,
            identifisert=identifisert,
            realisert=realisert,
            realisert_arsverk=realisert_arsverk,
            forkastet=forkastet,
            ansvarlig="Enhetsleder",
            planlagt_realisert=planlagt_realisert,
        )

    gevinster = [
        gain(
            "G1",
            "E1",
            "verdistromsanalyse",
            "kvalitet",
            2.0,
            D(2016, 5, 1),
            D(2016, 10, 1),
            belop_kr=1_300_000.0,
        ),
        gain(
            "G2",
            "E1",
            "forbedringstavle",
            "kvantitet",
            1.0,
            D(2017, 12, 31),
            planlagt_realisert=D(2018, 3, 1),
        ),
        gain(
            "G3",
            "E3",
            "verdistromsanalyse",
            "besparelse",
            1.5,
            D(2017, 1, 1),
            D(2017, 6, 1),
            realisert_arsverk=0.5,
            belop_kr=975_000.5,
        ),
        gain("G4", "E4", "5s", "kvalitet", 0.5, D(2017, 3, 1), forkastet=D(2018, 2, 1)),
        gain("G5", "E4", "annet", "kvalitet", 0.8, D(2017, 2, 1), forkastet=D(2017, 12, 31)),
        gain("G6", "E1", "verdistromsanalyse", "kvalitet", 3.0, D(2018, 1, 1)),
        gain("G7", "E1", "verdistromsanalyse", "kvalitet", 1.0, D(2017, 1, 1), D(2018, 2, 1)),
    ]

    def months(unit, first, n, budsjett, regnskap, arsverk, avtalte, fravaer, ansatte):
        rows = []
        for i in range(n):
            y, m = divmod(first.month - 1 + i, 12)
            rows.append(
                dict(
                    enhet_id=unit,
                    maned=D(first.year + y, m + 1, 1),
                    budsjett_kr=budsjett,
                    regnskap_kr=regnskap,
                    arsverk=arsverk,
                    ansatte=ansatte,
                    avtalte_dagsverk=avtalte,
                    fravaer_dagsverk=fravaer,
                    volum=100.0,
                )
            )
        return rows

    ressursbruk = (
        months("E1", D(2016, 1, 1), 25, 100_000.0, 90_000.0, 10.0, 200.0, 10.0, 12)
        + months("E2", D(2017, 1, 1), 12, 50_000.0, 70_000.0, 5.0, 100.0, 20.0, 6)
        + months("E3", D(2017, 1, 1), 12, 30_000.0, 30_000.0, 3.0, 60.0, 0.0, 4)
        + months("E4", D(2017, 1, 1), 6, 10_000.0, 12_000.0, 2.0, 40.0, 4.0, 2)
    )
    forbedringer = [
        dict(
            forslag_id="F1",
            enhet_id="E1",
            registrert=D(2017, 2, 1),
            status="gjennomfort",
            avsluttet=D(2017, 3, 1),
        ),
        dict(
            forslag_id="F2", enhet_id="E1", registrert=D(2017, 5, 1), status="pagar", avsluttet=None
        ),
    ]
    mal = [
        dict(
            tjenesteomrade="Omsorg",
            indikator="sykefravaer_prosent",
            ar=2017,
            mal=7.5,
            retning="hoyst",
        ),
        dict(
            tjenesteomrade="Hele kommunen",
            indikator="realiseringsgrad_prosent",
            ar=2017,
            mal=50.0,
            retning=None,
        ),
        dict(tjenesteomrade="Stab", indikator="enheter_lean", ar=2017, mal=1.0, retning="minst"),
    ]
    kommentarer = [
        dict(
            tjenesteomrade="Hele kommunen",
            ar=2017,
            tekst="Et godt år for <b>Lean</b> & forbedring.\nVi fortsetter i 2018.",
            rolle="Rådmann",
        ),
        dict(tjenesteomrade="Omsorg", ar=2017, tekst="Omsorg har fått ned fraværet.", rolle=None),
    ]
    return {
        "enheter": enheter,
        "gevinster": gevinster,
        "ressursbruk": ressursbruk,
        "forbedringer": forbedringer,
        "mal": mal,
        "kommentarer": kommentarer,
    }


def _number(value: float | int, flavour: Flavour) -> str:
    if isinstance(value, int):
        text = str(value)
        frac = ""
    else:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        text, _, frac = text.partition(".")
    neg = text.startswith("-")
    digits = text.lstrip("-")
    if flavour.thousands:
        groups = []
        while len(digits) > 3:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        groups.insert(0, digits)
        digits = flavour.thousands.join(groups)
    out = ("-" if neg else "") + digits
    return out + (flavour.decimal + frac if frac else "")


def _cell(column: str, value: object, flavour: Flavour) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        fmt = flavour.month_fmt if column in MONTH_COLUMNS else flavour.date_fmt
        return value.strftime(fmt)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, flavour)
    if column in CODE_COLUMNS and flavour.display_codes:
        return DISPLAY_CODES[value]
    return str(value)


def _quote(text: str, sep: str) -> str:
    if sep in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(
    path: Path, rows: list[dict], flavour: Flavour = PLAIN, columns: list[str] | None = None
) -> Path:
    """Write rows as a CSV file in the given flavour."""
    columns = columns or list(rows[0])
    header = [DISPLAY_HEADERS.get(c, c) if flavour.display_headers else c for c in columns]
    lines = [flavour.sep.join(_quote(h, flavour.sep) for h in header)]
    for row in rows:
        lines.append(
            flavour.sep.join(_quote(_cell(c, row.get(c), flavour), flavour.sep) for c in columns)
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(flavour.encoding))
    return path


def write_xlsx(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """Write rows as an Excel sheet with native dates and numbers."""
    columns = columns or list(rows[0])
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet()
        date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
        ws.write_row(0, 0, [DISPLAY_HEADERS.get(c, c) for c in columns])
        for i, row in enumerate(rows, start=1):
            for j, c in enumerate(columns):
                v = row.get(c)
                if v is None:
                    continue
                if isinstance(v, dt.date):
                    ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), date_fmt)
                elif isinstance(v, (int, float)):
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, DISPLAY_CODES.get(v, v) if c in CODE_COLUMNS else v)
    return path


def write_folder(
    folder: Path, tables: dict[str, list[dict]] | None = None, flavour: Flavour = PLAIN
) -> Path:
    """Write every table as one CSV file in `flavour`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (tables or tiny_tables()).items():
        write_csv(folder / f"{name}.csv", rows, flavour)
    return folder


def write_mixed_folder(folder: Path, tables: dict[str, list[dict]] | None = None) -> Path:
    """The same tables in a mix of every flavour: split files, xlsx, encodings."""
    tables = tables or tiny_tables()
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "enheter.csv", tables["enheter"], NORWEGIAN)
    write_xlsx(folder / "gevinster.xlsx", tables["gevinster"])
    res = tables["ressursbruk"]
    write_csv(
        folder / "ressursbruk_2016.csv", [r for r in res if r["maned"].year == 2016], NORWEGIAN_BOM
    )
    write_xlsx(folder / "ressursbruk_2017.xlsx", [r for r in res if r["maned"].year == 2017])
    write_csv(
        folder / "ressursbruk_2018.csv", [r for r in res if r["maned"].year == 2018], NORWEGIAN
    )
    write_csv(folder / "forbedringer.csv", tables["forbedringer"], NORWEGIAN_BOM)
    write_csv(folder / "mal.csv", tables["mal"], NORWEGIAN)
    write_xlsx(folder / "kommentarer.xlsx", tables["kommentarer"])
    (folder / "~$gevinster.xlsx").write_bytes(b"lock file from Excel")
    (folder / "README.txt").write_text("not a table", encoding="utf-8")
    return folder


def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file below `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def planted_truth(unit_months: pl.DataFrame, panel: pilot.Panel) -> float:
    """The planted overall effect on yearly sick leave, from the generator's documented rule.

    Monthly effect -EFFECT_SICK_LEAVE_PP * min(1, (k + 1) / EFFECT_RAMP_MONTHS) for month k
    since start; a year's sick leave is a ratio of sums, so its effect is the avtalte-weighted
    mean. Each cohort's mean over its post years, then cohorts weighted by their size.
    """
    k = pl.col("lean_maned")
    ramp = pl.when(k >= 0).then(((k + 1) / sample.EFFECT_RAMP_MONTHS).clip(0, 1)).otherwise(0.0)
    yearly = (
        unit_months.with_columns(tau=-sample.EFFECT_SICK_LEAVE_PP * ramp.fill_null(0.0))
        .group_by("enhet_id", "ar")
        .agg((pl.col("tau") * pl.col("avtalte_dagsverk")).sum() / pl.col("avtalte_dagsverk").sum())
    )
    cells = (
        panel.frame.filter(pl.col("kohort").is_not_null() & (pl.col("periode") >= pl.col("kohort")))
        .join(yearly, left_on=["enhet_id", "periode"], right_on=["enhet_id", "ar"])
        .group_by("kohort", "periode")
        .agg(pl.col("tau").mean(), pl.len().alias("n"))
    )
    cohorts = cells.group_by("kohort").agg(pl.col("tau").mean(), pl.col("n").first())
    return float((cohorts["tau"] * cohorts["n"]).sum() / cohorts["n"].sum())


def params_file(path: Path, **values: object) -> Path:
    """A build parameter file (YAML) with these values over the defaults."""
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    return path


def gated(frame: pl.DataFrame) -> gate.Gated:
    """A hand-made frame as the privacy gate hands it on with nothing hidden (flags empty)."""
    flags = [
        pl.lit(None, pl.String).alias(gate.flag(c)) for c in frame.columns if gate.is_sensitive(c)
    ]
    return gate.seal(frame.with_columns(flags))
