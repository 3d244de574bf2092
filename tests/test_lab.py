"""`make lab`: JupyterLab starts with the project's environment as the notebooks' kernel."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

from vtklean.core import paths

TOKEN = "vtklean-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, method: str = "GET", body: dict | None = None) -> dict | str:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"token {TOKEN}")
    with urllib.request.urlopen(req, timeout=10) as response:
        text = response.read().decode()
    return json.loads(text) if response.headers.get_content_type() == "application/json" else text


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make lab stopped with exit code {process.returncode}")
        try:
            _request(url)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("JupyterLab did not answer in time")


@pytest.fixture
def lab(tmp_path: Path):
    port = _free_port()
    flags = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--IdentityProvider.token={TOKEN}"
    )
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    process = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_FLAGS={flags}"],
        cwd=paths.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status", process)
        yield base, tmp_path / "runtime"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_make_lab_opens_jupyterlab_with_the_project_kernel(lab):
    base, runtime = lab
    page = _request(f"{base}/lab")
    assert "JupyterLab" in page
    contents = _request(f"{base}/api/contents")
    names = {item["name"] for item in contents["content"]}
    assert {"oversikt.ipynb", "pilot-effekter.ipynb"} <= names
    # The notebooks ask for `python3`; start it as JupyterLab would, then ask it who it is.
    specs = _request(f"{base}/api/kernelspecs")
    assert "python3" in specs["kernelspecs"]
    kernel = _request(f"{base}/api/kernels", "POST", {"name": "python3"})
    client = BlockingKernelClient()
    client.load_connection_file(str(runtime / f"kernel-{kernel['id']}.json"))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = (
            "import sys, vtklean, vtklean.model.pilot\nprint(sys.prefix)\nprint(vtklean.__file__)"
        )
        lines: list[str] = []
        client.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda msg: lines.extend(
                msg["content"].get("text", "").split() if msg["msg_type"] == "stream" else []
            ),
        )
    finally:
        client.stop_channels()
    prefix, module = lines
    assert Path(prefix).resolve() == (paths.ROOT / ".venv").resolve()
    assert Path(module).resolve().is_relative_to(paths.ROOT / "vtklean")
