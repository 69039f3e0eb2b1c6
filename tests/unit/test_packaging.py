"""Packaging facts that tools read: mypy checks the oldest Python that pyproject.toml promises."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_checks_the_oldest_supported_python():
    # mypy judges the standard library by this version: asyncio.timeout (3.11) passed unnoticed while
    # the package still claimed Python 3.10 and mypy was not run.
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    oldest = data["project"]["requires-python"].removeprefix(">=")
    assert data["tool"]["mypy"]["python_version"] == oldest
