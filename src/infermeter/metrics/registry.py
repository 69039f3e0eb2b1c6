"""The metric registry: one entry per metric, read by every view.

A metric's identity (key, label, unit, which direction is better, what its independent unit of
analysis is, and where one exists the pure function of records that produces its samples) is
written once, here. The console, CSV/Markdown/HTML, the results database, ``diff``, ``compare``,
``sweep`` effects and ``soak`` look metrics up here instead of keeping their own tables.

Adding a metric is one :func:`register` call with its function::

    register(Metric("prefill_tps", "prefill speed", "tok/s", HIGHER, unit_of_analysis="batch",
                    samples=my_prefill_samples, doc="prompt tokens / TTFT per batch"))

A metric with ``samples`` is computed for every run from its dataset records and appears in the
run report, the console's detail rows, CSV/Markdown/HTML, the results database and ``diff``.

Names in stored measurements carry context around the key (``context.ttft_s@512``,
``variant.eager.decode_tps``, ``load.concurrent8.ttft_s``, ``soak.gc.slope.rss``);
:func:`lookup` finds the metric behind such a name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infermeter.core.records import RequestRecord

HIGHER, LOWER, NEUTRAL = "higher", "lower", "neutral"

#: Units of analysis: what one independent measurement is (docs/metrics.md, "Unit of analysis").
BATCH = "batch"  # one generate() call in-process; requests of one call share prefill and decode
REQUEST = "request"  # one HTTP request (independent streams) or one scored item
PROCESS = "process"  # one worker process: a value measured once per process
WINDOW = "window"  # one measured window (tokens over wall time): one value per window
FACT = "fact"  # a property of the model or configuration, not a measurement

Samples = Callable[[list["RequestRecord"]], list[float]]


@dataclass(frozen=True)
class Metric:
    """One metric: identity, display, direction and (optionally) its function of records."""

    key: str
    label: str  # the plain name a newcomer understands ("time to first token")
    unit: str  # "s", "tok/s", "bytes", "fraction", "req/s", "tok", "x", "" (a ratio)
    better: str = NEUTRAL  # HIGHER, LOWER or NEUTRAL
    unit_of_analysis: str = REQUEST
    precise: str = ""  # the precise name used in the literature ("TTFT", "TPOT", "ITL")
    doc: str = ""  # one-line definition, shown by glossaries and report footers
    samples: Samples | None = field(default=None, compare=False)  # records -> samples
    builtin: bool = field(default=False, compare=False)  # rendered by a dedicated row/table

    @property
    def title(self) -> str:
        """Label with the precise name beside it, e.g. "time to first token (TTFT)"."""
        return f"{self.label} ({self.precise})" if self.precise and self.precise != self.label else self.label


_REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add (or replace) a metric; returns it so modules can keep a handle."""
    _REGISTRY[metric.key] = metric
    return metric


def unregister(key: str) -> None:
    """Remove a metric (tests that register temporary metrics clean up with this)."""
    _REGISTRY.pop(key, None)


def get(key: str) -> Metric | None:
    """The metric registered under exactly ``key``."""
    return _REGISTRY.get(key)


def all_metrics() -> Iterator[Metric]:
    """Every registered metric, in registration order."""
    return iter(list(_REGISTRY.values()))


def computed() -> Iterator[Metric]:
    """Metrics computed from a run's records (those with a ``samples`` function)."""
    return (m for m in all_metrics() if m.samples is not None)


def extras() -> Iterator[Metric]:
    """Computed metrics without a dedicated view: views show them in a generic row."""
    return (m for m in computed() if not m.builtin)


def lookup(name: str) -> Metric | None:
    """The metric behind a stored measurement name (context prefixes and ``@`` suffixes stripped)."""
    base = name.split("@", 1)[0]
    if base in _REGISTRY:
        return _REGISTRY[base]
    parts = base.split(".")
    for i in range(1, len(parts)):  # the longest registered tail wins: "goodput.fraction" before "fraction"
        tail = ".".join(parts[i:])
        if tail in _REGISTRY:
            return _REGISTRY[tail]
    return None


def direction(name: str) -> str:
    """``"higher"``, ``"lower"`` or ``"neutral"``: which way is better for a measurement ``name``."""
    if name.startswith("ratio."):  # speedups: > 1 means the variant is better
        return HIGHER
    if ".slope." in name:  # soak drift per call: latency or memory creeping up is worse
        return LOWER
    m = lookup(name)
    if m is not None:
        return m.better
    return LOWER if name.split("@", 1)[0].endswith("_s") else NEUTRAL  # unregistered durations


def unit(name: str) -> str:
    """The unit of a measurement ``name`` ("" when unknown)."""
    m = lookup(name)
    if m is not None:
        return m.unit
    base = name.split("@", 1)[0]
    return "s" if base.endswith("_s") else "bytes" if base.endswith("_bytes") else ""


def label(name: str) -> str:
    """The plain label of a measurement ``name`` (the name itself when unregistered)."""
    m = lookup(name)
    return m.label if m is not None else name


def is_rate(key: str) -> bool:
    """Whether a metric is a rate (tokens or requests per second), shown as a number rather than ms."""
    m = get(key)
    return m is not None and m.unit.endswith("/s")
