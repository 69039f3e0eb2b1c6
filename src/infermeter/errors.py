"""Errors a user can act on.

An :class:`InfermeterError` is printed as one line (no traceback unless ``--debug``) and ends the
command with a non-zero exit code. Anything else escaping is a bug in infermeter and keeps its
traceback.
"""


class InfermeterError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class WorkerError(InfermeterError):
    """A measurement worker process failed; carries the worker's traceback for ``--debug``."""

    exit_code = 3

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback
