"""Keeping one measurement from polluting the next: releasing models and verifying the release."""

from infermeter.optimize.cleanup import (
    LEVELS,
    CleanupReport,
    MemorySnapshot,
    cleanup,
    inference_session,
    snapshot,
)

__all__ = ["LEVELS", "CleanupReport", "MemorySnapshot", "cleanup", "inference_session", "snapshot"]
