"""Page content: what the report pages say about the figures, section by section."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import polars as pl

from vtklean.core import escape, measures, norsk
from vtklean.model import datasets, gate, targets
from vtklean.publish.charts import IDENTIFIED, REALISED
from vtklean.publish.widgets import Card, Html, heading, table, text

if TYPE_CHECKING:
    from vtklean.model.processed import Processed

CARD_KEYS = (
    "gevinster_identifisert_arsverk",
    "gevinster_realisert_arsverk",
    "gevinster_realisert_kr",
    "realiseringsgrad_prosent",
    "andel_verdistromsanalyse_prosent",
    "enheter_lean",
    "arsverk",
    "regnskap_kr",
    "budsjett_kr",
    "budsjettavvik_prosent",
    "sykefravaer_prosent",
)


def change_text(key: str, now: float | None, before: float | None) -> str:
    """`−0,4 prosentpoeng fra året før (bedre)`; the word only for a measure with a direction."""
    if now is None or before is None:
        return ""
    diff = now - before
    word = measures.better(key, diff)
    return f"{measures.format_change(key, diff)} fra året før" + (f" ({word})" if word else "")


def _notes(now: dict) -> dict[str, str]:
    realised = now.get("gevinster_realisert_antall")
    with_kr = now.get("gevinster_realisert_med_kr")
    notes = {}
    if realised is not None and with_kr is not None:
        notes["gevinster_realisert_kr"] = (
            f"beløp er registrert for {with_kr} av {realised} realiserte gevinster"
        )
    words = measures.money_words(now.get("budsjettavvik_kr"))
    if words:
        notes["budsjettavvik_prosent"] = words[0].upper() + words[1:]
    notes["enheter_lean"] = "av de aktive enhetene (enheter som er lagt ned, telles ikke)"
    return notes


def key_cards(now: dict, before: dict | None, goals: dict[str, dict] | None = None) -> list[Card]:
    """The key figures of one row of nokkeltall, with change, target and status.

    Labels and formats come from the registry of measures; `goals` are the area's rows of
    the target table by key figure (targets.for_area). A figure hidden for privacy shows
    `:`; no change and no status is shown where either year is hidden (they would give
    the hidden figure away).
    """
    b, goals, notes = before or {}, goals or {}, _notes(now)

    def card(key: str) -> Card:
        m = measures.get(key)
        goal = goals.get(key)
        extra = {}
        if goal is not None:
            extra = {
                "target": targets.target_text(goal),
                "status": goal["status"],
                "status_text": targets.status_text(goal),
            }
        if now.get(gate.flag(key)) is not None:
            shown = {k: v for k, v in extra.items() if k == "target"}
            return Card(m.label, gate.SUPPRESSED, "", now[gate.flag(key)], **shown)
        value = measures.format_page(key, now.get(key))
        if key == "enheter_lean":
            value = f"{now['enheter_lean']} av {now['enheter']}"
        change = ""
        if b.get(gate.flag(key)) is None:
            change = change_text(key, now.get(key), b.get(key))
        return Card(m.label, value, change, note=notes.get(key, ""), **extra)

    return [card(k) for k in CARD_KEYS]


def comments(frame: pl.DataFrame | None, area: str) -> list[Html]:
    """The leaders' own comments for an area, as text with their line breaks kept.

    The text is escaped (never markup); line breaks are kept by the stylesheet
    (`white-space: pre-line`), so no markup is added to it either.
    """
    if frame is None:
        return []
    rows = frame.filter(pl.col("tjenesteomrade") == area).iter_rows(named=True)
    out = []
    for r in rows:
        who = r["rolle"] or ("Rådmannen" if area == datasets.WHOLE else "Ledelsen")
        out.append(
            Html(
                '<figure class="kommentar"><figcaption>Vurdering fra '
                f"{escape.html_text(who.lower())}</figcaption>"
                f"<blockquote><p>{escape.html_text(r['tekst'])}</p></blockquote>"
                "</figure>"
            )
        )
    return out


TARGET_COLUMNS = ("Tjenesteområde", "Nøkkeltall", "Mål", "Resultat", "Status")


def target_table(rows: pl.DataFrame, caption: str) -> Html:
    """The targets with value and status in words, one row per target."""
    shown = pl.DataFrame(
        [
            {
                "Tjenesteområde": r["tjenesteomrade"],
                "Nøkkeltall": r["navn"],
                "Mål": targets.goal_phrase(r),
                "Resultat": measures.format_page(r["indikator"], r["verdi"]),
                "Status": targets.status_text(r),
            }
            for r in rows.iter_rows(named=True)
        ],
        schema=dict.fromkeys(
            ("Tjenesteområde", "Nøkkeltall", "Mål", "Resultat", "Status"), pl.String
        ),
    )
    return table(shown, {}, caption)


def missing_months(data: Processed, area: str | None = None) -> Html:
    """A paragraph saying which months of the year have no resource rows (empty if none).

    `area` limits it to one service area. Every page that shows the year's figures calls
    this once.
    """
    sentence = datasets.missing_note(data.datasets, area)
    if sentence is None:
        return Html("")
    return Html(f'<p class="merknad"><strong>Merk:</strong> {escape.html_text(sentence)}</p>')


def quality_summary(checks: pl.DataFrame, problems: pl.DataFrame) -> str:
    """One paragraph on how the raw data fared."""
    n_checks = checks.height
    failed = checks.filter(pl.col("avvik") > 0).height
    n_warn = problems.filter(pl.col("alvor") == "advarsel").height
    if not n_warn:
        return f"Alle {n_checks} kontroller av rådataene er bestått uten avvik."
    return (
        f"Rådataene er kontrollert med {n_checks} kontroller. Ingen feil stoppet byggingen; "
        f"{failed} kontroller ga til sammen {n_warn} advarsler, som er vist med eksempler under."
    )


def checks_table(checks: pl.DataFrame) -> Html:
    """Every check with its result."""
    shown = checks.select(
        pl.col("tabell").alias("Tabell"),
        pl.col("kontroll").alias("Kontroll"),
        pl.col("alvor").alias("Type"),
        pl.col("kontrollert").alias("Kontrollert"),
        pl.col("avvik").alias("Avvik"),
        pl.when(pl.col("avvik") == 0)
        .then(pl.lit("OK"))
        .otherwise(pl.col("alvor").str.to_titlecase())
        .alias("Resultat"),
    )
    return table(shown, {"Kontrollert": "heltall", "Avvik": "heltall"}, "Kontrollene og resultatet")


def problem_sections(problems: pl.DataFrame, limit: int = 20) -> list[Html]:
    """Problems grouped by rule: a heading with the count, then at most `limit` examples."""
    if problems.is_empty():
        return [text("Ingen avvik: alle kontrollene er bestått.")]
    out = []
    for (title,), group in problems.group_by("overskrift", maintain_order=True):
        lines = group.get_column("linje").to_list()
        items = "".join(f"<li>{escape.html_text(line)}</li>" for line in lines[:limit])
        if len(lines) > limit:
            items += f"<li>… og {len(lines) - limit} til av samme slag</li>"
        out.append(Html(f"<h3>{escape.html_text(title)} ({len(lines)})</h3><ul>{items}</ul>"))
    return out


# The columns the page's tables show: page heading and format kind ("" for text).
COLUMNS = {
    "enhet": ("Enhet", ""),
    "aktiv": ("Aktiv", ""),
    "lean_start": ("Lean-start", "dato"),
    "pilot": ("Pilotbølge", "heltall"),
    "identifisert_arsverk": (IDENTIFIED, "arsverk"),
    "realisert_arsverk": (REALISED, "arsverk"),
    "arsverk": ("Årsverk", "arsverk"),
    "sykefravaer_prosent": ("Sykefravær", "prosent"),
    "sykefravaer_prosent_i_fjor": ("Sykefravær året før", "prosent"),
    "budsjettavvik_prosent": ("Budsjettavvik", "prosent"),
    "gevinst_id": ("Gevinst", ""),
    "planlagt_realisert": ("Planlagt realisert", "dato"),
    "dager_forsinket": ("Dager forsinket", "heltall"),
    "status": ("Status", ""),
    "ansvarlig_rolle": ("Ansvarlig (rolle)", ""),
    "identifisert": ("Identifisert", "dato"),
    "ventet_dager": ("Dager ventet", "heltall"),
    "i_fjor": ("Året før", "prosent"),
    "i_ar": ("I år", "prosent"),
    "endring": ("Endring (prosentpoeng)", "tall2"),
}
UNIT_TABLE = [
    "enhet",
    "aktiv",
    "lean_start",
    "pilot",
    "identifisert_arsverk",
    "realisert_arsverk",
    "arsverk",
    "sykefravaer_prosent",
    "sykefravaer_prosent_i_fjor",
    "budsjettavvik_prosent",
]
OVERDUE_TABLE = [
    "gevinst_id",
    "enhet",
    "arsverk",
    "planlagt_realisert",
    "dager_forsinket",
    "status",
    "ansvarlig_rolle",
]
OLD_TABLE = ["gevinst_id", "enhet", "arsverk", "identifisert", "ventet_dager", "ansvarlig_rolle"]
SICK_RISE_TABLE = ["enhet", "i_fjor", "i_ar", "endring"]


def _shown(frame: pl.DataFrame, keys: list[str]) -> tuple[pl.DataFrame, dict[str, str]]:
    """The columns `keys` of `frame` under their page headings, and each heading's format."""
    shown = frame.select(pl.col(k).alias(COLUMNS[k][0]) for k in keys)
    return shown, _formats(keys)


def _formats(keys: list[str]) -> dict[str, str]:
    """Each heading of the columns `keys` with its format kind (text columns have none)."""
    return {COLUMNS[k][0]: COLUMNS[k][1] for k in keys if COLUMNS[k][1]}


TOP = 10


def _unit_table(units: pl.DataFrame, caption: str) -> Html:
    names = {k: COLUMNS[k][0] for k in UNIT_TABLE}
    flags = {gate.flag(k): gate.flag(v) for k, v in names.items() if gate.flag(k) in units}
    shown = units.select([*names, *flags]).rename(names | flags)
    return table(shown, _formats(UNIT_TABLE), caption)


@gate.views
def unit_overview(units: pl.DataFrame, area: str, as_of: str, year: int, limit: int) -> list[Html]:
    """The units of an area in one table, or, above `limit` units, top lists and a count.

    Large areas (a national panel) get the units with most realised gains and with the
    highest sick leave; every unit is in the report's `enheter.csv`.
    """
    if units.height <= limit:
        return [_unit_table(units, f"Enhetene i {area} per {as_of}")]
    active = units.filter(pl.col("aktiv"))
    # Trained as of D: a Lean start after the date (planned) does not count yet.
    day = dt.datetime.strptime(as_of, "%d.%m.%Y").date()
    trained = active.filter(pl.col("lean_start") <= pl.lit(day, pl.Date)).height
    return [
        text(
            f"{area} har {units.height} enheter ({active.height} aktive, {trained} med "
            f"Lean-opplæring) – for mange til å vise én for én. Her er de {TOP} med mest "
            f"realiserte gevinster og de {TOP} med høyest sykefravær i {year}. Alle enhetene "
            "står i filen enheter.csv."
        ),
        _unit_table(
            units.sort("realisert_arsverk", descending=True).head(TOP),
            f"De {TOP} enhetene i {area} med mest realiserte gevinster",
        ),
        _unit_table(
            units.drop_nulls("sykefravaer_prosent")
            .sort("sykefravaer_prosent", descending=True)
            .head(TOP),
            f"De {TOP} enhetene i {area} med høyest sykefravær i {year}",
        ),
        Html('<p><a href="enheter.csv">Alle enhetene med tall (enheter.csv)</a></p>'),
    ]


def _fte_change(now: float, before: float) -> str:
    return measures.format_change("arsverk", now - before)


def _money_change(now: float, before: float) -> str:
    return measures.format_change("regnskap_kr", now - before)


def unit_changes(changes: dict, year: int, active: int) -> list[Html]:
    """Closed and new units named and counted, and the change in årsverk and money.

    The change is shown for all units and for the units with figures in both years
    (figures.unit_changes), so that closed or new units are not mistaken for Lean.
    """
    closed, opened = changes["closed"], changes["opened"]
    every, same = changes["all"], changes["same"]
    parts = [
        text(
            f"Enheter betyr her aktive enheter per dato ({active}): enheter som er lagt ned, "
            "telles ikke, men gevinstene deres telles fortsatt med. Årsverk og penger gjelder "
            f"enhetene som har ressursbruk i {year} ({every['now']['enheter']}); tallene for "
            "året før gjelder de samme månedene."
        )
    ]
    if closed.height:
        names = norsk.join(closed.get_column("enhet").to_list())
        # Last year's figures only of the closed units that had resource rows then.
        had = closed.filter(pl.col("arsverk_i_fjor").is_not_null())
        if had.height:
            fte = had.get_column("arsverk_i_fjor").sum()
            money = had.get_column("regnskap_kr_i_fjor").sum()
            who = "de" if had.height == closed.height else norsk.join(had["enhet"].to_list())
            before = (
                f"Året før hadde {who} {measures.format_page('arsverk', fte)} årsverk og "
                f"{norsk.millions(money)} i regnskap."
            )
        else:
            before = f"{'Den' if closed.height == 1 else 'De'} hadde ingen ressursbruk året før."
        parts.append(
            text(
                f"{closed.height} {'enhet ble' if closed.height == 1 else 'enheter ble'} lagt "
                f"ned i {year}: {names}. {before}"
            )
        )
    else:
        parts.append(text(f"Ingen enheter ble lagt ned i {year}."))
    if opened.height:
        names = norsk.join(opened.get_column("enhet").to_list())
        parts.append(
            text(
                f"{opened.height} {'enhet har' if opened.height == 1 else 'enheter har'} tall "
                f"i {year}, men ikke året før (nye eller flyttet): {names}."
            )
        )
    a, b = every["now"], every["before"]
    s, t = same["now"], same["before"]
    same_text = (
        f"Enhetene som er aktive og har tall begge årene ({s['enheter']}): årsverk "
        f"{_fte_change(s['arsverk'], t['arsverk'])} og regnskap "
        f"{_money_change(s['regnskap_kr'], t['regnskap_kr'])}. Forskjellen skyldes enheter "
        "som er lagt ned eller kommet til, ikke Lean."
        if s["enheter"]
        else "Ingen enheter er aktive og har tall begge årene."
    )
    parts.append(
        text(
            f"Alle enhetene: årsverk {_fte_change(a['arsverk'], b['arsverk'])} og regnskap "
            f"{_money_change(a['regnskap_kr'], b['regnskap_kr'])} fra året før. {same_text}"
        )
    )
    return parts


IDEA_COLUMNS = {
    "forslag_registrert": "Registrert",
    "forslag_gjennomfort": "Gjennomført",
    "forslag_avvist": "Avvist",
    "forslag_apne": "Åpne per dato",
    "forslag_median_dager": "Median dager til gjennomført",
}


def ideas(counts: pl.DataFrame | None, by: str, label: str, year: int, caption: str) -> list[Html]:
    """Lean activity from the improvement boards: proposals per area or unit (a table)."""
    if counts is None:
        return [text("Det er ikke levert noen tabell med forbedringsforslag (forbedringer).")]
    names = {by: label} | IDEA_COLUMNS
    shown = counts.select(list(names)).rename(names)
    formats = {IDEA_COLUMNS[k]: measures.get(k).page for k in IDEA_COLUMNS}
    formats = {k: ("heltall" if v == "dager" else v) for k, v in formats.items()}
    return [
        text(
            f"Registrert, gjennomført og avvist gjelder {year} fram til datoen; åpne forslag er "
            "nye eller pågående per datoen, uansett når de ble registrert."
        ),
        table(shown, formats, caption),
    ]


def ideas_sentence(row: dict, year: int) -> str:
    """One sentence with the proposal counts of a key-figure row."""
    if row.get("forslag_registrert") is None:
        return "Det er ikke levert noen tabell med forbedringsforslag."
    median = row.get("forslag_median_dager")
    days = (
        f", og det tok i median {measures.format_page('forslag_median_dager', median)} dager "
        "fra forslag til gjennomført"
        if median is not None
        else ""
    )
    return (
        f"I {year} ble det registrert {row['forslag_registrert']} forbedringsforslag. "
        f"{row['forslag_gjennomfort']} ble gjennomført og {row['forslag_avvist']} avvist{days}. "
        f"{row['forslag_apne']} forslag er åpne (nye eller pågår)."
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _gain_list(
    title: str, gains: pl.DataFrame, keys: list[str], said: str, caption: str, none: str
) -> list[Html]:
    """A heading, then what is said and the gains in a table; or that there are none."""
    if not gains.height:
        return [heading(title, 3), text(none)]
    shown, formats = _shown(gains, keys)
    return [heading(title, 3), text(said), table(shown, formats, caption)]


def followup(f: dict, old_days: int, as_of: str, limit: int = 30) -> list[Html]:
    """The follow-up section (figures.followup), each list in a table of at most `limit` rows.

    Overdue and old gains, trained units without gains, the largest sick-leave rises.
    """
    overdue, old = f["overdue"], f["old"]
    fte = measures.format_page("arsverk", overdue.get_column("arsverk").sum())
    out = _gain_list(
        "Forsinkede gevinster",
        overdue.head(limit).with_columns(status=pl.lit("forsinket")),
        OVERDUE_TABLE,
        f"{_count(overdue.height, 'gevinst', 'gevinster')} ({fte} årsverk) er forsinket: ikke "
        f"realisert per {as_of}, selv om gevinstplanen sa det. De er merket «forsinket».",
        "Forsinkede gevinster, lengst forsinket først",
        "Ingen gevinster er forsinket etter gevinstplanen.",
    )
    out += _gain_list(
        "Gamle gevinster uten plan",
        old.head(limit),
        OLD_TABLE,
        f"{_count(old.height, 'gevinst', 'gevinster')} uten planlagt realiseringsdato har "
        f"ventet mer enn {old_days} dager. Sett en dato i gevinstplanen, eller forkast dem.",
        f"Gevinster uten plan som har ventet mer enn {old_days} dager",
        f"Ingen gevinster uten plan har ventet mer enn {old_days} dager.",
    )
    out.append(heading("Enheter med Lean-opplæring uten gevinster", 3))
    no_gain = f["no_gain"]
    if no_gain.height:
        out.append(
            text(
                f"{_count(no_gain.height, 'aktiv enhet', 'aktive enheter')} har hatt "
                "Lean-opplæring, men har ingen identifiserte gevinster (forkastede teller "
                f"ikke): {norsk.join(no_gain.get_column('enhet').to_list())}."
            )
        )
    else:
        out.append(text("Alle aktive enheter med Lean-opplæring har identifiserte gevinster."))
    rise = f["sick_rise"]
    out.append(heading("Størst økning i sykefraværet", 3))
    if rise.height:
        shown, formats = _shown(rise, SICK_RISE_TABLE)
        out.append(table(shown, formats, "Enhetene der sykefraværet økte mest fra året før"))
    else:
        out.append(text("Ingen enheter med viste tall fikk høyere sykefravær enn året før."))
    return out


def target_section(rows: pl.DataFrame, year: int, as_of: str) -> list[Html]:
    """The targets of the year with status, or a sentence saying there are none."""
    if rows.is_empty():
        return [text(f"Det er ikke satt mål for {year} (tabellen «mal» i rådataene).")]
    return [
        text(
            f"{targets.summary(rows)} «Nær» betyr på feil side av målet, men innenfor "
            "toleransen for nøkkeltallet."
        ),
        target_table(rows, f"Målene for {year} og status per {as_of}"),
    ]


def idea_years(frame: pl.DataFrame | None) -> list[Html]:
    """Proposals registered, completed and rejected in each year (figures.idea_years)."""
    if frame is None or frame.is_empty():
        return []
    names = {"ar": "År"} | {k: IDEA_COLUMNS[k] for k in list(IDEA_COLUMNS)[:3]}
    shown = frame.select(pl.col("ar").cast(pl.String), *list(names)[1:]).rename(names)
    return [table(shown, dict.fromkeys(list(names.values())[1:], "heltall"), "Forslag per år")]
