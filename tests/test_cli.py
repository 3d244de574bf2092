import signal
import subprocess
import sys
import tomllib
from pathlib import Path

from tests import helpers
from tests.conftest import run_build
from vtklean import cli


def _vtklean(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "vtklean.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_bad_data_exit_1_in_bokmal_without_traceback(tmp_path):
    tables = helpers.tiny_tables()
    tables["gevinster"][0]["arsverk"] = 75.0
    raw = helpers.write_folder(tmp_path / "raw", tables)
    out = _vtklean(
        "build",
        "--raw",
        str(raw),
        "--processed",
        str(tmp_path / "p"),
        "--reports",
        str(tmp_path / "r"),
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert "Ingenting er skrevet" in out.stderr
    assert "gevinster.csv, rad 2, kolonne «arsverk»: verdien «75»" in out.stderr
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


def test_data_that_break_the_datasets_are_reported_as_data_errors(tmp_path):
    """The pages render while the data are checked; data the datasets cannot take are
    reported by the checks (exit 1, in bokmål), not as a crash, and nothing is written."""
    tables = helpers.tiny_tables()
    for row in tables["ressursbruk"]:
        if row["enhet_id"] == "E1":
            row["enhet_id"] = "E99"  # a unit that is not in enheter
    raw = helpers.write_folder(tmp_path / "raw", tables)
    out = _vtklean(
        "build", "--raw", str(raw), "--processed", str(tmp_path / "p"),
        "--reports", str(tmp_path / "r"), cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "Ingenting er skrevet" in out.stderr
    assert "verdien «E99»" in out.stderr
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


def test_usage_errors_exit_2(tmp_path, tiny_raw):
    assert run_build(tiny_raw, tmp_path / "a", "--year", "2031") == 2
    assert run_build(tiny_raw, tmp_path / "b", "--year", "2017", "--as-of", "2016-05-01") == 2
    params = tmp_path / "p.yaml"
    params.write_text("ukjent_parameter: 3\n", encoding="utf-8")
    assert run_build(tiny_raw, tmp_path / "c", "--params", str(params)) == 2
    out = _vtklean("build", "--year", "tjuesytten")
    assert out.returncode == 2
    assert "er ikke et årstall" in out.stderr
    assert _vtklean("finnes-ikke").returncode == 2


def test_default_year_is_last_complete_year(tmp_path, tiny_raw):
    # The tiny data runs to January 2018: 2017 is the last complete year.
    assert run_build(tiny_raw, tmp_path / "out") == 0
    assert (tmp_path / "out" / "reports" / "2017" / "nokkeltall.csv").is_file()
    assert (tmp_path / "out" / "processed" / "2017" / "gevinster.parquet").is_file()


def test_as_of_picks_its_year(tmp_path, tiny_raw):
    assert run_build(tiny_raw, tmp_path / "out", "--as-of", "30.04.2017") == 0
    assert (tmp_path / "out" / "reports" / "2017-04-30" / "nokkeltall.csv").is_file()
    assert not (tmp_path / "out" / "reports" / "2017").exists()


def test_processed_datasets_written(tmp_path, tiny_raw):
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017") == 0
    names = {p.name for p in (tmp_path / "out" / "processed" / "2017").iterdir()}
    datasets = {"enheter", "gevinster", "enhet_maned", "enhet_ar", "tjenesteomrade_ar", "prikking"}
    stored = {"forbedringer", "mal", "kommentarer", "nokkeltall", "kontroller", "avvik"}
    assert names == {f"{n}.parquet" for n in datasets | stored} | {"meta.json"}


def test_help_and_version():
    out = _vtklean("--help")
    assert out.returncode == 0 and "build" in out.stdout and "sample" in out.stdout
    out = _vtklean("build", "--help")
    assert "--as-of" in out.stdout and "rapportåret" in out.stdout


def test_ctrl_c_while_the_command_imports_exits_130_without_traceback(tmp_path, tiny_raw):
    # The console script of pyproject.toml, run the way pip's wrapper runs it.
    scripts = tomllib.loads(
        (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    module, function = scripts["scripts"]["vtklean"].split(":")
    code = f"import sys; from {module} import {function} as f; sys.exit(f())"
    # The command line itself imports little; the build's heavy modules load when it starts.
    build = ["build", "--raw", str(tiny_raw), "--processed", str(tmp_path / "p")]
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-c", code, *build, "--reports", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # -X importtime writes a line as each import finishes: polars is done, the rest of the
    # command's modules (several seconds) are still importing when Ctrl-C comes.
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.split("|")[-1].strip() == "polars":
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = "".join(line for line in [*seen, *err.splitlines(True)] if "import time:" not in line)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert "Avbrutt (Ctrl-C)" in err
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


def test_raw_that_is_missing_or_a_file_is_a_usage_error(tmp_path, tiny_raw, capsys):
    cases = {
        tmp_path / "finnes-ikke": "finnes ikke",
        tiny_raw / "enheter.csv": "er en fil, ikke en mappe",
    }
    for raw, why in cases.items():
        assert run_build(raw, tmp_path / "out") == 2, raw
        err = capsys.readouterr().err
        assert f"Feil i kommandoen: --raw {raw} {why}. Ingenting er skrevet." in err, err
    assert not (tmp_path / "out").exists()


def test_sample_out_that_is_a_file_is_named_as_a_file(tmp_path, capsys):
    target = tmp_path / "enheter.csv"
    target.write_text("mine data\n", encoding="utf-8")
    assert cli.main(["sample", "--units", "40", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--out {target} er en fil, ikke en mappe" in err and "tabellfiler" not in err, err
    assert target.read_text(encoding="utf-8") == "mine data\n"
    assert [p.name for p in tmp_path.iterdir()] == ["enheter.csv"]


def test_the_console_command_ends_with_mains_code_and_all_its_output(tmp_path, tiny_raw):
    """After a good build the command exits at once; its output still reaches a pipe whole."""
    code = "from vtklean.__main__ import console; console()"
    out = tmp_path / "out"
    good = ["build", "--raw", str(tiny_raw), "--processed", str(out / "p")]
    run = subprocess.run(
        [sys.executable, "-c", code, *good, "--reports", str(out / "r"), "--data-only"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip().endswith(f"{out / 'r' / '2017' / 'index.html'}")
    bad = tmp_path / "bad"
    tables = helpers.tiny_tables()
    tables["gevinster"][0]["arsverk"] = 75.0
    raw = helpers.write_folder(bad / "raw", tables)
    args = ["build", "--raw", str(raw), "--processed", str(bad / "p"), "--reports", str(bad / "r")]
    run = subprocess.run(
        [sys.executable, "-c", code, *args, "--data-only"], capture_output=True, text=True
    )
    assert run.returncode == 1 and "Ingenting er skrevet" in run.stderr
