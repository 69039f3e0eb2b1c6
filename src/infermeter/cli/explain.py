"""``infermeter explain TERM`` (what a metric name means) and the config-key list of ``run --help``."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from pydantic import BaseModel

from infermeter.config import RunConfig
from infermeter.errors import InfermeterError
from infermeter.metrics.glossary import TERMS, explain, find


def config_keys_epilog(width: int = 100) -> str:
    """Every config key (``--set KEY=V``, or the YAML section), its default and what it does."""
    lines = ["config keys (--set KEY=V, or the same key under its section in a YAML --config):"]

    def add(name: str, default: Any, text: str) -> None:
        head = f"  {name} = {default!r}"
        body = textwrap.wrap((text or "").replace("%%", "%"), width - 8)  # %% is argparse's escape
        lines.append(head if not body else f"{head}: {body[0]}")
        lines.extend(f"        {b}" for b in body[1:])

    for name, field in RunConfig.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for key, sub in ann.model_fields.items():
                add(f"{name}.{key}", sub.get_default(call_default_factory=True), sub.description or "")
        else:
            add(name, field.get_default(call_default_factory=True), field.description or "")
    lines.append("A key needs its section only where the name is ambiguous: --set max_new_tokens=64.")
    return "\n".join(lines)


def add_parsers(sub: Any) -> dict[str, Any]:
    """Register ``explain``; returns name -> handler."""
    p = sub.add_parser(
        "explain",
        help="what a metric name on the console means (TTFT, TPOT, ITL, decode TPS, ...)",
        description="Explain a metric name in plain words: its newcomer name, its precise name, unit, "
        "which direction is better, and its definition. With no TERM: every term.",
    )
    p.add_argument("term", nargs="*", metavar="TERM", help="a metric name as printed, e.g. TPOT or 'ITL (pooled gaps)'")
    return {"explain": _cmd_explain}


def _cmd_explain(args: argparse.Namespace) -> int:

    if not args.term:
        for t in TERMS:  # the precise name, then the plain one: fits 80 columns
            print(f"{t.key:18s} {t.precise.split(' (')[0]}: {t.plain}")
        print("infermeter explain TERM says more; the same list is in docs/metrics.md")
        return 0
    term = " ".join(args.term)
    if find(term) is None:
        raise InfermeterError(explain(term))
    print(explain(term))
    return 0
