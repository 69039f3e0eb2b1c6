"""Waiting on file-system events (Linux inotify), so a test blocks until something is written instead of
re-checking on a timer.

``FolderWatch(root).until(ready, timeout_s)`` calls ``ready()`` once, then again after every batch of
events under ``root`` (files created, written, closed or renamed; folders made later are watched as they
appear), and returns its first truthy answer. The timeout only bounds a hang: nothing is decided by it.
``wake()``, from another thread, makes a pending ``until`` ask ``ready()`` again (say, after a stop flag is set).
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import time
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen
from typing import TypeVar

T = TypeVar("T")

_IN_MODIFY, _IN_CLOSE_WRITE, _IN_MOVED_TO, _IN_CREATE = 0x2, 0x8, 0x80, 0x100
_IN_ISDIR = 0x40000000
_MASK = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class FolderWatch:
    """An inotify watch on ``root`` and every folder below it (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.folders: dict[int, str] = {}  # watch descriptor -> folder
        self.woken = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)  # readable after wake()
        self._watch_tree(str(root))

    def _watch_tree(self, folder: str) -> None:
        # Watch first, then list: a folder made between the two is still seen (by the listing or an event).
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(folder), _MASK)
        if wd < 0:  # gone already, or not a folder
            return
        self.folders[wd] = folder
        try:
            subfolders = [e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for sub in subfolders:
            self._watch_tree(sub)

    def _drain(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        pos = 0
        while pos < len(data):
            wd, mask, _, size = _EVENT.unpack_from(data, pos)
            name = data[pos + _EVENT.size : pos + _EVENT.size + size].rstrip(b"\0")
            pos += _EVENT.size + size
            if mask & _IN_ISDIR and mask & (_IN_CREATE | _IN_MOVED_TO) and wd in self.folders:
                self._watch_tree(os.path.join(self.folders[wd], os.fsdecode(name)))

    def until(self, ready: Callable[[], T | None], timeout_s: float, what: str, proc: Popen | None = None) -> T:
        """``ready()``'s first truthy answer, checked now and after each batch of events. With ``proc``, its
        exit is an event too: ``ChildProcessError`` when it ended and ``ready()`` still says no."""
        end = time.monotonic() + timeout_s
        exited = os.pidfd_open(proc.pid) if proc is not None else None  # readable once the process ends
        try:
            while True:
                got = ready()
                if got:
                    return got
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}: not seen within {timeout_s:g} s")
                fds = [self.fd, self.woken] if exited is None else [self.fd, self.woken, exited]
                readable, _, _ = select.select(fds, [], [], left)
                if self.woken in readable:
                    os.eventfd_read(self.woken)
                if self.fd in readable:
                    self._drain()
                elif exited is not None and exited in readable:
                    got = ready()
                    if got:
                        return got
                    raise ChildProcessError(f"{what}: the process ended first (exit {proc.wait()})")
        finally:
            if exited is not None:
                os.close(exited)

    def wake(self) -> None:
        """Make a pending (or the next) ``until`` call ``ready()`` again; safe from any thread."""
        os.eventfd_write(self.woken, 1)

    def close(self) -> None:
        """Stop watching."""
        os.close(self.fd)
        os.close(self.woken)

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
