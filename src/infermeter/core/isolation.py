"""Run one measured configuration in a fresh worker process .

A fresh ``spawn``-ed interpreter guarantees that nothing from an earlier configuration (allocator
state, compiled graphs, a half-freed model, warm caches) leaks into the next one: the classic
way an A/B comparison lies. The worker returns a plain dict, or its traceback. ``inline`` runs the same function in
this process, for debugging; reports say it is less trustworthy.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from infermeter.errors import InfermeterError, WorkerError

_INITIALIZERS: list[Callable[[], None]] = []
# A worker that re-imports a script without a main guard exits with this code (see below).
MAIN_GUARD_EXIT = 87
MAIN_GUARD_HELP = (
    "this script starts measurements when it is imported, and workers are spawned processes that "
    're-import it: put the calls under `if __name__ == "__main__":` (notebooks and `python -c` need nothing)'
)


def refuse_while_importing_main() -> None:
    """In a spawned worker that is still importing the parent's script, exit with ``MAIN_GUARD_EXIT``.

    Without a main guard the worker would run the script's measurement again and crash inside
    multiprocessing; exiting quietly with a known code lets the parent explain it in one line.
    """
    if getattr(mp.current_process(), "_inheriting", False):
        raise SystemExit(MAIN_GUARD_EXIT)


def add_worker_initializer(fn: Callable[[], None]) -> None:
    """Run ``fn()`` in every worker before its measurement (and once now, for inline runs).

    Upper layers hook in this way (the results database listens to records) without the scenarios
    knowing them. ``fn`` must be importable at module level: spawn pickles it by reference.
    """
    if fn not in _INITIALIZERS:
        _INITIALIZERS.append(fn)
        fn()


def die_with_parent(parent_pid: int) -> None:
    """End this process when its parent dies (Linux ``PR_SET_PDEATHSIG``), so a killed CLI leaves no orphan
    measuring for minutes; elsewhere, and if the parent is already gone, the check below still holds."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _entry(
    fn: Callable[[Any], dict],
    payload: Any,
    conn: Any,
    initializers: list[Callable[[], None]],
    parent_pid: int | None = None,
) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    try:
        for init in initializers:
            init()
        conn.send(("ok", fn(payload)))
    except InfermeterError as err:
        conn.send(("user_error", str(err)))
    except BaseException as err:  # everything else is reported with its traceback
        conn.send(("crash", f"{type(err).__name__}: {err}", traceback.format_exc()))
    finally:
        conn.close()


def run_isolated(fn: Callable[[Any], dict], payload: Any, mode: str = "process") -> dict:
    """Call ``fn(payload)`` in a fresh spawned process (or inline) and return its dict.

    ``fn`` must be importable at module level (spawn pickles it by reference).
    """
    refuse_while_importing_main()
    if mode == "inline":
        return fn(payload)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_entry, args=(fn, payload, child, list(_INITIALIZERS), os.getpid()), daemon=False)
    try:
        proc.start()
        child.close()
        msg = parent.recv()
    except KeyboardInterrupt:
        # Interrupted while the worker starts or measures: stop it too, quietly, so nothing keeps running.
        if proc.pid is not None:
            proc.terminate()
            proc.join(10)
        raise
    except EOFError:
        proc.join()
        if proc.exitcode == MAIN_GUARD_EXIT:
            raise InfermeterError(MAIN_GUARD_HELP) from None
        raise WorkerError(
            f"the worker process died without a result (exit code {proc.exitcode}; "
            "out of memory or a crash in native code?)"
        ) from None
    finally:
        parent.close()
    proc.join()
    if msg[0] == "ok":
        return msg[1]
    if msg[0] == "user_error":
        raise InfermeterError(msg[1])
    raise WorkerError(f"the worker failed: {msg[1]}", msg[2])
