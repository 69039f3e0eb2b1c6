"""Options dataclasses filled from parsed flags: the ``rounds=args.rounds, ...`` lines written once."""

from __future__ import annotations

import argparse
from typing import Any


def flag_values(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{name: args.name}`` for flags whose options field has the same name (``--max-rounds``: ``max_rounds``).

    ``CompareOptions(**flag_values(args, "rounds", "calls"), metrics=...)``: the fields given beside it
    are the ones parsed or derived from their flags.
    """
    return {name: getattr(args, name) for name in names}
