import datetime as dt
import functools
import re
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from tests import helpers
from vtklean.core import norsk
from vtklean.ingest import read
from vtklean.ingest.contract import TABLES
from vtklean.ingest.problems import Severity


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Tjenesteområde", "tjenesteomrade"),
        ("Beløp (kr)", "belop_kr"),
        ("Enhet-ID", "enhet_id"),
        ("  Fravær  dagsverk ", "fravaer_dagsverk"),
        ("Verdistrømsanalyse", "verdistromsanalyse"),
        ("5S", "5s"),
        ("Pågår", "pagar"),
        ("Gjennomført", "gjennomfort"),
        ("__Årsverk__", "arsverk"),
    ],
)
def test_normalise_name(header, expected):
    assert norsk.normalise_name(header) == expected


def _read(folder: Path, table: str = "enheter"):
    data = read.read_folder(folder)
    return data, data.tables.get(table)


def _units_csv(folder: Path, text: str, encoding: str = "utf-8", name: str = "enheter.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))


def test_windows_1252_keeps_norwegian_letters(tmp_path):
    _units_csv(
        tmp_path, "Enhet-ID;Enhet;Tjenesteområde\r\nE1;Bøverbru skole;Oppvekst\r\n", "cp1252"
    )
    _, td = _read(tmp_path)
    assert td.data.get_column("enhet").to_list() == ["Bøverbru skole"]
    assert td.written("enheter.csv", "tjenesteomrade") == "Tjenesteområde"


def test_utf8_with_bom_and_comma_delimiter(tmp_path):
    _units_csv(tmp_path, "\ufeffenhet_id,enhet,tjenesteomrade\nE1,Åsbakken,Oppvekst\n", "utf-8")
    _, td = _read(tmp_path)
    assert td.data.get_column("enhet_id").to_list() == ["E1"]
    assert td.data.get_column("enhet").to_list() == ["Åsbakken"]


def test_mixed_encoding_is_an_error_not_a_guess(tmp_path):
    body = "enhet_id;enhet;tjenesteomrade\nE1;Bøverbru;Oppvekst\n".encode()
    body += "E2;Ihle;Omsorg\nE3;Skjær;Oppvekst\n".encode("cp1252")
    (tmp_path / "enheter.csv").write_bytes(body)
    data, _ = _read(tmp_path)
    [problem] = [p for p in data.problems if p.rule == "tegnkoding"]
    assert problem.file == "enheter.csv"
    assert problem.row == 4
    assert "0xE6" in problem.expected


def test_binary_file_is_not_a_csv(tmp_path):
    (tmp_path / "enheter.csv").write_bytes(b"PK\x03\x04\x00\x00binary")
    data, td = _read(tmp_path)
    assert td is None
    assert [p.rule for p in data.errors if p.file == "enheter.csv"] == ["ikke_csv"]


def test_empty_file_is_an_error(tmp_path):
    (tmp_path / "enheter.csv").write_bytes(b"")
    data, _ = _read(tmp_path)
    assert [p.rule for p in data.errors if p.file == "enheter.csv"] == ["tom_fil"]


def test_ragged_row_is_located(tmp_path):
    _units_csv(tmp_path, "enhet_id;enhet;tjenesteomrade\nE1;A;B\nE2;A;B;C;D\n")
    data, _ = _read(tmp_path)
    [problem] = [p for p in data.errors if p.file == "enheter.csv"]
    assert problem.rule == "ikke_csv" and problem.row == 3


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf\n\n",  # a BOM and empty lines: no row for polars to see
        b"enhet_id;enhet;tjenesteomrade\nE1;A\rB;C\nE2;A;B;C;D\n",  # a lone carriage return
    ],
)
def test_csv_polars_and_the_csv_module_cannot_read_is_refused_not_a_crash(tmp_path, data):
    (tmp_path / "enheter.csv").write_bytes(data)
    data, td = _read(tmp_path)
    assert td is None
    [problem] = [p for p in data.errors if p.file == "enheter.csv"]
    assert problem.rule == "ikke_csv" and "kan ikke tolkes som CSV" in problem.line()


@pytest.mark.parametrize(
    "text",
    [
        '\ufeffEnhet-ID;Enhet;Tjenesteområde\r\nE1;«A»;B\r\nE2;"C;\r\nD";E\r\n',
        "\ufeffRapport 2017;;\r\n\r\nEnhet-ID;Enhet;Tjenesteområde\r\nE1;A;B\r\n",
        "\ufeff\ufeffEnhet-ID,Enhet,Tjenesteområde\nE1,A,B\n",  # a second BOM
        "Rapport\n\ufeffEnhet-ID\tEnhet\tTjenesteområde\nE1\tA\tB",  # a BOM at the header
        "Rapport;«x»\nEnhet-ID;Enhet;Tjenesteområde\nE1;Bø;Å\n".encode("cp1252").decode("latin-1"),
        "Enhet-ID;Enhet;Tjenesteområde\n",
    ],
)
def test_csv_read_in_one_go_equals_the_pieces_read_behind_a_bar(tmp_path, monkeypatch, text):
    # Without a terminal a text file is read by polars in one go, the lines above the
    # header skipped by polars; behind a progress bar it is read in pieces: the same cells.
    data = text.encode("latin-1") if "Bø" in text else text.encode("utf-8")
    path = tmp_path / "enheter.csv"
    cells = {}
    for shown in (False, True):
        monkeypatch.setattr(read.progress, "shown", lambda shown=shown: shown)
        monkeypatch.setattr(read, "CHUNK_BYTES", 8 if shown else read.CHUNK_BYTES)
        got, problems = read._read_csv(path, data, TABLES["enheter"])
        assert got is not None and not problems
        cells[shown] = got
    assert cells[False].first_row == cells[True].first_row
    assert cells[False].frame.equals(cells[True].frame)
    assert cells[False].frame.row(0)[0] == "Enhet-ID"


def test_norwegian_numbers(tmp_path):
    rows = helpers.tiny_tables()["ressursbruk"][:1]
    helpers.write_csv(tmp_path / "ressursbruk.csv", rows, helpers.PLAIN)
    text = (
        "Enhet-ID;Måned;Budsjett (kr);Regnskap (kr);Årsverk;Ansatte;Avtalte dagsverk;"
        "Fravær dagsverk;Volum\r\n"
        "E1;01.2017;1 234 567,50;\u22121\u00a0000;10,5;12;200;10,25;\r\n"
        "E1;2017-02;1234567.5;-1000;10.5;12;200;10.25;0\r\n"
        "E1;15.03.2017;1\u202f234\u202f567,5;-1000,00;10,50;12,0;200;10,25;\r\n"
    )
    (tmp_path / "ressursbruk.csv").write_bytes(text.encode("utf-8"))
    data = read.read_folder(tmp_path)
    td = data.tables["ressursbruk"]
    frame = td.data
    assert frame.get_column("budsjett_kr").to_list() == [1234567.5] * 3
    assert frame.get_column("regnskap_kr").to_list() == [-1000.0] * 3
    assert frame.get_column("arsverk").to_list() == [10.5] * 3
    assert frame.get_column("ansatte").to_list() == [12] * 3
    assert frame.get_column("maned").to_list() == [dt.date(2017, m, 1) for m in (1, 2, 3)]
    assert frame.get_column("volum").to_list() == [None, 0.0, None]
    assert frame.schema["ansatte"] == pl.Int64
    assert not [p for p in data.problems if p.file == "ressursbruk.csv"]


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("Lean-start", "31.02.2016", "ugyldig_dato"),
        ("Lean-start", "2016-13-01", "ugyldig_dato"),
        ("Lean-start", "01.02.16", "ugyldig_dato"),
        ("Lean-start", "i fjor", "ugyldig_dato"),
        ("Pilot", "to", "ugyldig_heltall"),
        ("Pilot", "1,5", "ugyldig_heltall"),
    ],
)
def test_bad_values_are_located(tmp_path, column, value, rule):
    header = ["Enhet-ID", "Enhet", "Tjenesteområde", "Lean-start", "Pilot"]
    row = {"Enhet-ID": "E7", "Enhet": "A", "Tjenesteområde": "B", "Lean-start": "", "Pilot": ""}
    row[column] = value
    text = ";".join(header) + "\nE1;A;B;;\n" + ";".join(row[h] for h in header) + "\n"
    _units_csv(tmp_path, text)
    data, _ = _read(tmp_path)
    [problem] = [p for p in data.errors if p.file == "enheter.csv"]
    assert (problem.rule, problem.file, problem.row, problem.column, problem.value) == (
        rule,
        "enheter.csv",
        3,
        column,
        value,
    )
    assert problem.key == "enhet_id=E7"


def test_dates_in_both_formats_and_excel_datetimes(tmp_path):
    text = (
        "enhet_id;enhet;tjenesteomrade;lean_start;lagt_ned\n"
        "E1;A;B;01.03.2016;2018-06-01\n"
        "E2;A;B;1.3.2016;2018-06-01 00:00:00\n"
    )
    _units_csv(tmp_path, text)
    _, td = _read(tmp_path)
    assert td.data.get_column("lean_start").to_list() == [dt.date(2016, 3, 1)] * 2
    assert td.data.get_column("lagt_ned").to_list() == [dt.date(2018, 6, 1)] * 2


def test_headers_unknown_columns_warn_and_missing_required_errs(tmp_path):
    _units_csv(tmp_path, "Enhet-ID;Enhet;Kommentar\nE1;A;x\n")
    data, td = _read(tmp_path)
    warn = [p for p in data.problems if p.severity is Severity.WARNING]
    assert [(p.rule, p.column) for p in warn] == [("ukjent_kolonne", "Kommentar")]
    [err] = [p for p in data.errors if p.file == "enheter.csv"]
    assert (err.rule, err.row, err.column) == ("mangler_kolonne", 1, "tjenesteomrade")
    assert td is None


def test_duplicate_header_after_normalising(tmp_path):
    _units_csv(tmp_path, "Enhet-ID;Enhet ID;Enhet;Tjenesteområde\nE1;E1;A;B\n")
    data, _ = _read(tmp_path)
    assert [p.rule for p in data.errors if p.file] == ["dobbel_kolonne"]


def test_lock_and_hidden_files_ignored_split_files_stacked(tmp_path):
    _units_csv(tmp_path, "enhet_id;enhet;tjenesteomrade\nE1;A;B\n", name="enheter_del1.csv")
    _units_csv(tmp_path, "enhet_id,enhet,tjenesteomrade\nE2,C,D\n", name="Enheter_del2.csv")
    (tmp_path / "~$enheter.xlsx").write_bytes(b"lock")
    (tmp_path / ".enheter.csv").write_bytes(b"hidden")
    _, td = _read(tmp_path)
    assert td.data.get_column("enhet_id").to_list() == ["E1", "E2"]
    assert td.data.get_column(read.FILE).to_list() == ["enheter_del1.csv", "Enheter_del2.csv"]
    assert td.data.get_column(read.ROW).to_list() == [2, 2]


def test_trailing_empty_rows_are_not_records(tmp_path):
    _units_csv(tmp_path, "enhet_id;enhet;tjenesteomrade\nE1;A;B\n;;\n;;\n")
    data, td = _read(tmp_path)
    assert td.data.height == 1 and not [p for p in data.errors if p.file]


def test_missing_required_table_and_old_excel_format(tmp_path):
    (tmp_path / "gevinster.numbers").write_bytes(b"old")
    data = read.read_folder(tmp_path)
    rules = sorted(p.rule for p in data.errors)
    assert rules == ["filformat", "mangler_tabell", "mangler_tabell", "mangler_tabell"]
    assert not [p for p in data.errors if "forbedringer" in p.expected]


def test_damaged_xlsx(tmp_path):
    (tmp_path / "enheter.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    data, _ = _read(tmp_path)
    assert [p.rule for p in data.errors if p.file == "enheter.xlsx"] == ["ikke_excel"]


def _frames(folder: Path) -> dict[str, pl.DataFrame]:
    data = read.read_folder(folder)
    assert not data.problems, [p.line() for p in data.problems]
    return {
        name: td.data.drop(read.FILE, read.ROW).sort(list(TABLES[name].key))
        for name, td in data.tables.items()
    }


@pytest.mark.parametrize(
    "flavour", [helpers.NORWEGIAN, helpers.NORWEGIAN_BOM], ids=["cp1252", "utf8-bom"]
)
def test_norwegian_excel_flavours_equal_plain_csv(tmp_path, flavour):
    plain = _frames(helpers.write_folder(tmp_path / "plain"))
    other = _frames(helpers.write_folder(tmp_path / "other", flavour=flavour))
    assert plain.keys() == other.keys() == set(TABLES)
    for name in plain:
        assert plain[name].equals(other[name]), name


def test_mixed_folder_equals_plain_csv(tmp_path):
    plain = _frames(helpers.write_folder(tmp_path / "plain"))
    mixed = _frames(helpers.write_mixed_folder(tmp_path / "mixed"))
    for name in plain:
        assert plain[name].equals(mixed[name]), name


def test_types_are_explicit(tmp_path):
    data = read.read_folder(helpers.write_folder(tmp_path / "raw"))
    schema = data.tables["gevinster"].data.schema
    assert schema["arsverk"] == pl.Float64
    assert schema["identifisert"] == pl.Date
    assert schema["metode"] == pl.String
    assert data.tables["ressursbruk"].data.schema["maned"] == pl.Date


def test_sha256_of_every_file(tmp_path):
    folder = helpers.write_mixed_folder(tmp_path / "raw")
    data = read.read_folder(folder)
    hashes = helpers.tree_hashes(folder)
    assert data.sha256 == {k: v for k, v in hashes.items() if not k.startswith(("~$", "README"))}


@pytest.mark.parametrize("table", ["kommentarer", "enheter"])
def test_a_cell_longer_than_the_csv_modules_limit_is_read_whole(tmp_path, table):
    # A leader's assessment of 200 000 characters near the top of the file, where the
    # header row is looked for (Python's csv module stops at 131 072 characters a field).
    tables = helpers.tiny_tables()
    column = "tekst" if table == "kommentarer" else "enhet"
    long_text = "Vi har jobbet godt; " * 10_000
    tables[table][0][column] = long_text
    raw = helpers.write_folder(tmp_path / "raw", tables)
    data = read.read_folder(raw)
    assert [p for p in data.problems if p.severity is Severity.ERROR] == []
    assert data.tables[table].data.get_column(column)[0] == long_text.strip()


def _every_text(alphabet: str, longest: int) -> pl.Series:
    """Every string of up to `longest` characters from `alphabet` (the empty one too)."""
    texts = [""]
    level = [""]
    for _ in range(longest):
        level = [t + ch for t in level for ch in alphabet]
        texts += level
    return pl.Series("v", texts)


# The contract's number rules, value by value in Python: the expectation for the reader,
# which reads most values by one cast over a whole column and rewrites only the rest.
_SIGNED = r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"


@functools.cache
def _compact(text: str) -> str:
    """The number text without spaces and kr, with `1 234-` and `(1 234)` as `-1234`."""
    text = re.sub(r"[\s\u00a0\u202f]", "", text).replace("\u2212", "-")
    for _ in range(2):  # kr outside parentheses, then inside
        text = re.sub(r"(?i)^([+-]?)kr\.?", r"\1", text, count=1)
        text = re.sub(r"(?i)kr\.?\Z", "", text, count=1)
        if _ == 0:
            text = re.sub(r"^\((.+)\)\Z", r"-\1", text, count=1, flags=re.S)
    return re.sub(r"^([0-9][0-9.,]*[0-9]|[0-9])-\Z", r"-\1", text, count=1)


def _contract_number(
    text: str | None, money: bool, integer: bool, text_cell: bool, comma: bool, point: bool
) -> tuple[float | None, str | None]:
    """(value, failure code) of one cell; `comma`/`point`: its file has such decimals."""
    if text is None:
        return None, None
    text = _compact(text)
    if not re.fullmatch(_SIGNED, text):
        return None, "ugyldig"
    value = float(text.replace(",", ".", 1))
    if text_cell and (
        (re.fullmatch(r"[+-]?[0-9]+\.[0-9]{3}", text) and (money or comma))
        or (re.fullmatch(r"[+-]?[0-9]+,[0-9]{3}", text) and point)
    ):
        return None, "tvetydig"
    if abs(value) > 1e15:
        return None, "for_stor"
    if integer and value != round(value):
        return None, "ugyldig"
    return value, None


def _number_frame(file: str, texts: list[str | None], text_file: bool) -> pl.DataFrame:
    """Rows as `read` has them before typing: every number column holds `texts`."""
    table = TABLES["ressursbruk"]
    n = len(texts)
    numbers = [c.name for c in table.columns if c.name not in ("enhet_id", "maned")]
    frame = pl.DataFrame(
        {
            read.FILE: [file] * n,
            read.ROW: list(range(2, n + 2)),
            read.TEXT_FILE: [text_file] * n,
            **{read.TEXT_CELL + c: [i % 2 == 0 for i in range(n)] for c in numbers},
            "enhet_id": ["E1"] * n,
            "maned": ["2017-01"] * n,
            **{c: texts for c in numbers},
        },
        schema_overrides={read.ROW: pl.Int64},
    )
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in numbers)
    return frame.with_columns(read._empty_as_null(c) for c in numbers)


def test_numbers_equal_the_contract_on_every_short_text():
    # Every short text of number-like characters, in a text file with decimal commas and
    # points and in a spreadsheet (every other cell a text cell); and the ambiguous forms
    # in files without decimals, with one kind, and with a rewritten decimal.
    texts = [
        *_every_text("1.,e-+ kr()", 5),
        *_every_text("0,.E\u00a0\u2212K)in", 4),
        *("inf", "-Infinity", "NaN", "1e400", "1e15", "1e16", "-1000000000000000,5", "1,5e-3"),
        *("1.e5", "+.5E-3", "12.345.678", "1 234 567,50", "00958.000", "958.0000", "0x10"),
        *("1_000", "\uff11\uff12", "1\t234", "(1 234,50)", "1 234,50-", "Kr. 1.234"),
    ]  # fmt: skip
    ambiguous = ["958.000", "1,234", "-1.234", "1.234-", "(1,234)", "kr 2.500", "1 234"]
    short = [t for t in texts if len(t) < 5]
    files = [("alle.csv", [*texts, None], True), ("alle.xlsx", short, False)]
    for extra in ([], ["1,5"], ["1.5"], ["kr 1,5"], ["1.5", "2,25"]):
        for suffix, text_file in ((".csv", True), (".ods", False)):
            files.append((f"tvetydig{len(files)}{suffix}", [*ambiguous, *extra], text_file))
    raw = pl.concat([_number_frame(*f) for f in files])
    typed, failures = read._typed(TABLES["ressursbruk"], raw)
    decimals = {
        name: (
            any(re.fullmatch(r"[+-]?[0-9]*,[0-9]+", _compact(t)) for t in cells if t),
            any(re.fullmatch(r"[+-]?[0-9]*\.[0-9]+", _compact(t)) for t in cells if t),
        )
        for name, cells, _ in files
    }
    for column, integer in (("budsjett_kr", False), ("arsverk", False), ("ansatte", True)):
        rows = raw.select(read.FILE, read.TEXT_FILE, read.TEXT_CELL + column, column).rows()
        expected = [
            _contract_number(text, column.endswith("_kr"), integer, tf or tc, *decimals[f])
            for f, tf, tc, text in rows
        ]
        assert typed.get_column(column).to_list() == [v for v, _ in expected]
        assert failures.get_column(column).to_list() == [code for _, code in expected]
    codes = failures.get_column("budsjett_kr").value_counts().rows()
    assert {code for code, count in codes if count >= 10} == {None, "ugyldig", "tvetydig"}
    assert raw.height > 200_000


def test_text_number_check_over_whole_columns_equals_the_cell_by_cell_one():
    # A workbook's cells are looked at one by one (which of them are text) only when the
    # whole-column check finds a cell written like `958.000`: it must find every such text
    # the cell-by-cell check finds, whatever spaces, kr, parentheses and signs it has.
    texts = [
        *_every_text("1.,kr()-+ \u00a0K", 5),
        *("958.000", "kr 1.250", "(1.250) kr", "-1,250", "1\u202f234.500", "Kr.1.000-"),
        *("\x1c1.000", "1.000\x1f", "\u20001.000\u3000", "1\t2.345", "\u212ar 1.000"),
        *(
            a + b + c
            for a in ("", "-", "+", "(", "kr", "Kr. ", "-kr", "(kr ", "+ (", "1")
            for b in ("1.000", "12,345", "1 234.567", "1.2345", "1\u00a0000,5", "x.000")
            for c in ("", ")", "-", " kr", "kr.", ") kr", ")-", "-kr", "KR)")
        ),
    ]  # fmt: skip
    frame = pl.DataFrame({"v": texts})
    found = frame.select(read._text_number_like(pl.col("v"))).get_column("v").to_list()
    expected = [
        read._TEXT_NUMBER.fullmatch(re.sub(r"[\s\u00a0\u202f]", "", t)) is not None for t in texts
    ]
    assert found == expected
    assert 150 < sum(expected) < len(texts) / 2
    assert read._may_hold_text_numbers(pl.DataFrame({"a": ["x", None], "b": ["1.5", "kr 2.000"]}))
    assert not read._may_hold_text_numbers(pl.DataFrame({"a": ["x", None], "b": ["1.5", "2,00"]}))


def test_dates_and_months_parsed_once_per_text_equal_parsing_every_row():
    days = [
        "01.03.2016", "1.3.2016", "2016-03-01", "2016-3-1", "2018-06-01 00:00:00",
        "31.02.2016", "2016-13-01", "01.02.16", "i fjor", "03.2016", "2016-03", "",
    ]  # fmt: skip
    frame = pl.DataFrame({"v": [*days, None, *days, None]})
    for parse in (read._parse_date, read._parse_month):
        once = frame.select(read._by_distinct(pl.col("v"), parse)).get_column("v")
        every = frame.select(parse(pl.col("v"))).get_column("v")
        assert once.equals(every, null_equal=True)
        assert once.drop_nulls().len() >= 5


_SHEET = """<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<x:sheetData>
<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Enhet-ID</x:t></x:is></x:c>
<x:c><x:v>7</x:v></x:c></x:row>
<x:row r="3"><x:c r="$c$3"><x:f>SUM(A1:B1)</x:f></x:c><x:c r="D3" t="str"><x:f>A1</x:f></x:c>
<x:c r="E3"><x:f>1+1</x:f><x:v>2</x:v></x:c><x:c r="F3"><x:v></x:v></x:c><x:c r="G3" s="1"/></x:row>
<x:row><x:c r="AB4"><x:v>1</x:v></x:c></x:row>
<x:row r="9"><x:c r="B9" t="s"><x:v>0</x:v></x:c></x:row>
</x:sheetData>
<x:mergeCells count="1"><x:mergeCell ref="A5:A8"/></x:mergeCells>
</x:worksheet>"""


def _write_workbook(path: Path, sheet: str) -> None:
    """A workbook whose only part besides the workbook and its relations is `sheet`."""
    workbook = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Ark1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", workbook)
        zf.writestr("xl/_rels/workbook.xml.rels", rels)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)


def test_workbook_xml_scan_finds_values_formulas_and_merges(tmp_path):
    # A hand-written sheet with a namespace prefix, a cell and a row without `r`, a
    # lower-case `$c$3`, formulas with and without stored value, an empty value and a
    # styled empty cell: only cells with a value count for the used range.
    path = tmp_path / "gevinster.xlsx"
    _write_workbook(path, _SHEET)
    scan = read._scan_xlsx(path)
    assert (scan.last_row, scan.far_row) == (8, "B9")
    assert (scan.last_col, scan.far_col) == (27, "AB4")
    assert scan.uncached == [("C3", "SUM(A1:B1)")]
    assert scan.merges == [(4, 0, 7, 0)]


def _expat_scan(path: Path) -> read._SheetScan:
    """The first sheet's scan by expat's callbacks, whatever the sheet looks like."""
    scan = read._SheetScan()
    with zipfile.ZipFile(path) as zf, zf.open(read._first_sheet_part(zf)[0]) as part:
        read._XlsxCells(scan).parse(part)
    return scan


def _plain_scan(path: Path) -> read._SheetScan | None:
    with zipfile.ZipFile(path) as zf:
        return read._scan_plain_sheet(zf.read(read._first_sheet_part(zf)[0]))


def test_plain_sheet_scan_equals_the_expat_scan(tmp_path):
    # Sheets as xlsxwriter and openpyxl write them (merges, styled empty cells, far cells,
    # text, numbers, dates) are scanned by regular expressions, with expat's answer.
    import openpyxl

    rows = helpers.tiny_tables()["gevinster"]
    written = helpers.write_xlsx(tmp_path / "a.xlsx", rows)
    book = openpyxl.Workbook()
    sheet = book.active
    for i, row in enumerate(rows, start=3):
        for j, value in enumerate(row.values(), start=2):
            sheet.cell(row=i, column=j, value=value)
    sheet.merge_cells("B5:B7")
    sheet.cell(row=40, column=30).style = "Good"  # styled, no value: not in the used range
    sheet.cell(row=30, column=20, value="")
    sheet.cell(row=12, column=28, value=0)
    book.save(tmp_path / "b.xlsx")
    for path in (written, tmp_path / "b.xlsx"):
        plain = _plain_scan(path)
        assert plain is not None and plain == _expat_scan(path)
    assert _plain_scan(tmp_path / "b.xlsx").merges == [(4, 1, 6, 1)]
    assert _plain_scan(tmp_path / "b.xlsx").far_col == "AB12"


@pytest.mark.parametrize(
    "cells",
    [
        '<x:c r="A2"><x:v>1</x:v></x:c>',  # a prefix
        '<c r="A2"><f>1+1</f><v>2</v></c>',  # a formula
        '<c r="A2">\n<v>1</v></c>',  # a value after spaces
        '<c r="A2"><v xml:space="preserve"> </v></c>',
        '<c r="A2"><v><![CDATA[1]]></v></c>',
        '<c r="A2" t="inlineStr"><is/></c>',
        '<c r="a2"><v>1</v></c>',  # a reference Excel does not write
        "<c r='A2'><v>1</v></c>",
        '<c s="1" r="A2"><v>1</v></c>',
        "<c><v>1</v></c>",
    ],
)
def test_sheet_written_otherwise_is_scanned_by_expat(tmp_path, cells):
    # Each of these cells holds a value the regular expressions would not see.
    path = tmp_path / "gevinster.xlsx"
    _write_workbook(
        path,
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Gevinst-ID</t></is></c></row>'
        f'<row r="2">{cells}</row></sheetData></worksheet>',
    )
    assert _plain_scan(path) is None
    assert _expat_scan(path).last_row == 1


def test_files_typed_alone_or_together_give_the_same_table(sample_raw, tmp_path, monkeypatch):
    # A long file is typed in its own thread, shorter ones together when stacked. Typing
    # looks at one row, or at one file's rows (`1,234` is ambiguous only in a file that
    # writes decimals with a point): any split of the files gives the same frames.
    raw = tmp_path / "raw"
    shutil.copytree(sample_raw, raw)
    points = raw / "ressursbruk_2010.csv"
    lines = points.read_bytes().decode("utf-8-sig").split("\r\n")
    lines[1:] = [line.replace(",", ".") for line in lines[1:]]
    fields = lines[5].split(";")
    fields[4] = "1,234"  # arsverk, among decimal points: ambiguous
    lines[5] = ";".join(fields)
    points.write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    commas = raw / "ressursbruk_2011.csv"
    text = commas.read_bytes().decode("utf-8-sig")
    first = text.split("\r\n")[1].split(";")
    row = ";".join([first[0], "13.2011", "958.000", "abc", "1,234", "2,5", *first[6:]])
    commas.write_bytes(text.replace("\r\n", f"\r\n{row}\r\n", 1).encode("utf-8-sig"))
    reads = {}
    for alone in (0, 905, 10**9):  # every file alone, some alone, all together
        monkeypatch.setattr(read, "TYPE_ALONE_ROWS", alone)
        reads[alone] = read.read_folder(raw)
    rules = {p.rule for p in reads[0].errors}
    assert {"ugyldig_tvetydig_tall", "ugyldig_tall", "ugyldig_heltall", "ugyldig_maned"} <= rules
    heights = [pl.read_csv(p, separator=";").height for p in sorted(raw.glob("ressursbruk*.csv"))]
    assert min(heights) < 905 <= max(heights)  # the middle split types some files alone
    for alone in (905, 10**9):
        assert reads[alone].problems == reads[0].problems
        for name, td in reads[0].tables.items():
            assert td.data.equals(reads[alone].tables[name].data), (alone, name)
            assert td.raw.equals(reads[alone].tables[name].raw), (alone, name)
