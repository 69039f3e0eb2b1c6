"""A sweep grid's size: counted without building it; warned past 1,000 points, refused past 10,000."""

from __future__ import annotations

import pytest

from infermeter.errors import InfermeterError
from infermeter.scenarios.sweep import Knob, assignments
from infermeter.scenarios.sweep_size import HUGE, LARGE, grid_size, size_warning


@pytest.mark.parametrize("design", ["full", "one-at-a-time"])
def test_grid_size_counts_what_the_design_plans(design: str) -> None:
    knobs = [Knob("generation.top_k", [1, 2, 3]), Knob("generation.max_new_tokens", [4, 8]), Knob("seed", [0, 1, 2, 3])]
    assert grid_size(knobs, design) == len(assignments(knobs, design))


def test_small_grids_pass_large_ones_warn_with_count_and_estimate() -> None:
    assert size_warning(LARGE) is None
    line = size_warning(LARGE + 1)
    assert line is not None and "1,001 sweep points" in line and "at least 2.8 h" in line and "\n" not in line


def test_huge_grids_are_refused_unless_allowed() -> None:
    with pytest.raises(InfermeterError, match=r"10,001 sweep points: .* refused: .*--yes-large-sweep"):
        size_warning(HUGE + 1)
    assert "10,001 sweep points" in (size_warning(HUGE + 1, allow_large=True) or "")
