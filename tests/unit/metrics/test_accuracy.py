"""Accuracy scorers: numeric (GSM8K style), exact, contains, choice letters, official VQA accuracy;
list references; no reference. Expected values are computed by hand (see the comments)."""

from __future__ import annotations

import pytest

from infermeter.metrics.accuracy import (
    SCORERS,
    choice,
    chosen_letter,
    contains,
    exact,
    last_number,
    normalize,
    numeric,
    score,
    vqa,
    vqa_digits_articles,
    vqa_normalize,
    vqa_punctuation,
)


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
    assert set(SCORERS) == {"numeric", "exact", "contains", "choice", "vqa"}
    assert score("choice", "Answer: B", "B") == 1.0
    assert score("vqa", "two", ["2"] * 10) == 1.0
    assert score("numeric", "#### 18", "18") == 1.0
    assert score("exact", "Paris", "paris") == 1.0
    assert score("contains", "it is Paris", ["Lyon", "Paris"]) == 1.0
    assert score("contains", "it is Nice", ["Lyon", "Paris"]) == 0.0
    # no reference: not scored (None), rather than scored wrong (0.0)
    assert score("numeric", "#### 18", None) is None
    assert score("exact", "anything", None) is None
    # unknown scorer, e.g. synthetic items ("none"): not scored
    assert score("none", "text", "ref") is None


# -- multiple choice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Answer: C", "C"),
        ("Let me think step by step.\n...so the energy must be larger.\nAnswer: D", "D"),
        ("The answer is (B).", "B"),
        ("The answer is B because the lifetime is shorter.", "B"),
        ("**Answer:** A", "A"),
        ("Answer: $C$", "C"),
        ("answer: c", "C"),  # lower case after an explicit "answer:"
        ("Final answer: \\boxed{D}", "D"),
        ("(C)", "C"),
        ("I pick [B]", "B"),
        ("C. 10^-4 eV", "C"),
        ("B) 10^-8 eV\nbecause ...", "B"),
        ("D", "D"),
        (" c. ", "C"),  # the whole output is the letter
        ("The correct option is C", "C"),
        ("Option A is wrong. Answer: C. Option D is also wrong.", "C"),  # "answer" beats "option"
        ("First I thought (A), but (C) fits better.", "C"),  # the last of equally trusted matches
        ("A photon is emitted, so Answer: B", "B"),  # "A photon" is English, not a choice
        ("I think it is the second one", None),  # "I" is a pronoun
        ("The answer is a photon", None),  # article, not a letter
        ("Answer: E", "E"),  # a letter beyond D is extracted (and then simply wrong for GPQA)
        ("no idea", None),
        ("", None),
    ],
)
def test_chosen_letter(text, letter):
    assert chosen_letter(text) == letter


def test_choice_score():
    assert choice("Answer: C", "C") == 1.0
    assert choice("Answer: C", "c") == 1.0  # the reference letter's case does not matter
    assert choice("Answer: C", "B") == 0.0
    assert choice("I cannot tell", "A") == 0.0  # nothing chosen is wrong, not unscored
    assert choice("(B)", ["A", "B"]) == 1.0


# -- VQA: the official normalization, rule by rule -----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Two.", "2"),  # final period dropped, number word -> digit
        ("Ten", "10"),
        ("none", "0"),  # the official map sends "none" to "0"
        ("eleven", "eleven"),  # only zero..ten are mapped
        ("The Dog", "dog"),  # lower case, article dropped
        ("an apple a day", "apple day"),  # every a / an / the goes
        ("t-shirt", "t shirt"),  # a mark inside a word becomes a space
        ("yes , sir", "yes sir"),  # a mark next to a space is deleted
        ("red,blue", "red blue"),
        ("1,000", "1000"),  # digit-comma-digit: every mark is deleted, "1,000" -> "1000"
        ("3.5", "3.5"),  # a period before a digit stays
        ("e.g", "eg"),  # other periods go
        ("dont", "don't"),  # contractions restored
        ("isnt it", "isn't it"),
        ("whats that", "what's that"),
        ("hello?!", "hello"),
        ("  two\tdogs\n", "2 dogs"),  # tabs / newlines are spaces; whitespace collapsed
        ("50%", "50%"),  # % and ' and : are not in the official list
        ("o'clock", "o'clock"),
    ],
)
def test_vqa_normalize(raw, normalized):
    assert vqa_normalize(raw) == normalized


def test_vqa_steps_apart():
    # Decided mark by mark: "," stands next to a space (deleted), "-" does not (a space).
    assert vqa_punctuation("t-shirt, please") == "t shirt please"
    assert vqa_punctuation("t-shirt, 1,5") == "tshirt 15"  # a digit-comma-digit anywhere: all deleted
    assert vqa_punctuation("(a)") == " a "
    assert vqa_digits_articles("The THREE Bears") == "3 bears"


# m of the 10 annotators gave the answer. Leaving out one of those m leaves m-1 matches, leaving
# out one of the others leaves m: accuracy = (m * min(1, (m-1)/3) + (10-m) * min(1, m/3)) / 10.
@pytest.mark.parametrize(
    ("m", "expected"),
    [
        (0, 0.0),
        (1, 0.3),  # (1*0 + 9*1/3) / 10
        (2, 0.6),  # (2*1/3 + 8*2/3) / 10
        (3, 0.9),  # (3*2/3 + 7*1) / 10
        (4, 1.0),  # (4*1 + 6*1) / 10
        (10, 1.0),
    ],
)
def test_vqa_annotator_subsets(m, expected):
    answers = ["cat"] * m + ["dog"] * (10 - m)
    assert vqa("cat", answers) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("output", "answers", "expected"),
    [
        ("Two.", ["2"] * 10, 1.0),  # the output is normalized even when the annotators agree
        ("two", ["2"] * 2 + ["3"] * 8, 0.6),
        ("The dog.", ["dog"] * 3 + ["puppy"] * 7, 0.9),
        ("T-shirt", ["t-shirt"] * 4 + ["shirt"] * 6, 1.0),  # annotators disagree: theirs lose "-" too
        ("dont know", ["don't know"] * 10, 1.0),
        ("1,000", ["1000"] * 10, 1.0),
        # Annotator answers only get the punctuation step: the VQA files hold them normalized
        # already, so an un-normalized "a dog" in a file never matches (as in the official code).
        ("a dog", ["a dog"] * 10, 0.0),
        ("cat", [], 0.0),
    ],
)
def test_vqa_accuracy(output, answers, expected):
    assert vqa(output, answers) == pytest.approx(expected)


def test_vqa_single_ground_truth():
    # easy-VQA has one answer per question: equal after normalization scores 1, else 0.
    assert vqa("Circle.", "circle") == 1.0
    assert vqa("a circle", "circle") == 1.0
    assert vqa("three", 3) == 1.0
    assert vqa("square", "circle") == 0.0
    assert vqa("it is a circle", "circle") == 0.0  # VQA compares whole answers, not containment
