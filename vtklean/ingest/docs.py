"""The user documentation of the raw-data contract (bokmål), written from `contract` itself."""

from __future__ import annotations

import sys

from vtklean.ingest.contract import KIND_TEXT, LABELS, TABLES, Column, Table

INTRO = """\
# Datakontrakten: filene vtklean leser

<!-- Skrevet av `make docs` fra vtklean/ingest/contract.py. Ikke rediger for hånd. -->

Legg eksportfilene i `data/raw/`. En fil hører til en tabell når navnet begynner med
tabellens navn (`enheter*.csv`, `gevinster*.xlsx`, `ressursbruk_2016.csv` +
`ressursbruk_2017.xlsx` ...). Flere filer til samme tabell stables. Filer som begynner
med `~$` (Excel-låsefiler) eller `.` hoppes over. Filene endres aldri.

* **CSV**: UTF-8, UTF-8 med BOM eller Windows-1252; skilletegn `;` eller `,`;
  desimalkomma eller -punktum; tusenskille med mellomrom (`1 234 567,50`); datoer
  `DD.MM.ÅÅÅÅ` eller `ÅÅÅÅ-MM-DD`; måneder `MM.ÅÅÅÅ`, `ÅÅÅÅ-MM` eller en dato i måneden.
* **Unicode-tekst** (slik Excel lagrer «Unicode-tekst», UTF-16 med tabulator som
  skilletegn, `.txt`) leses som CSV.
* **Negative beløp** kan skrives `-1 234,50`, `1 234,50-` eller `(1 234,50)`; `kr` foran
  eller bak tallet ignoreres. Et tall som kan bety to ting (`958.000` i en beløpskolonne,
  eller i en kolonne der de andre tallene har desimalkomma) avvises, og det samme gjør tall
  over 10^15.
* **Regneark** (`.xlsx`, `.xlsm`, `.xls`, `.ods`): første ark, vanlige datoer og tall.
  Overskriftsraden er den første raden med tabellens påkrevde kolonner (tittelrader og
  tomme rader over den hoppes over), og radnumrene i meldingene er de Excel viser. En
  formel teller med verdien Excel sist regnet ut; en formel uten lagret verdi, eller en
  feilverdi (`#I/T`/`#N/A`, `#DIV/0!`, `#REF!` ...), er en feil som nevner cellen. En
  sammenslått celle gjelder for alle radene den dekker. Et ark med innhold langt utenfor
  tabellen (en verdi i celle `XFD1048576`) avvises med en melding.
* **Overskrifter** kan skrives fritt: `Tjenesteområde` blir `tjenesteomrade`, `Beløp (kr)`
  blir `belop_kr`. Ukjente kolonner tas ikke med og vises som advarsel.
* **Koder** (metode, kategori, status) kan skrives som `Verdistrømsanalyse` eller `5S`.
* **Mål** (`mal`): et nøkkeltall med mål for rapportåret får status `nådd` (på riktig side
  av målet), `nær` (på feil side, men innenfor toleransen for nøkkeltallet, som kan endres
  med `mal_toleranse` i `params/build.yaml`) eller `ikke nådd`, alltid skrevet med ord.
* **Forsinket**: en gevinst som ikke er realisert eller forkastet per datoen, og som har
  `planlagt_realisert` før datoen. En gevinst uten plandato er *gammel* når den har ventet
  lenger enn `gammel_gevinst_dager` (365 dager om ikke annet er satt).
* **Kommentarer** (`kommentarer`) vises som ren tekst med linjeskiftene, aldri som HTML.
"""


def _code(code: str, label: str | None) -> str:
    """`5s`, or `verdistromsanalyse` (Verdistrømsanalyse) where the label is more than its case."""
    return f"`{code}` ({label})" if label and label.lower() != code else f"`{code}`"


def _rule(col: Column) -> str:
    parts = ["påkrevd" if col.required else "valgfri"]
    if col.unique:
        parts.append("unik")
    if col.codes:
        labels = LABELS.get(col.name, {})
        parts.append("én av " + ", ".join(_code(c, labels.get(c)) for c in col.codes))
    if col.range_text():
        parts.append(col.range_text())
    if col.references:
        parts.append(f"må finnes i `{col.references}`")
    return "; ".join(parts)


def table_markdown(table: Table) -> str:
    """One table of the contract as a Markdown section."""
    optional = "" if table.required else " (valgfri tabell)"
    lines = [
        f"## {table.name}{optional}",
        "",
        table.description,
        "",
        "| kolonne | type | regel | forklaring |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{c.name}` | {KIND_TEXT[c.kind]} | {_rule(c)} | {c.description} |"
        for c in table.columns
    ]
    extra = [r.describe() for r in table.row_rules]
    if table.unique_together:
        extra.insert(0, f"kombinasjonen {' + '.join(table.unique_together)} er unik i alle filer")
    if extra:
        lines += ["", "Regler for hver rad:", ""] + [f"* {e}" for e in extra]
    if table.warnings:
        lines += ["", "Advarsler (stopper ikke byggingen, vises i datakvalitet.html):", ""]
        lines += [
            f"* {w.describe(w.default)[1]} (grensen er `{w.parameter}` i `params/build.yaml`)"
            for w in table.warnings
        ]
    return "\n".join(lines) + "\n"


def contract_markdown() -> str:
    """The whole contract for users."""
    return INTRO + "\n" + "\n".join(table_markdown(t) for t in TABLES.values())


if __name__ == "__main__":
    sys.stdout.write(contract_markdown())
