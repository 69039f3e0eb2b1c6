"""Compare planning: balanced seeded orders, option validation, --variant parsing."""

from __future__ import annotations

import pytest

from infermeter.cli.flags import split_pairs as _split_pairs
from infermeter.errors import InfermeterError
from infermeter.scenarios.compare import CompareOptions
from infermeter.scenarios.compare_workers import balanced_orders


def test_orders_are_seeded_and_balanced() -> None:
    orders = balanced_orders(2, 6, seed=3)
    assert orders == balanced_orders(2, 6, seed=3)
    assert all(orders[i + 1] == list(reversed(orders[i])) for i in range(0, 6, 2))  # ABBA pairs
    firsts = [o[0] for o in orders]
    assert firsts.count(0) == firsts.count(1) == 3  # each variant runs first equally often
    three = balanced_orders(3, 4, seed=1)
    assert all(sorted(o) == [0, 1, 2] for o in three)


@pytest.mark.parametrize(
    ("kwargs", "n", "message"),
    [
        ({}, 1, "at least two variants"),
        ({"metrics": ("speed",)}, 2, "unknown metric"),
        ({"warmup": "hot"}, 2, "unknown warm-up"),
        ({"cleanup": "all"}, 2, "unknown cleanup"),
        ({"calls": 1}, 2, "calls must be >= 2"),
        ({"rounds": 1}, 2, "rounds must be >= 2"),
        ({"isolation": "thread"}, 2, "isolation"),
    ],
)
def test_invalid_options(kwargs, n, message) -> None:
    with pytest.raises(InfermeterError, match=message):
        CompareOptions(**kwargs).validate(n)


def test_variant_pairs() -> None:
    assert _split_pairs("compile=on,cache=static") == {"compile": "on", "cache": "static"}
    assert _split_pairs("batch_sizes=[1,2,4],top_p=0.9") == {"batch_sizes": [1, 2, 4], "top_p": 0.9}
    with pytest.raises(InfermeterError):
        _split_pairs("no-equals-sign")
