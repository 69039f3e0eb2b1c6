"""Helpers for end-to-end tests: run the real CLI in a subprocess, the way a user does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# Parallel runs (`pytest -n 2 --dist loadfile`, as `make test` does): each file's tests stay together on one
# worker, in order (module fixtures are built once; test_servers.py's table reads the runs before it).
# Tests marked ``serial`` run afterwards, one at a time: the trace-timing test asserts how promptly the
# client sends, and the Ray tests each start a local cluster (two side by side would compete for ports
# and the two cores).


def run_cli(*args: str, tmp: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m infermeter ARGS`` in ``tmp``, recording into ``tmp/results.db`` (never the user's database).

    ``timeout`` only catches a hang (a busy 2-core CI machine makes a seconds-long run take minutes).
    """
    env = {**os.environ, "INFERMETER_DB": str(tmp / "results.db")}
    cmd = [sys.executable, "-m", "infermeter", *args]
    return run_group(cmd, cwd=tmp, env=env, timeout=timeout)


def run_group(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a new process group; on timeout the whole group is killed (the CLI *and* its
    workers), then the test fails with what the command had printed."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd[2:])} ran past {timeout:g} s; killed with its process group\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_json(*args: str, tmp: Path) -> dict:
    """Run ``infermeter run --json`` and return the parsed report (failing loudly otherwise)."""
    proc = run_cli("run", "--json", "--output", str(tmp / "results"), *args, tmp=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


TINY = (
    "--model",
    "tiny-qwen3",
    "--prompt-lens",
    "16,32",
    "--batch-sizes",
    "1,2",
    "--repeats",
    "2",
    "--set",
    "measure.max_repeats=2",
    "--set",
    "probe_prompt_len=16",
    "--set",
    "probe_output_len=6",
)


@pytest.fixture
def tiny_args() -> tuple[str, ...]:
    """Flags for a seconds-long run on the tiny random Qwen3."""
    return TINY


@pytest.fixture
def null_server():  # noqa: ANN201 - a factory fixture
    """Start ``infermeter serve-null ARGS`` on 127.0.0.1 (free port): ``srv = null_server("--tokens", "32")``.

    Each returned :class:`~infermeter.servers.null.NullServerProcess` has ``url``, ``kill()`` and
    ``stop()``; every server started is stopped after the test.
    """
    from infermeter.servers.null import NullServerProcess

    started: list[NullServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> NullServerProcess:
        srv = NullServerProcess(*args, env=env).__enter__()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


RAY_STORE = 80 * 2**20  # Ray's object store per node: the smallest it accepts (records and results are small)


@pytest.fixture(scope="module")
def cluster():  # noqa: ANN201 - yields a ray.cluster_utils.Cluster
    """Two logical Ray nodes on this machine, one CPU each (Ray's own test-cluster utilities); the CLI under
    test joins it as a separate driver. Skipped without Ray (the ``ray`` extra)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": RAY_STORE, "include_dashboard": False},
    )
    c.add_node(num_cpus=1, object_store_memory=RAY_STORE)
    c.wait_for_nodes()
    yield c
    ray.shutdown()  # executors in this process stay connected for later runs: disconnect before the nodes go
    c.shutdown()
