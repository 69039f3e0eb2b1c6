"""Accuracy scorers: numeric (GSM8K style), exact, contains; list references; no reference."""

from __future__ import annotations

import pytest

from infermeter.metrics.accuracy import SCORERS, contains, exact, last_number, normalize, numeric, score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#### 1,234", 1234.0),  # GSM8K reference line, thousands separator
        ("Natalia sold 48 clips in April and 24 in May, 72 in total.", 72.0),  # last number wins
        ("$18.00", 18.0),
        ("The answer is -7.", -7.0),
        ("It costs 3.5 dollars", 3.5),
        ("He paid $1,000,000.50 in all", 1_000_000.5),
        ("The answer is 18.", 18.0),  # sentence-final period is not a decimal point
        ("no digits here", None),
        ("", None),
    ],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


@pytest.mark.parametrize(
    ("output", "reference", "expected"),
    [
        ("She makes 9 * 2 = $18 every day.\n#### 18", "18", 1.0),
        ("The answer is $18.00", "18", 1.0),  # "$18.00" vs "18"
        ("The answer is 18", "$18.00", 1.0),  # and the other way round
        ("so 1,234 in total", "#### 1,234", 1.0),
        ("so 1234 in total", "1,234", 1.0),
        ("It falls 3 degrees, to -3", "-3", 1.0),
        ("It falls to 3", "-3", 0.0),  # the sign matters
        ("half of it: 0.5", "0.5", 1.0),
        ("first 18, then corrected to 20", "18", 0.0),  # only the last number counts
        ("I do not know", "18", 0.0),  # no number in the output
        ("answer 18", "eighteen", 0.0),  # no number in the reference
        ("answer 18", 18, 1.0),  # a numeric reference (JSONL numbers)
        ("answer 18", 18.0, 1.0),
        ("answer 20", ["18", "20"], 1.0),  # list of acceptable answers
        ("answer 21", ["18", "20"], 0.0),
    ],
)
def test_numeric(output, reference, expected):
    assert numeric(output, reference) == expected


def test_normalize():
    assert normalize("  The  Eiffel-Tower!\n") == "the eiffel tower"
    assert normalize(42) == "42"


@pytest.mark.parametrize(
    ("output", "reference", "expected"),
    [
        ("Paris.", "paris", 1.0),  # case and punctuation ignored
        ("  New   York ", "new york", 1.0),  # whitespace collapsed
        ("Paris, France", "Paris", 0.0),  # exact is exact
        ("Lyon", ["Paris", "lyon"], 1.0),
        ("Nice", ("Paris", "Lyon"), 0.0),  # tuples work like lists
        ("42", 42, 1.0),
    ],
)
def test_exact(output, reference, expected):
    assert exact(output, reference) == expected


@pytest.mark.parametrize(
    ("output", "reference", "expected"),
    [
        ("I think it is Paris, the capital.", "paris", 1.0),
        ("The answer: NEW YORK!", "new york", 1.0),
        ("Parisian food", "paris", 0.0),  # whole words only
        ("Lyon, of course", ["Paris", "Lyon"], 1.0),
        ("anything at all", "", 0.0),  # an empty reference matches nothing
        ("anything at all", ["", "!!"], 0.0),  # nor one that normalizes to empty
    ],
)
def test_contains(output, reference, expected):
    assert contains(output, reference) == expected


def test_score_dispatch():
    assert set(SCORERS) == {"numeric", "exact", "contains"}
    assert score("numeric", "#### 18", "18") == 1.0
    assert score("exact", "Paris", "paris") == 1.0
    assert score("contains", "it is Paris", ["Lyon", "Paris"]) == 1.0
    assert score("contains", "it is Nice", ["Lyon", "Paris"]) == 0.0
    # no reference: not scored (None), rather than scored wrong (0.0)
    assert score("numeric", "#### 18", None) is None
    assert score("exact", "anything", None) is None
    # unknown scorer, e.g. synthetic items ("none"): not scored
    assert score("none", "text", "ref") is None
