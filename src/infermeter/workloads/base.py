"""Workload items and the workload registry.

A workload turns its config into a list of :class:`WorkItem`. A new source is one module in this
package with a function decorated by ``@register_workload("kind")``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infermeter.errors import InfermeterError

if TYPE_CHECKING:
    from infermeter.config import WorkloadConfig


@dataclass(frozen=True)
class WorkItem:
    """One question: the user text, and the reference answer(s) to score against."""

    id: str
    prompt: str
    reference: Any = None
    scorer: str = "exact"
    system: str | None = None
    images: tuple[str, ...] = ()  # image file paths for vision-language items
    output_len: int | None = None  # the item's own output length (a ShareGPT reply, a trace), sent as max_tokens
    history: tuple[tuple[str, str], ...] = ()  # earlier (role, content) turns of a conversation, before `prompt`
    meta: tuple[tuple[str, Any], ...] = ()  # kept in the request's record: trace time, conversation, turn

    def messages(self) -> list[dict[str, str]]:
        """Chat messages for a chat template."""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        msgs += [{"role": role, "content": content} for role, content in self.history]
        return msgs + [{"role": "user", "content": self.prompt}]


class ItemList(list[WorkItem]):
    """The items of a workload, plus the bad items skipped on the way (``workload.skip_bad``)."""

    def __init__(self, items: Iterable[WorkItem] = (), skipped: list[str] | None = None) -> None:
        super().__init__(items)
        self.skipped: list[str] = list(skipped or [])  # one line per bad item, naming file and item

    def summary(self, keep: int = 100) -> dict[str, Any]:
        """What the report keeps: the counts, and the first ``keep`` reasons."""
        return {"items": len(self), "skipped": len(self.skipped), "skipped_reasons": self.skipped[:keep]}


Loader = Callable[["WorkloadConfig"], list[WorkItem]]
_REGISTRY: dict[str, Loader] = {}


def register_workload(kind: str) -> Callable[[Loader], Loader]:
    """Decorator registering a loader for ``workload.kind``."""

    def deco(fn: Loader) -> Loader:
        _REGISTRY[kind] = fn
        return fn

    return deco


def _discover() -> None:
    """Import every module of this package, so each registers its workloads (plug-ins by registration)."""
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        importlib.import_module(f"infermeter.workloads.{mod.name}")


def available_workloads() -> list[str]:
    """Names of every registered workload."""
    _discover()
    return sorted(_REGISTRY)


def workload_doc(kind: str) -> str:
    """First line of a workload loader's docstring."""
    doc = (_REGISTRY[kind].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def load_items(cfg: WorkloadConfig) -> ItemList:
    """Load a workload's items; an empty result is an error (nothing to measure)."""
    if cfg.kind not in _REGISTRY:
        _discover()
    if cfg.kind not in _REGISTRY:
        raise InfermeterError(f"unknown workload {cfg.kind!r} (known: {', '.join(sorted(_REGISTRY))})")
    items = _REGISTRY[cfg.kind](cfg)
    if not isinstance(items, ItemList):
        items = ItemList(items)
    if not items:
        why = f" ({len(items.skipped)} bad items skipped; the first: {items.skipped[0]})" if items.skipped else ""
        raise InfermeterError(f"the {cfg.kind} workload has no items: nothing to measure{why}")
    return items
