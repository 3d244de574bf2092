"""Reports per date, never lost: folders, the archive, restatements, raw snapshots, listing."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests import helpers
from tests.conftest import run_build
from vtklean import build, cli, sample
from vtklean.core import paths
from vtklean.ingest import read
from vtklean.publish import archive, render, swap


def _whole(folder: Path) -> dict:
    table = pl.read_csv(folder / "nokkeltall.csv", infer_schema=False)
    return table.filter(pl.col("tjenesteomrade") == "Hele kommunen").row(0, named=True)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """A 2017 report, then a rebuild after one gain was edited and one month deleted."""
    base = tmp_path_factory.mktemp("rebuilt")
    tables = helpers.tiny_tables()
    raw = helpers.write_folder(base / "raw", tables)
    (base / "raw_first.json").write_text(json.dumps(helpers.tree_hashes(raw)), "utf-8")
    assert run_build(raw, base, "--year", "2017") == 0
    assert run_build(raw, base, "--as-of", "2017-04-30") == 0
    first = helpers.tree_hashes(base / "reports" / "2017")
    old = _whole(base / "reports" / "2017")
    g2 = next(g for g in tables["gevinster"] if g["gevinst_id"] == "G2")
    g2["arsverk"] = 2.5
    tables["ressursbruk"] = [
        r for r in tables["ressursbruk"] if not (r["enhet_id"] == "E2" and r["maned"].month == 3)
    ]
    helpers.write_folder(raw, tables)
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        assert run_build(raw, base, "--year", "2017") == 0
    return base, raw, first, old, said.getvalue()


def test_as_of_and_year_reports_live_side_by_side(rebuilt):
    base, *_ = rebuilt
    assert (base / "reports" / "2017" / "index.html").is_file()
    assert (base / "reports" / "2017-04-30" / "index.html").is_file()
    assert (base / "processed" / "2017-04-30" / "meta.json").is_file()
    assert _whole(base / "reports" / "2017-04-30") != _whole(base / "reports" / "2017")


def test_rebuild_after_an_edited_gain_keeps_the_earlier_report_and_shows_changes(rebuilt):
    base, _, first, old, said = rebuilt
    kept = archive.versions(base / "reports", "2017")
    assert len(kept) == 1
    assert helpers.tree_hashes(kept[0].path) == first  # the earlier report, byte for byte
    new = _whole(base / "reports" / "2017")
    column = "gevinster_identifisert_arsverk"
    assert float(new[column]) == pytest.approx(float(old[column]) + 1.5)
    old_text = render.export_text(column, old[column])
    new_text = render.export_text(column, new[column])
    assert "Tallene per 31.12.2017 er endret siden forrige rapport" in said
    page = (base / "reports" / "2017" / "index.html").read_text("utf-8")
    assert "Endringer siden forrige rapport" in page
    cells = (
        f'<td class="tall" data-label="Før">{old_text}</td>'
        f'<td class="tall" data-label="Nå">{new_text}</td>'
    )
    row = f'<td data-label="Nøkkeltall">Identifisert (årsverk)</td>{cells}'
    assert f'<th scope="row">Hele kommunen</th>{row}' in page
    assert "Gevinster, endret (1): G2" in page
    assert "Måneder i ressursbruk (enhet og måned), fjernet (1): E2 03.2017" in page
    assert f"../arkiv/2017/{kept[0].path.name}/index.html" in page
    # The as-of report was not touched by the year's rebuild.
    assert archive.versions(base / "reports", "2017-04-30") == []


def test_raw_snapshots_are_kept_once_per_content(rebuilt):
    base, raw, *_ = rebuilt
    store = base / "processed" / archive.SNAPSHOTS
    kept = sorted(p.name.split(".")[0] for p in store.iterdir())
    first = set(json.loads((base / "raw_first.json").read_text("utf-8")).values())
    current = set(helpers.tree_hashes(raw).values())
    assert len(current - first) == 2  # gevinster and ressursbruk were edited
    assert kept == sorted(first | current)  # each content once


def test_unchanged_rebuild_says_figures_are_the_same(tmp_path, tiny_raw, capsys):
    assert run_build(tiny_raw, tmp_path, "--year", "2017") == 0
    assert run_build(tiny_raw, tmp_path, "--year", "2017", "--force") == 0
    said = capsys.readouterr().out
    assert "Nøkkeltallene er de samme som i forrige rapport" in said
    page = (tmp_path / "reports" / "2017" / "index.html").read_text("utf-8")
    assert "Ingen rader i rådataene er lagt til, endret eller fjernet." in page
    assert len(archive.versions(tmp_path / "reports", "2017")) == 1


def test_arkiv_lists_reports_and_earlier_versions(rebuilt, capsys):
    base, *_ = rebuilt
    capsys.readouterr()
    assert cli.main(["arkiv", "--reports", str(base / "reports")]) == 0
    said = capsys.readouterr().out
    assert "2017-04-30" in said
    assert "tidligere versjon laget" in said
    assert str(base / "reports" / "arkiv" / "2017") in said


def test_fallback_swap_keeps_the_replaced_folder(tmp_path, monkeypatch):
    """The portable swap (two renames), forced as on a system without renameat2."""
    monkeypatch.setattr(swap, "_LIBC", None)
    target = tmp_path / "2017"
    target.mkdir()
    (target / "a.txt").write_text("gammel", encoding="utf-8")
    staged = swap.stage(target)
    (staged / "a.txt").write_text("ny", encoding="utf-8")
    swap.swap_in(staged, target, keep=lambda old: tmp_path / "arkiv" / "2017" / "v1")
    assert (target / "a.txt").read_text(encoding="utf-8") == "ny"
    assert (tmp_path / "arkiv" / "2017" / "v1" / "a.txt").read_text(encoding="utf-8") == "gammel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2017", "arkiv"]


def test_build_with_the_fallback_swap_archives(tmp_path, tiny_raw, monkeypatch):
    monkeypatch.setattr(swap, "_LIBC", None)
    assert run_build(tiny_raw, tmp_path, "--year", "2017") == 0
    first = helpers.tree_hashes(tmp_path / "reports" / "2017")
    assert run_build(tiny_raw, tmp_path, "--year", "2017", "--force") == 0
    (kept,) = archive.versions(tmp_path / "reports", "2017")
    assert helpers.tree_hashes(kept.path) == first


def test_relative_paths_from_another_directory(tmp_path, tiny_raw, monkeypatch):
    elsewhere = tmp_path / "et" / "annet" / "sted"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    raw = Path("../../..") / tiny_raw.relative_to(tmp_path)
    args = ["build", "--raw", str(raw), "--processed", "p", "--reports", "r", "--data-only"]
    assert cli.main(args) == 0
    assert (elsewhere / "r" / "2017" / "index.html").is_file()


def test_kommune_names_every_output(tmp_path, tiny_raw):
    params = tmp_path / "build.yaml"
    params.write_text("kommune: Østre <Test> & by kommune\n", encoding="utf-8")
    assert run_build(tiny_raw, tmp_path, "--year", "2017", "--params", str(params)) == 0
    folder = tmp_path / "reports" / "2017"
    for page in ("index.html", "tilgjengelighet.html"):
        text = (folder / page).read_text("utf-8")
        assert "Østre &lt;Test&gt; &amp; by kommune" in text
        assert "Vestre Toten" not in text
    from openpyxl import load_workbook

    assert "Østre <Test> & by kommune" in load_workbook(folder / "nokkeltall.xlsx").properties.title


def test_default_kommune_is_in_the_shipped_parameters():
    shipped = yaml.safe_load((paths.PARAMS / "build.yaml").read_text("utf-8"))
    assert shipped["kommune"] == build.DEFAULT_PARAMS["kommune"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("utfall: sykefravær\n", "parameteren «utfall» har verdien «sykefravær», men tillatt er"),
        ("periode: uke\n", "parameteren «periode» har verdien «uke», men tillatt er ar, maned"),
        ("vis_perioder_for: åtte\n", "«vis_perioder_for» har verdien «åtte», men skal være et"),
        ("vis_perioder_etter: -1\n", "«vis_perioder_etter» har verdien «-1», men skal være 0"),
    ],
)
def test_wrong_notebook_parameter_is_a_usage_error_before_anything_runs(
    tmp_path, tiny_raw, text, needle
):
    params = tmp_path / "params"
    shutil.copytree(paths.PARAMS, params)
    # Every default stays in params/ (a missing one is an error of its own); one is wrong.
    shipped = yaml.safe_load((params / "pilot-effekter.yaml").read_text(encoding="utf-8"))
    wrong = shipped | yaml.safe_load(text)
    (params / "pilot-effekter.yaml").write_text(
        yaml.safe_dump(wrong, allow_unicode=True), encoding="utf-8"
    )
    options = build.Options(
        raw=tiny_raw, processed=tmp_path / "p", reports=tmp_path / "r", params_dir=params
    )
    with pytest.raises(build.UsageError, match=r"pilot-effekter\.yaml") as err:
        build.run(options)
    assert needle in str(err.value)
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


def test_sample_never_deletes_files_it_did_not_write(tmp_path, capsys):
    raw = tmp_path / "raw"
    assert cli.main(["sample", "--units", "40", "--out", str(raw)]) == 0
    # Its own files are replaced (also with other options).
    assert cli.main(["sample", "--units", "41", "--overwrite", "--out", str(raw)]) == 0
    real = raw / "gevinster_2019.csv"
    helpers.write_csv(real, helpers.tiny_tables()["gevinster"])
    edited = raw / "enheter.csv"
    edited.write_bytes(edited.read_bytes() + b"\r\n")
    before = helpers.tree_hashes(raw)
    capsys.readouterr()
    assert cli.main(["sample", "--overwrite", "--out", str(raw)]) == 2
    said = capsys.readouterr().err
    assert "gevinster_2019.csv" in said and "enheter.csv" in said
    assert helpers.tree_hashes(raw) == before


def test_sample_overwrite_accepts_the_shipped_data_without_a_manifest(tmp_path, sample_raw):
    raw = tmp_path / "raw"
    shutil.copytree(sample_raw, raw)
    (raw / sample.MANIFEST).unlink()
    assert cli.main(["sample", "--overwrite", "--out", str(raw)]) == 0
    assert helpers.tree_hashes(raw) == helpers.tree_hashes(sample_raw)


def test_terminal_speaks_norwegian(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["build", "--ukjent"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("bruk: vtklean ")
    assert "ukjente argumenter: --ukjent" in err
    with pytest.raises(SystemExit):
        cli.main(["lag"])
    assert "ukjent valg 'lag' (velg blant 'build', 'sample', 'arkiv')" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["build", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("bruk: vtklean build [-h]")
    assert "valg:" in text and "vis denne hjelpen og avslutt" in text
    assert "usage" not in text and "options" not in text
    assert cli.count(1, "advarsel", "advarsler") == "1 advarsel"
    assert cli.count(2, "advarsel", "advarsler") == "2 advarsler"
    assert cli.seconds(32.66) == "32,7 s"


def test_another_municipality_builds_each_year_it_covers(tmp_path, tiny_raw):
    params = tmp_path / "build.yaml"
    params.write_text("kommune: Søndre Eksempel kommune\n", encoding="utf-8")
    months = read.read_folder(tiny_raw).tables["ressursbruk"].data.get_column("maned")
    years = range(months.min().year, months.max().year + 1)
    for year in years:
        args = ("--year", str(year), "--params", str(params))
        assert run_build(tiny_raw, tmp_path, *args) == 0
        index = (tmp_path / "reports" / str(year) / "index.html").read_text("utf-8")
        assert f"Lean i Søndre Eksempel kommune – rapporter for {year}" in index
        assert "Vestre Toten" not in index
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [str(y) for y in years]


def test_arkiv_with_emptied_archive_folders_and_hand_edited_stamps(tmp_path, capsys):
    reports = tmp_path / "rapporter"
    current = reports / "2017"
    current.mkdir(parents=True)
    archive.write_stamp(current, "a", "2018-01-02T10:00:00+01:00", {})
    (reports / archive.ARCHIVE / "2019").mkdir(parents=True)  # its versions deleted by hand
    (reports / archive.ARCHIVE / "2018").write_text("x", encoding="utf-8")  # a file, not a folder
    for stamp, built in (
        ("2018-01-01_090000", "2018-01-01T09:00:00+01:00"),
        ("2017-12-31_120000", "2017-12-31T12:00:00"),
    ):  # no offset (edited)
        old = reports / archive.ARCHIVE / "2017" / stamp
        old.mkdir(parents=True)
        archive.write_stamp(old, "b", built, {})
    assert cli.main(["arkiv", "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  2")]
    assert listed == ["2017"], out
    assert out.count("tidligere versjon laget") == 2
    assert out.index("laget 01.01.2018") < out.index("laget 31.12.2017")  # newest first
