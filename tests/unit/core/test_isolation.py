"""run_isolated: a fresh spawned worker per call, results and errors carried back.

``spawn`` pickles the target by reference and tests are imported with --import-mode=importlib (not
importable by name in the child), so the targets are functions that live in importable modules.
"""

from __future__ import annotations

import os

import pytest

from infermeter.config import WorkloadConfig
from infermeter.core.isolation import run_isolated
from infermeter.errors import InfermeterError, WorkerError
from infermeter.workloads.base import load_items


def test_process_mode_returns_the_dict():
    assert run_isolated(dict, {"a": 1, "b": [1, 2]}) == {"a": 1, "b": [1, 2]}


def test_process_mode_crash_becomes_worker_error_with_traceback():
    with pytest.raises(WorkerError) as err:
        run_isolated(int, "x")  # ValueError in the child
    assert str(err.value) == "the worker failed: ValueError: invalid literal for int() with base 10: 'x'"
    assert "Traceback (most recent call last)" in err.value.traceback
    assert "ValueError" in err.value.traceback
    assert err.value.exit_code == 3


def test_process_mode_user_error_stays_a_user_error():
    with pytest.raises(InfermeterError) as err:
        run_isolated(load_items, WorkloadConfig(kind="jsonl"))  # no path: InfermeterError in the child
    assert type(err.value) is InfermeterError  # not a WorkerError: the user can fix it
    assert str(err.value) == "workload kind jsonl needs a file: --dataset PATH"
    assert err.value.exit_code == 2


def test_process_mode_worker_dying_without_a_result():
    with pytest.raises(WorkerError, match=r"died without a result \(exit code 7;"):
        run_isolated(os._exit, 7)


def test_inline_mode_runs_in_this_process():
    calls = []

    def target(payload):  # a closure: could never be pickled for a child process
        calls.append(payload)
        return {"pid": os.getpid(), "payload": payload}

    assert run_isolated(target, 5, mode="inline") == {"pid": os.getpid(), "payload": 5}
    assert calls == [5]


def test_inline_mode_passes_errors_through():
    with pytest.raises(InfermeterError, match="needs a file"):
        run_isolated(load_items, WorkloadConfig(kind="jsonl"), mode="inline")
