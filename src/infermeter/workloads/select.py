"""What every dataset loader shares: which items to take (``limit``, ``sample``) and bad items.

A loader lists its items as *candidates*: cheap callables that build one :class:`WorkItem` and raise
:class:`BadItem` when that item is unusable (a missing image, no answer, a malformed line). Only the
candidates actually taken are built, so ``--limit 3`` on a 200,000-question file checks 3 images, and
a bad line after the first ``limit`` items is never read into a problem. Errors about the whole
file (not found, no such column) are plain :class:`InfermeterError` and never skipped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from infermeter.errors import InfermeterError
from infermeter.workloads.base import ItemList, WorkItem

if TYPE_CHECKING:
    from infermeter.config import WorkloadConfig

Candidate = Callable[[], WorkItem]


class BadItem(InfermeterError):
    """One item cannot be used; the message names the file and the item."""


def order(n: int, cfg: WorkloadConfig) -> list[int]:
    """Indices in the order items are taken: file order, or a permutation seeded by ``sample_seed``.

    The permutation depends only on ``n`` and the seed, so a larger ``limit`` takes a superset of
    the items a smaller one took.
    """
    idx = list(range(n))
    if cfg.sample == "random":
        random.Random(cfg.sample_seed).shuffle(idx)
    return idx


def select(cfg: WorkloadConfig, candidates: Sequence[Candidate], bad: Iterable[str] = ()) -> ItemList:
    """Build candidates in sampling order until ``cfg.limit`` good items are collected.

    ``bad`` are problems found while reading the files (e.g. an annotation without its question).
    A bad item stops the run with its message, or, with ``skip_bad``, is counted and passed over.
    """
    skipped = []
    for why in bad:
        if not cfg.skip_bad:
            raise BadItem(f"{why} (--skip-bad to skip such items)")
        skipped.append(why)
    items: list[WorkItem] = []
    for i in order(len(candidates), cfg):
        if len(items) >= cfg.limit:
            break
        try:
            items.append(candidates[i]())
        except BadItem as err:
            if not cfg.skip_bad:
                raise BadItem(f"{err} (--skip-bad to skip such items)") from None
            skipped.append(str(err))
    return ItemList(items, skipped)


def scorer_for(cfg: WorkloadConfig, default: str) -> str:
    """The configured scorer, or the dataset's own when ``scorer`` is ``auto``."""
    return default if cfg.scorer == "auto" else cfg.scorer


def existing_file(path: str | Path | None, what: str) -> Path:
    """A dataset file that must exist, or one clear error saying which one is missing."""
    if not path:
        raise InfermeterError(f"{what}: no file given")
    p = Path(path)
    if not p.is_file():
        raise InfermeterError(f"{what} not found: {p}")
    return p


def check_image(path: Path, where: str) -> str:
    """The absolute path of an image that PIL can open and decode, else :class:`BadItem`.

    ``verify()`` checks the container (PNG chunks and CRCs); only a full ``load()`` notices a
    truncated JPEG, so both run. Decoding costs a few ms per image and happens once per item.
    """
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise BadItem(f"{where}: image not found: {path}")
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            im.load()
    except Image.DecompressionBombError as err:  # a few KB that decode to gigabytes of pixels
        raise BadItem(f"{where}: image {path} is too large to decode ({err})") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        raise BadItem(f"{where}: corrupt or unreadable image {path} ({type(err).__name__}: {err})") from None
    return str(path.resolve())


def answers(value: object, where: str) -> str | list[str] | int | float | None:
    """A reference as the scorers accept it (a string, a number or a list of them), else :class:`BadItem`."""
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return value
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value)
    ):
        return list(value)
    raise BadItem(
        f"{where}: unknown answer format: expected a string, a number or a non-empty list of them, "
        f"got {type(value).__name__} {str(value)[:60]!r}"
    )
