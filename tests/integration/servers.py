"""Real OpenAI-compatible servers on 127.0.0.1 for the integration tests, as session fixtures.

* ``llama_server``: ``llama-cpp-python[server]`` (in ``.venv``) serving the embedded SmolLM2 GGUF.
* ``vllm_server``: vLLM on CPU (``.venv-vllm``, docs/metrics.md) serving the same model converted to
  safetensors (``infermeter.models.export``; cached, never downloaded).

Each starts on a free port under ``listening.py``, which prints one line once uvicorn's sockets listen; the
test reads the output until that line, then checks once that ``/v1/models`` answers (a timeout or its exit
fails with the tail of its log); each is stopped after the session. Missing environments skip the tests
on a developer's machine and fail under CI, where ``make test`` installs them.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infermeter.servers.null import free_port

from .listening import READY

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
LISTENING_PY = Path(__file__).with_name("listening.py")


def missing(what: str, how: str) -> None:
    """Skip locally; under CI (where `make test` installs everything) fail."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing under CI: `make test` should have installed it ({how})")
    pytest.skip(f"needs {what}: {how}")


@dataclass
class Server:
    """A started server: its base URL, process and log file."""

    name: str
    url: str
    proc: subprocess.Popen
    log: Path

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the server's output."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=30) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tee(proc: subprocess.Popen, log: Path, ready: threading.Event) -> None:
    """Copy the server's output to ``log``; set ``ready`` at the READY line (or at the output's end)."""
    with log.open("w", encoding="utf-8") as f:
        for line in proc.stdout:
            f.write(line)
            f.flush()
            if READY in line:
                ready.set()
    ready.set()


def start_server(
    name: str, module_args: list[str], python: str, port: int, log: Path, timeout_s: float, env: dict | None = None
) -> Server:
    """Start ``python -m MODULE ARGS`` (serving on ``port``) under listening.py, wait for its READY line, then
    check that ``/v1/models`` answers."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    cmd = [python, str(LISTENING_PY), *module_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True,
                            encoding="utf-8", errors="replace")  # fmt: skip
    server = Server(name, f"http://127.0.0.1:{port}", proc, log)
    ready = threading.Event()
    threading.Thread(target=_tee, args=(proc, log, ready), daemon=True).start()
    if not ready.wait(timeout_s):
        stop_server(server)
        pytest.fail(f"{name} was not listening within {timeout_s:.0f} s; its log:\n{server.tail()}")
    if proc.poll() is not None:
        pytest.fail(f"{name} exited with code {proc.wait()} before listening; its log:\n{server.tail()}")
    if not _answers(server.url):
        stop_server(server)
        pytest.fail(f"{name} listens but /v1/models does not answer; its log:\n{server.tail()}")
    return server


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """llama.cpp's OpenAI server on the embedded SmolLM2 GGUF."""
    if importlib.util.find_spec("llama_cpp") is None:
        missing("llama-cpp-python[server]", "make llama-server")
    from infermeter.models.resolve import embedded_gguf

    port = free_port()
    cmd = ["llama_cpp.server", "--model", str(embedded_gguf())]
    cmd += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        os.environ.get("OMP_NUM_THREADS", "2"),
    ]
    # It serves one request at a time and by default aborts the stream in flight when another
    # arrives; queue them instead, so concurrent clients all get their answers.
    cmd += ["--interrupt_requests", "False"]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    server = start_server("llama.cpp server", cmd, sys.executable, port, log, 120)
    yield server
    stop_server(server)


def vllm_env_or_skip() -> Path:
    """The vLLM venv's python, or skip/fail (CI) when it is missing."""
    if not VLLM_PYTHON.is_file():
        missing("the vLLM venv .venv-vllm", "make vllm-env")
    return VLLM_PYTHON


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """vLLM's OpenAI server (CPU) on SmolLM2 converted to safetensors."""
    python = vllm_env_or_skip()
    from infermeter.models.export import hf_folder

    folder = hf_folder("smollm2-135m")
    port = free_port()
    cmd = ["vllm.entrypoints.openai.api_server", "--model", str(folder)]
    cmd += ["--dtype", "bfloat16", "--max-model-len", "2048", "--host", "127.0.0.1", "--port", str(port)]
    # --enforce-eager: no torch.compile warm-up (minutes on 2 cores the first time); the benchmarks in
    # docs/benchmarks.md say which mode they measured.
    cmd += ["--served-model-name", "smollm2-135m", "--enforce-eager"]
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = start_server("vLLM server", cmd, str(python), port, log, 420, env={"VLLM_CPU_KVCACHE_SPACE": "2"})
    yield server
    stop_server(server)
