"""Outputs are swapped in whole: killed builds, the fallback swap, determinism, raw files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean import cli
from vtklean.model import datasets, processed
from vtklean.publish import swap


def _sample(folder: Path, seed: int) -> Path:
    assert cli.main(["sample", "--seed", str(seed), "--units", "120", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """Builds of two different raw folders: what 'old' and 'new' outputs look like."""
    base = tmp_path_factory.mktemp("versions")
    old_raw, new_raw = _sample(base / "old_raw", 1), _sample(base / "new_raw", 2)
    assert run_build(old_raw, base / "old", "--year", "2017") == 0
    assert run_build(new_raw, base / "new", "--year", "2017") == 0
    return base, old_raw, new_raw


def _command(raw: Path, out: Path, data_only: bool = True) -> list[str]:
    """`vtklean build` for 2017 as a separate process."""
    command = [sys.executable, "-m", "vtklean.cli", "build", "--year", "2017", "--raw", str(raw)]
    command += ["--processed", str(out / "processed"), "--reports", str(out / "reports")]
    return command + (["--data-only"] if data_only else [])


def _state(out: Path, which: str) -> dict[str, str]:
    return helpers.tree_hashes(out / which / "2017")


@pytest.mark.parametrize(
    ("trigger", "delay", "pages"),
    [
        ("Lager datasett", 0.0, False),
        ("Skriver datasett og rapporter", 0.0, False),
        ("Skriver datasett og rapporter", 0.05, False),
        ("Skriver datasett og rapporter", 0.15, False),
        # While notebooks run: it starts kernels, so it runs in CI only (`make test-all`).
        pytest.param("Kjører", 3.0, True, marks=pytest.mark.slow),
    ],
    ids=["datasett", "skriver", "skriver+0.05", "skriver+0.15", "notatboker"],
)
def test_killed_build_leaves_last_good_outputs_whole(two_versions, tmp_path, trigger, delay, pages):
    base, _, new_raw = two_versions
    out = tmp_path / "out"
    shutil.copytree(base / "old", out)
    old_processed, old_reports = _state(out, "processed"), _state(out, "reports")
    new_processed, new_reports = _state(base / "new", "processed"), _state(base / "new", "reports")
    assert old_processed != new_processed

    proc = subprocess.Popen(
        _command(new_raw, out, data_only=not pages),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in proc.stdout:
        if trigger in line:
            break
    if delay:
        time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    processed, reports = _state(out, "processed"), _state(out, "reports")
    assert processed in (old_processed, new_processed)  # whole, old or new, never a mix
    assert reports == old_reports or (
        reports.keys() == new_reports.keys()
        and reports["nokkeltall.csv"] == new_reports["nokkeltall.csv"]
    )
    # The next build succeeds and leaves no staging folders behind.
    assert run_build(new_raw, out, "--year", "2017") == 0
    assert _state(out, "processed") == new_processed
    leftovers = [p.name for p in (out / "processed").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_fallback_swap_recovers_after_a_crash_between_renames(tmp_path):
    target = tmp_path / "2017"
    target.mkdir()
    (target / "a.txt").write_text("old", encoding="utf-8")
    staged = swap.stage(target)
    (staged / "a.txt").write_text("new", encoding="utf-8")
    # Simulate the fallback swap dying after moving the old folder aside.
    target.rename(tmp_path / ".2017.forrige")
    swap.recover(target)
    assert (target / "a.txt").read_text(encoding="utf-8") == "old"
    assert not staged.exists()  # staging folders of killed builds are removed


def test_swap_replaces_whole_folder(tmp_path):
    target = tmp_path / "2017"
    target.mkdir()
    (target / "gammel.txt").write_text("x", encoding="utf-8")
    staged = swap.stage(target)
    (staged / "ny.txt").write_text("y", encoding="utf-8")
    swap.swap_in(staged, target)
    assert sorted(p.name for p in target.iterdir()) == ["ny.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2017"]


def test_identical_inputs_give_byte_identical_outputs(two_versions, tmp_path):
    """Separate processes (different thread scheduling) give the same bytes.

    The in-process build is the fixture's build of the old raw folder (`run_build`, as here).
    """
    base, raw, _ = two_versions
    built = base / "old"
    for name in ("b", "c"):
        out = tmp_path / name
        subprocess.run(
            _command(raw, out),
            check=True,
            capture_output=True,
        )
    assert helpers.tree_hashes(tmp_path / "c" / "processed") == helpers.tree_hashes(
        tmp_path / "b" / "processed"
    )
    a = helpers.tree_hashes(built / "processed")
    assert a == helpers.tree_hashes(tmp_path / "b" / "processed")
    # the datasets (with prikking), the optional tables the sample has, key figures, checks,
    # problems and meta: every file of the year folder was compared
    stems = {*datasets.FILES.values(), "nokkeltall", "kontroller", "avvik"}
    expected = {f"2017/{s}.parquet" for s in stems} | {f"2017/{processed.META}"}
    assert {k for k in a if k.startswith("2017/")} == expected
    for name in ("nokkeltall.csv", "nokkeltall.xlsx"):
        assert (built / "reports" / "2017" / name).read_bytes() == (
            tmp_path / "b" / "reports" / "2017" / name
        ).read_bytes()


def test_raw_files_are_never_modified(tmp_path):
    raw = helpers.write_mixed_folder(tmp_path / "raw")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in raw.iterdir()}
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in raw.iterdir()}
    assert before == after


@pytest.mark.parametrize("where", ["reports", "processed", "snapshots"])
def test_a_file_where_an_output_folder_goes_is_refused_and_kept(tmp_path, tiny_raw, capsys, where):
    out = tmp_path / "out"
    path = {
        "reports": out / "reports" / "2017",
        "processed": out / "processed" / "2017",
        "snapshots": out / "processed" / "radata-arkiv",
    }[where]
    path.parent.mkdir(parents=True)
    path.write_text("mitt eget notat\n", encoding="utf-8")
    assert run_build(tiny_raw, out, "--year", "2017") == 2
    err = capsys.readouterr().err
    assert f"{path.name}: finnes allerede, men er en fil, ikke en mappe" in err, err
    assert "Traceback" not in err and "File exists" not in err
    assert path.read_text(encoding="utf-8") == "mitt eget notat\n"
    # Nothing written: no file but the user's, no staging folder left behind.
    assert [p for p in out.rglob("*") if p.is_file()] == [path]
    assert not [p for p in out.rglob(".*")]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_published_folders_are_readable_like_any_folder_the_user_makes(tmp_path, tiny_raw):
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017") == 0
    made = tmp_path / "a folder made the usual way"
    made.mkdir()
    expected = made.stat().st_mode & 0o777
    for folder in (tmp_path / "out" / "reports" / "2017", tmp_path / "out" / "processed" / "2017"):
        assert folder.stat().st_mode & 0o777 == expected, oct(folder.stat().st_mode)
