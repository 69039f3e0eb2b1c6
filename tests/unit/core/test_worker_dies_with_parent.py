"""A measurement worker dies with the process that started it (no orphan measuring for minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

PARENT = """
import sys, time
from pathlib import Path
from infermeter.core.isolation import run_isolated
from tests.unit.core.test_worker_dies_with_parent import sleeper
run_isolated(sleeper, sys.argv[1])
"""


def sleeper(pid_file: str) -> dict:
    """The worker: say who it is, then 'measure' for an hour."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(3600)
    return {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_parent_takes_its_worker_with_it(tmp_path):
    pid_file = tmp_path / "worker.pid"
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(pid_file)], env=env, cwd=root, start_new_session=True)
    try:
        for _ in range(1200):  # the worker has started (spawn: seconds on a busy machine)
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        worker = psutil.Process(int(pid_file.read_text()))
        parent.send_signal(signal.SIGKILL)  # only the parent: the worker is not signalled
        parent.wait(60)
        worker.wait(60)  # returns once the kernel has ended it (psutil.TimeoutExpired otherwise)
        assert not worker.is_running()
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
