"""Listing commands: ``presets``, ``backends``, ``workloads``, ``formats`` (what the registries hold)."""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from infermeter.backends.base import available_backends, get_backend
from infermeter.models.catalog import presets_text
from infermeter.render.formats import formats
from infermeter.workloads.base import available_workloads, workload_doc


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


def _cmd_presets(args: argparse.Namespace) -> int:
    print(presets_text(min(shutil.get_terminal_size().columns, 120)))
    return 0


def _cmd_backends(args: argparse.Namespace) -> int:
    for name in available_backends():
        print(f"{name:10s} {_first_line(get_backend(name).__doc__)}")
    return 0


def _cmd_workloads(args: argparse.Namespace) -> int:
    for name in available_workloads():
        print(f"{name:16s} {workload_doc(name)}")
    return 0


def _cmd_formats(args: argparse.Namespace) -> int:
    for f in formats():
        print(f"--{f.name:8s} {f.metavar:5s} {f.help}")
    return 0


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register the listing commands; returns their handlers."""
    sub.add_parser(
        "presets",
        help="list every --model name with its size: the embedded default and the presets",
        description="Every model name --model accepts besides your own files: the embedded default "
        "(real weights) and the presets (published architectures with seeded random weights).",
    )
    sub.add_parser("backends", help="list backends (--backend): in-process engines and HTTP clients")
    sub.add_parser("workloads", help="list workloads (--workload): datasets, synthetic and serving prompts")
    sub.add_parser("formats", help="list report formats (infermeter report --FORMAT TARGET)")
    return {"presets": _cmd_presets, "backends": _cmd_backends, "workloads": _cmd_workloads, "formats": _cmd_formats}
