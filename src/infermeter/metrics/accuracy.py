"""Accuracy scorers: functions of (output text, reference) -> score in [0, 1].

* ``numeric``: GSM8K style; the last number in the output equals the reference number.
* ``exact``: normalized output equals a reference; ``contains``: a normalized reference occurs in
  the normalized output. Normalization lowercases, drops punctuation and collapses whitespace.
* ``choice``: multiple choice; the letter the output chose (:func:`chosen_letter`) equals the
  reference letter.
* ``vqa``: the official VQA accuracy over ten annotator answers (:func:`vqa`).
A reference may be a list of acceptable answers (any match scores 1; ``vqa``: the annotators).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Commas only as thousands separators ("1,2,3" is a list), a leading dot is a decimal (".5").
_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(?:\.\d+)?|-?\.\d+")
_TOKEN = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*|\w+")


def last_number(text: str) -> float | None:
    """The last number written in ``text`` (thousands separators allowed), or None."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    s = m.group()
    if s.startswith("-") and m.start() > 0 and text[m.start() - 1].isalnum():
        s = s[1:]  # "5-6" or "2023-10-05": a range or a date, not a negative number
    return float(s.replace(",", ""))


def normalize(text: str) -> str:
    """Lowercase words and numbers separated by single spaces; other punctuation dropped.

    Numbers keep their sign and decimal point ("-3" is not "3", "3.5" is not "35").
    """
    return " ".join(_TOKEN.findall(str(text).lower()))


def _refs(reference: Any) -> list[Any]:
    return list(reference) if isinstance(reference, (list, tuple)) else [reference]


def numeric(output: str, reference: Any) -> float:
    """1.0 when the output's last number equals a reference number."""
    got = last_number(output)
    if got is None:
        return 0.0
    for ref in _refs(reference):
        want = last_number(str(ref))
        if want is not None and abs(got - want) < 1e-6 * max(1.0, abs(want)):
            return 1.0
    return 0.0


def exact(output: str, reference: Any) -> float:
    """1.0 when the normalized output equals a normalized reference."""
    out = normalize(output)
    return float(any(out == normalize(ref) for ref in _refs(reference)))


def contains(output: str, reference: Any) -> float:
    """1.0 when a normalized reference occurs in the normalized output."""
    out = f" {normalize(output)} "
    return float(any(f" {normalize(ref)} " in out for ref in _refs(reference) if normalize(ref)))


# -- multiple choice ------------------------------------------------------------------------------
# A letter that stands alone: not inside a word, and "A"/"I" not followed by a lowercase word
# ("A photon...", "I think..." are English, not choices).
_L = r"(?:[B-HJ]|[AI](?![ \t]+[a-z]))(?![\w'])"
_CHOICE_PATTERNS = [
    re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?({_L})\}}"),  # "\boxed{C}"
    # "Answer: C", "the answer is (C)", "**Answer:** C", "Answer: $C$"
    re.compile(rf"(?i:answer)\**\s*(?:(?i:is)\s*)?[:=]?\**\s*[(\[$]?\**({_L})"),
    re.compile(r"(?i:answer)\s*[:=]\s*[(\[]?([a-j])(?![\w'])"),  # "answer: c", lower case after a colon
    re.compile(rf"(?i:option|choice)\s*(?:(?i:is)\s*)?[:=]?\s*[(\[]?({_L})"),  # "correct option is C"
    re.compile(rf"[(\[]({_L})[)\]]"),  # "(C)", "[C]"
    re.compile(rf"^\W*({_L})\s*[.):](?:\s|$)", re.MULTILINE),  # a line starting "C." / "C)" / "C:"
    re.compile(r"^\W*([A-Ja-j])\W*$"),  # the whole output is the letter, in either case
]


def chosen_letter(text: str) -> str | None:
    """The option letter an output chose, or None when it chose none recognisably.

    Patterns in order of trust; within the first that matches, the last occurrence wins (models
    reason first and conclude with "Answer: C").
    """
    for rx in _CHOICE_PATTERNS:
        found = rx.findall(text)
        if found:
            return found[-1].upper()
    return None


def choice(output: str, reference: Any) -> float:
    """1.0 when the letter the output chose equals a reference letter."""
    got = chosen_letter(output)
    return float(got is not None and any(got == str(ref).strip().upper() for ref in _refs(reference)))


# -- VQA accuracy (the official evaluation, GT-Vision-Lab/VQA vqaEval.py) -------------------------
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're",
    "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}  # fmt: skip
_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = ("a", "an", "the")
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")  # sic: the official pattern; drops "." not before a digit


def vqa_punctuation(text: str) -> str:
    """The official ``processPunctuation``: a mark next to a space (or any mark, in a text with a
    digit-comma-digit) is deleted, one inside a word becomes a space ("t-shirt" -> "t shirt");
    periods go unless a digit follows ("3.5" stays)."""
    out = text
    strip_all = _COMMA_STRIP.search(text) is not None
    for p in _PUNCT:
        out = out.replace(p, "") if (p + " " in text or " " + p in text or strip_all) else out.replace(p, " ")
    # The official code passes re.UNICODE (32) where sub() takes its count: at most 32 periods go.
    return _PERIOD_STRIP.sub("", out, count=32)


def vqa_digits_articles(text: str) -> str:
    """The official ``processDigitArticle``: lowercase, number words 0-10 to digits, drop a/an/the,
    restore contractions ("dont" -> "don't")."""
    words = [_NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES)


def vqa_normalize(answer: str) -> str:
    """A model's answer as the official evaluation compares it."""
    text = str(answer).replace("\n", " ").replace("\t", " ").strip()
    return vqa_digits_articles(vqa_punctuation(text))


def vqa(output: str, reference: Any) -> float:
    """Official VQA accuracy: ``min(#annotators who gave the answer / 3, 1)``, averaged over the ten
    subsets of nine annotators (leave one out).

    As in the official code, the output is normalized in full (:func:`vqa_normalize`); annotator
    answers (already normalized in the VQA files) only get the punctuation step, and only when they
    disagree. A single reference string (one ground truth, e.g. easy-VQA) scores 1.0 when both
    normalize to the same text.
    """
    res = vqa_normalize(output)
    if isinstance(reference, (str, int, float)):
        return float(res == vqa_normalize(str(reference)))
    gts = [str(a).replace("\n", " ").replace("\t", " ").strip() for a in reference]
    if not gts:
        return 0.0
    if len(set(gts)) > 1:
        gts = [vqa_punctuation(a) for a in gts]
    accs = []
    for i in range(len(gts)):
        matching = sum(1 for j, a in enumerate(gts) if j != i and a == res)
        accs.append(min(1.0, matching / 3))
    return sum(accs) / len(accs)


SCORERS: dict[str, Callable[[str, Any], float]] = {
    "numeric": numeric,
    "exact": exact,
    "contains": contains,
    "choice": choice,
    "vqa": vqa,
}


def score(scorer: str, output: str, reference: Any) -> float | None:
    """Score one output; None when the item has no reference or no scorer."""
    if reference is None or scorer not in SCORERS:
        return None
    return SCORERS[scorer](output, reference)
