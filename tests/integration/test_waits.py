"""The inotify wait used by the process tests: woken by writes in folders made after it started, and by the
exit of the process it watches."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .waits import FolderWatch

pytestmark = pytest.mark.integration


def test_a_file_in_folders_made_while_waiting_wakes_it(tmp_path: Path) -> None:
    def write() -> None:
        (tmp_path / "a" / "b" / "c").mkdir(parents=True)
        (tmp_path / "a" / "b" / "c" / "records.jsonl").write_text("{}\n")

    with FolderWatch(tmp_path) as watch:
        threading.Thread(target=write).start()  # before or during the wait: both must be seen
        found = watch.until(lambda: next(tmp_path.glob("*/*/*/records.jsonl"), None), 60, "the record")
    assert found.read_text() == "{}\n"


def test_the_watched_process_ending_first_is_an_answer_not_a_hang(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    with FolderWatch(tmp_path) as watch, pytest.raises(ChildProcessError, match="ended first"):
        watch.until(lambda: None, 60, "nothing", proc=proc)


def test_wake_makes_a_pending_wait_ask_again(tmp_path: Path) -> None:
    stop, answers = threading.Event(), []
    with FolderWatch(tmp_path) as watch:
        waiter = threading.Thread(target=lambda: answers.append(watch.until(stop.is_set, 120, "the stop flag")))
        waiter.start()
        stop.set()
        watch.wake()  # no file-system event: only the wake ends the wait (else a TimeoutError, no answer)
        waiter.join()
    assert answers == [True]
