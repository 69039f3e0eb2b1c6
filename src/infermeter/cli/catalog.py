"""Listing commands: ``presets``, ``backends``, ``workloads``, ``formats`` (what the registries hold)."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from typing import Any

from infermeter.backends.base import available_backends, get_backend
from infermeter.models.catalog import presets_text
from infermeter.render.formats import formats
from infermeter.workloads.base import available_workloads, workload_doc


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


def _presets() -> list[str]:
    return [presets_text(min(shutil.get_terminal_size().columns, 120))]


def _backends() -> list[str]:
    return [f"{name:10s} {_first_line(get_backend(name).__doc__)}" for name in available_backends()]


def _workloads() -> list[str]:
    return [f"{name:16s} {workload_doc(name)}" for name in available_workloads()]


def _formats() -> list[str]:
    return [f"--{f.name:8s} {f.metavar:5s} {f.help}" for f in formats()]


# name -> (its lines, --help, description)
_LISTINGS: dict[str, tuple[Callable[[], list[str]], str, str | None]] = {
    "presets": (
        _presets,
        "list every --model name with its size: the embedded default and the presets",
        "Every model name --model accepts besides your own files: the embedded default "
        "(real weights) and the presets (published architectures with seeded random weights).",
    ),
    "backends": (_backends, "list backends (--backend): in-process engines and HTTP clients", None),
    "workloads": (_workloads, "list workloads (--workload): datasets, synthetic and serving prompts", None),
    "formats": (_formats, "list report formats (infermeter report --FORMAT TARGET)", None),
}


def _listing(lines: Callable[[], list[str]]) -> Callable[[argparse.Namespace], int]:
    """The handler of a listing command: print its lines."""

    def handler(args: argparse.Namespace) -> int:
        for line in lines():
            print(line)
        return 0

    return handler


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register the listing commands; returns their handlers."""
    for name, (_, help_, description) in _LISTINGS.items():
        sub.add_parser(name, help=help_, description=description)
    return {name: _listing(lines) for name, (lines, _, _) in _LISTINGS.items()}
