"""A catalogue of broken inputs: each stops the build with a located message and writes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean.ingest import contract, validate
from vtklean.ingest.read import read_folder

Tables = dict[str, list[dict]]


@dataclass(frozen=True)
class Case:
    """A broken input and what the message must name."""

    id: str
    mutate: Callable[[Tables, Path], None]
    expect: tuple[str, ...]  # fragments of the message (file, row, column, value ...)


def _set(table: str, index: int, **values):
    def mutate(tables: Tables, folder: Path) -> None:
        tables[table][index].update(values)

    return mutate


def _after_write(fn: Callable[[Path], None]):
    """Mutations applied to the written files instead of the records."""

    def mutate(tables: Tables, folder: Path) -> None:
        mutate.post = fn  # type: ignore[attr-defined]

    return mutate


def _split_gains_duplicate(tables: Tables, folder: Path) -> None:
    tables["gevinster"][6]["gevinst_id"] = "G1"


def _split_resource_duplicate(tables: Tables, folder: Path) -> None:
    dup = dict(tables["ressursbruk"][13])  # E1, 2017-02
    tables["ressursbruk"].append(dup)


def _replace_bytes(name: str, old: bytes, new: bytes):
    def fn(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes().replace(old, new, 1))

    return fn


D = dt.date
CASES = [
    Case(
        "enhet-id-dobbel",
        _set("enheter", 1, enhet_id="E1"),
        ("enheter.csv, rad 3, kolonne «enhet_id»: verdien «E1»", "må være unik", "rad 2"),
    ),
    Case(
        "enhet-mangler-navn",
        _set("enheter", 0, enhet=None),
        ("enheter.csv, rad 2, kolonne «enhet»: tom verdi", "enhet må fylles ut"),
    ),
    Case(
        "enhet-mangler-omrade",
        _set("enheter", 3, tjenesteomrade=None),
        ("enheter.csv, rad 5, kolonne «tjenesteomrade»: tom verdi (enhet_id=E4)",),
    ),
    Case(
        "enhet-pilot-null",
        _set("enheter", 0, pilot=0),
        ("enheter.csv, rad 2, kolonne «pilot»: verdien «0»", "pilot må være >= 1"),
    ),
    Case(
        "enhet-pilot-tekst",
        _set("enheter", 0, pilot="to"),
        ("enheter.csv, rad 2, kolonne «pilot»: verdien «to»", "forventet heltall"),
    ),
    Case(
        "enhet-umulig-dato",
        _set("enheter", 2, lagt_ned="31.02.2016"),
        (
            "enheter.csv, rad 4, kolonne «lagt_ned»: verdien «31.02.2016» (enhet_id=E3)",
            "forventet dato",
        ),
    ),
    Case(
        "gevinst-ukjent-enhet",
        _set("gevinster", 1, enhet_id="E9"),
        (
            "gevinster.csv, rad 3, kolonne «enhet_id»: verdien «E9» (gevinst_id=G2)",
            "finnes ikke i tabellen «enheter»",
        ),
    ),
    Case(
        "gevinst-ukjent-metode",
        _set("gevinster", 0, metode="kaizen"),
        (
            "gevinster.csv, rad 2, kolonne «metode»: verdien «kaizen»",
            "forventet en av: verdistromsanalyse, forbedringstavle, 5s, annet",
        ),
    ),
    Case(
        "gevinst-ukjent-kategori",
        _set("gevinster", 2, kategori="penger"),
        ("gevinster.csv, rad 4, kolonne «kategori»: verdien «penger»",),
    ),
    Case(
        "gevinst-null-arsverk",
        _set("gevinster", 0, arsverk=0.0),
        ("gevinster.csv, rad 2, kolonne «arsverk»: verdien «0»", "arsverk må være > 0 og <= 50"),
    ),
    Case(
        "gevinst-for-stor",
        _set("gevinster", 3, arsverk=75.5),
        ("gevinster.csv, rad 5, kolonne «arsverk»: verdien «75.5» (gevinst_id=G4)",),
    ),
    Case(
        "gevinst-tekst-i-tall",
        _set("gevinster", 0, arsverk="mange"),
        ("gevinster.csv, rad 2, kolonne «arsverk»: verdien «mange»", "forventet tall"),
    ),
    Case(
        "gevinst-negativt-belop",
        _set("gevinster", 1, belop_kr=-5.0),
        ("gevinster.csv, rad 3, kolonne «belop_kr»: verdien «-5»", "belop_kr må være >= 0"),
    ),
    Case(
        "gevinst-realisert-for-identifisert",
        _set("gevinster", 0, realisert=D(2016, 4, 1)),
        (
            "gevinster.csv, rad 2, kolonne «realisert»: verdien «2016-04-01»",
            "realisert kan ikke være før identifisert",
            "identifisert er «2016-05-01»",
        ),
    ),
    Case(
        "gevinst-forkastet-for-identifisert",
        _set("gevinster", 3, forkastet=D(2017, 1, 1)),
        ("gevinster.csv, rad 5, kolonne «forkastet»: verdien «2017-01-01»",),
    ),
    Case(
        "gevinst-realisert-og-forkastet",
        _set("gevinster", 0, forkastet=D(2017, 1, 1)),
        (
            "gevinster.csv, rad 2, kolonne «forkastet»: verdien «2017-01-01» (gevinst_id=G1)",
            "realisert og forkastet kan ikke begge være fylt ut",
        ),
    ),
    Case(
        "gevinst-realisert-arsverk-uten-dato",
        _set("gevinster", 1, realisert_arsverk=0.5),
        (
            "gevinster.csv, rad 3, kolonne «realisert_arsverk»: verdien «0.5»",
            "realisert_arsverk kan bare fylles ut når realisert er fylt ut",
        ),
    ),
    Case(
        "gevinst-realisert-over-arsverk",
        _set("gevinster", 2, realisert_arsverk=2.0),
        (
            "gevinster.csv, rad 4, kolonne «realisert_arsverk»: verdien «2»",
            "realisert_arsverk kan ikke være større enn arsverk",
        ),
    ),
    Case(
        "gevinst-mangler-identifisert",
        _set("gevinster", 4, identifisert=None),
        ("gevinster.csv, rad 6, kolonne «identifisert»: tom verdi", "identifisert må fylles ut"),
    ),
    Case(
        "gevinst-id-dobbel",
        _split_gains_duplicate,
        ("gevinster.csv, rad 8, kolonne «gevinst_id»: verdien «G1»",),
    ),
    Case(
        "ressurs-fravaer-over-avtalt",
        _set("ressursbruk", 30, fravaer_dagsverk=250.0),
        (
            "ressursbruk.csv, rad 32, kolonne «fravaer_dagsverk»: verdien «250»",
            "fravaer_dagsverk kan ikke være større enn avtalte_dagsverk",
        ),
    ),
    Case(
        "ressurs-avtalt-null",
        _set("ressursbruk", 3, avtalte_dagsverk=0.0, fravaer_dagsverk=0.0),
        (
            "ressursbruk.csv, rad 5, kolonne «avtalte_dagsverk»: verdien «0»",
            "avtalte_dagsverk må være større enn 0 når arsverk er større enn 0",
        ),
    ),
    Case(
        "ressurs-negative-arsverk",
        _set("ressursbruk", 4, arsverk=-1.0),
        ("ressursbruk.csv, rad 6, kolonne «arsverk»: verdien «-1» (enhet_id=E1, maned=2016-05)",),
    ),
    Case(
        "ressurs-ugyldig-maned",
        _set("ressursbruk", 5, maned="13.2017"),
        ("ressursbruk.csv, rad 7, kolonne «maned»: verdien «13.2017»", "forventet måned"),
    ),
    Case(
        "ressurs-ukjent-enhet",
        _set("ressursbruk", 0, enhet_id="X1"),
        ("ressursbruk.csv, rad 2, kolonne «enhet_id»: verdien «X1»",),
    ),
    Case(
        "ressurs-ansatte-desimal",
        _set("ressursbruk", 1, ansatte=2.5),
        ("ressursbruk.csv, rad 3, kolonne «ansatte»: verdien «2.5»", "forventet heltall"),
    ),
    Case(
        "ressurs-tall-med-to-komma",
        _set("ressursbruk", 2, budsjett_kr="12,5,0"),
        ("ressursbruk.csv, rad 4, kolonne «budsjett_kr»: verdien «12,5,0»",),
    ),
    Case(
        "ressurs-dobbel-maned",
        _split_resource_duplicate,
        (
            "ressursbruk.csv, rad 57, kolonne «maned»: verdien «2017-02»",
            "kombinasjonen enhet_id + maned må være unik",
        ),
    ),
    Case(
        "forslag-ukjent-status",
        _set("forbedringer", 0, status="ferdig"),
        ("forbedringer.csv, rad 2, kolonne «status»: verdien «ferdig» (forslag_id=F1)",),
    ),
    Case(
        "forslag-avsluttet-for-registrert",
        _set("forbedringer", 0, avsluttet=D(2017, 1, 1)),
        ("forbedringer.csv, rad 2, kolonne «avsluttet»: verdien «2017-01-01»",),
    ),
    Case(
        "fil-ugyldig-tegn",
        _after_write(_replace_bytes("enheter.csv", b"Avd A", b"Avd \x81")),
        ("enheter.csv, rad 2: ugyldig tegn (byte 0x81)",),
    ),
    Case(
        "fil-tom",
        _after_write(lambda f: (f / "gevinster.csv").write_bytes(b"")),
        ("gevinster.csv: filen er tom",),
    ),
    Case(
        "fil-ikke-csv",
        _after_write(lambda f: (f / "enheter.csv").write_bytes(b"\x00\x01PK")),
        ("enheter.csv: filen inneholder binære data",),
    ),
    Case(
        "fil-mangler-tabell",
        _after_write(lambda f: (f / "ressursbruk.csv").unlink()),
        ("fant ingen fil for tabellen «ressursbruk»",),
    ),
    Case(
        "fil-mangler-kolonne",
        _after_write(_replace_bytes("ressursbruk.csv", b",fravaer_dagsverk", b",fravaer")),
        ("ressursbruk.csv, rad 1, kolonne «fravaer_dagsverk»", "fant ikke kolonnen"),
    ),
    Case(
        "fil-ujevn-rad",
        _after_write(_replace_bytes("forbedringer.csv", b"F2,E1", b"F2,E1,,ekstra")),
        ("forbedringer.csv, rad 3", "overskriftsraden har 5"),
    ),
]


@pytest.fixture(scope="module")
def good_build(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("good")
    raw = helpers.write_folder(out / "raw")
    assert run_build(raw, out / "out", "--year", "2017") == 0
    return out / "out", helpers.tree_hashes(out / "out")


def _broken_folder(case: Case, folder: Path) -> Path:
    tables = helpers.tiny_tables()
    case.mutate(tables, folder)
    raw = helpers.write_folder(folder, tables)
    post = getattr(case.mutate, "post", None)
    if post is not None:
        post(raw)
    return raw


def test_catalogue_has_at_least_25_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input(case, good_build, tmp_path, capsys):
    good_out, good_hashes = good_build
    out = tmp_path / "out"
    shutil.copytree(good_out, out)  # a previous good build in the same output folders
    raw = _broken_folder(case, tmp_path / "raw")
    raw_before = helpers.tree_hashes(raw)
    assert run_build(raw, out, "--year", "2017") == 1
    err = capsys.readouterr().err
    for fragment in case.expect:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert "Traceback" not in err
    assert helpers.tree_hashes(out) == good_hashes
    assert helpers.tree_hashes(raw) == raw_before


def test_every_contract_rule_is_broken_by_a_case():
    """Each column rule and row rule of the contract appears among the catalogue's messages."""
    texts = " ".join(f for c in CASES for f in c.expect)
    for table in contract.TABLES.values():
        for rule in table.row_rules:
            if table.name == "forbedringer":
                continue  # covered by forslag-avsluttet-for-registrert (same rule kind)
            assert rule.describe() in texts or rule.kind == contract.RuleKind.NOT_BEFORE, rule
    rules = {r.rule for r in validate.suite_rules(contract.GEVINSTER, ["E1"], 50.0)}
    assert rules >= {"pakrevd", "unik", "kode", "intervall", "referanse"}


def test_all_problems_in_one_run_grouped_with_counts(tmp_path, capsys):
    tables = helpers.tiny_tables()
    tables["gevinster"][0]["metode"] = "kaizen"
    tables["enheter"][1]["pilot"] = 0
    for row in tables["ressursbruk"][:25]:
        row["fravaer_dagsverk"] = 999.0
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "har 27 feil" in err
    assert "kaizen" in err and "«pilot»: verdien «0»" in err
    assert "(25):" in err
    assert "... og 5 til av samme slag" in err
    assert err.count("fravaer_dagsverk kan ikke være større enn avtalte_dagsverk") == 20


def test_warnings_do_not_stop_the_build(tmp_path, capsys):
    tables = helpers.tiny_tables()
    tables["ressursbruk"] = [r for r in tables["ressursbruk"] if r["maned"] != D(2016, 6, 1)]
    tables["ressursbruk"][20]["regnskap_kr"] = 400_000.0  # budget deviation far above 50 %
    raw = helpers.write_folder(tmp_path / "raw", tables)
    (raw / "enheter.csv").write_text(
        (raw / "enheter.csv")
        .read_text(encoding="utf-8")
        .replace("volumenhet", "volumenhet,kommentar", 1),
        encoding="utf-8",
    )
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    shown = capsys.readouterr().out
    stored = pl.read_parquet(tmp_path / "out" / "processed" / "2017" / "avvik.parquet")
    lines = "\n".join(stored.get_column("linje"))
    headings = set(stored.get_column("overskrift"))
    assert set(stored.get_column("alvor")) == {"advarsel"}
    assert "Hull i en enhets månedsserie" in headings and "06.2016" in lines
    assert any("budsjettavvik over 50" in h for h in headings)
    assert "Aktive enheter uten ressursbruk i 2017" in headings and "Ny enhet" in lines
    assert "Ukjente kolonner (tas ikke med)" in headings and "kommentar" in lines
    assert "advarsler" in shown and "Hull i en enhets månedsserie" in shown


def test_validation_object_lists_every_expectation(tiny_raw):
    result = validate.validate(read_folder(tiny_raw), as_of=D(2017, 12, 31))
    assert not result.errors
    tables = {c.table for c in result.checks}
    assert tables == {"filer", *contract.TABLES}
    assert len(result.checks) > 40
    assert all(c.checked >= 0 for c in result.checks)


def test_the_contracts_limit_warnings_follow_the_build_parameter(tmp_path):
    """The budget-outlier warning is contract data: its limit is the build parameter's."""
    (warning,) = [w for w in contract.WARNINGS if w.measure == "budsjettavvik_prosent"]
    assert contract.TABLES["ressursbruk"].warnings == (warning,)
    tables = helpers.tiny_tables()
    tables["ressursbruk"][20]["regnskap_kr"] = tables["ressursbruk"][20]["budsjett_kr"] * 1.3
    raw = read_folder(helpers.write_folder(tmp_path / "raw", tables))

    def expected(limit):  # the months beyond the limit, computed here from the rows
        return {
            (r["enhet_id"], f"{r['maned']:%Y-%m}")
            for r in tables["ressursbruk"]
            if r["budsjett_kr"] and abs(r["regnskap_kr"] / r["budsjett_kr"] - 1) * 100 > limit
        }

    def flagged(limits):
        result = validate.validate(raw, as_of=D(2017, 12, 31), limits=limits)
        rule = f"ressursbruk.{warning.rule}.{warning.column}"
        found = [p for p in result.warnings if p.rule == rule]
        assert all(p.column == warning.column for p in found)
        return found

    default = flagged(None)
    assert warning.default == 50 and len(default) == len(expected(50))
    lower = flagged({warning.parameter: 20})
    assert len(lower) == len(expected(20)) > len(default)
    assert all(p.heading.startswith("Måneder med budsjettavvik over 20 % (") for p in lower)
    assert all(p.expected.startswith("regnskap avviker mer enn 20 % fra budsjett") for p in lower)
    assert all(f"({warning.beside} er «" in p.line() for p in lower)
    assert "over 12,5 % (" in warning.describe(12.5)[0]  # a limit in Norwegian number format


def test_key_combination_check_in_polars_equals_great_expectations_own(tmp_path, monkeypatch):
    # The repeated (enhet_id, maned) check is computed in polars; on repeated, partly empty
    # and wholly empty keys it must give what GX's own compound-uniqueness expectation gives.
    import dataclasses

    import great_expectations.expectations as gxe

    tables = helpers.tiny_tables()
    res = tables["ressursbruk"]
    res.append(dict(res[0]))
    res += [dict(res[1]) | {"maned": None} for _ in range(2)]
    res += [dict(res[2]) | {"enhet_id": None, "maned": None} for _ in range(2)]
    raw = read_folder(helpers.write_folder(tmp_path / "raw", tables))
    ours = validate.validate(raw, as_of=D(2017, 12, 31))
    rules = validate.suite_rules

    def with_gx(table, ids, limits=None):
        return [
            dataclasses.replace(
                r,
                expectation=gxe.ExpectCompoundColumnsToBeUnique(
                    column_list=list(table.unique_together)
                ),
            )
            if getattr(r.expectation, "column", None) == validate.UNIQUE_TOGETHER
            else r
            for r in rules(table, ids, limits)
        ]

    monkeypatch.setattr(validate, "suite_rules", with_gx)
    theirs = validate.validate(raw, as_of=D(2017, 12, 31))
    lines = [p.line() for p in ours.problems]
    assert lines == [p.line() for p in theirs.problems]
    assert repr(ours.checks) == repr(theirs.checks)
    assert sum("kombinasjonen enhet_id + maned" in line for line in lines) == 4
