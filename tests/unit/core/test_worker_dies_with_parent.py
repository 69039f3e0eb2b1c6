"""A measurement worker dies with the process that started it (no orphan measuring for minutes)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
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
    """The worker: say who it is (through a FIFO the test reads), then 'measure' until it is killed."""
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    threading.Event().wait()  # never set: only the kernel ends this
    return {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_parent_takes_its_worker_with_it(tmp_path):
    pid_file = tmp_path / "worker.pid"
    os.mkfifo(pid_file)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(pid_file)], env=env, cwd=root, start_new_session=True)
    try:
        fd = os.open(pid_file, os.O_RDONLY | os.O_NONBLOCK)
        try:  # the event: the worker writes its pid (spawn takes seconds on a busy machine; 300 s = a hang)
            readable, _, _ = select.select([fd], [], [], 300)
            assert readable, "the worker never started"
            pid = int(os.read(fd, 64))
        finally:
            os.close(fd)
        worker = psutil.Process(pid)
        parent.send_signal(signal.SIGKILL)  # only the parent: the worker is not signalled
        parent.wait(60)
        worker.wait(60)  # returns once the kernel has ended it (psutil.TimeoutExpired otherwise)
        assert not worker.is_running()
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
