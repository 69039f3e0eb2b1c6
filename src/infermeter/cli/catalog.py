"""Listing commands: ``presets``, ``backends``, ``workloads``, ``formats`` (what the registries hold)."""

from __future__ import annotations

import argparse
from typing import Any

from infermeter.backends.base import available_backends, get_backend
from infermeter.config import DEFAULT_MODEL
from infermeter.models.presets import PRESETS
from infermeter.render.formats import formats
from infermeter.workloads.base import available_workloads, workload_doc


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""


def _cmd_presets(args: argparse.Namespace) -> int:
    print(f"{DEFAULT_MODEL:16s} {'llama':10s} {'0.135':>6s} B params  the default: SmolLM2-135M-Instruct, real weights")
    for name, p in PRESETS.items():
        print(f"{name:16s} {p.model_type:10s} {p.param_count() / 1e9:6.3f} B params  {p.notes}")
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
    sub.add_parser("presets", help="list model presets (the default model and real architectures)")
    sub.add_parser("backends", help="list backends (--backend): in-process engines and HTTP clients")
    sub.add_parser("workloads", help="list workloads (--workload): datasets, synthetic and serving prompts")
    sub.add_parser("formats", help="list report formats (infermeter report --FORMAT TARGET)")
    return {"presets": _cmd_presets, "backends": _cmd_backends, "workloads": _cmd_workloads, "formats": _cmd_formats}
