"""``infermeter diff``: two runs compared metric by metric, with a significance test per metric.

Each measurement (see :func:`infermeter.results.store.measurements_from_report`) of run A is matched
with the same name in run B. The change is relative to A's headline value; whether it is better or
worse depends on the metric's direction (from the metric registry). Significance is a Welch t-test: on the
samples when both sides kept at least two, else on the summaries (mean, stdev, n). The samples are one
value per independent unit (a generate() call, a pass, a process, a request over HTTP: see
metrics/units.py), never requests that shared one measurement. A metric with one measurement on a side
(e.g. peak memory of one process) cannot be tested: its verdict says so and :func:`regressions` ignores
it unless asked to judge such metrics on the threshold alone. The p-values of all tested metrics are
Holm-adjusted (family-wise error rate at alpha), and verdicts use the adjusted p.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeGuard

from infermeter.errors import InfermeterError
from infermeter.metrics.registry import LOWER, NEUTRAL, direction
from infermeter.stats import holm
from infermeter.stats.lazy import scipy_stats as _sps

ALPHA = 0.05

REGRESSED, IMPROVED, SAME, CHANGED = "regressed", "improved", "no significant change", "changed"
UNTESTED = "untestable: one measurement"  # a single unit on one side: no spread to test against
CORRECTION = "Holm"
MISSING_A, MISSING_B = "only in B", "only in A"


@dataclass(frozen=True)
class DiffRow:
    """One metric of run A against run B."""

    name: str
    unit: str
    a: float | None  # headline values
    b: float | None
    change: float | None  # (b - a) / |a|
    direction: str
    p: float | None  # Welch p value; None when untestable
    test: str | None  # "samples", "summary" or None
    n_a: int | None
    n_b: int | None
    verdict: str
    p_raw: float | None = None  # the unadjusted p; ``p`` is Holm-adjusted over the tested metrics

    @property
    def worse_by(self) -> float:
        """The relative change in the bad direction (negative when better; 0 for neutral or unknown)."""
        if self.change is None or self.direction == NEUTRAL:
            return 0.0
        return self.change if self.direction == LOWER else -self.change

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def _finite(x: Any) -> TypeGuard[float]:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _equal_constants(ma: float, mb: float) -> float:
    """p of two zero-variance sides: identical means are no evidence, different ones are certain."""
    return 1.0 if math.isclose(ma, mb, rel_tol=1e-12, abs_tol=0.0) else 0.0


def welch(a: dict[str, Any], b: dict[str, Any]) -> tuple[float | None, str | None]:
    """(p, how) of a two-sided Welch t-test between two measurements; (None, None) when untestable."""
    sa, sb = a.get("samples") or [], b.get("samples") or []
    if (sa or sb) and (len(sa) < 2 or len(sb) < 2):
        return None, None  # the samples are the independent units: one unit is one measurement
    if len(sa) >= 2 and len(sb) >= 2:
        va, vb = _sps().tvar(sa) if len(set(sa)) > 1 else 0.0, _sps().tvar(sb) if len(set(sb)) > 1 else 0.0
        if va == 0 and vb == 0:
            return _equal_constants(sum(sa) / len(sa), sum(sb) / len(sb)), "samples"
        return float(_sps().ttest_ind(sa, sb, equal_var=False).pvalue), "samples"
    na, nb = a.get("n") or 0, b.get("n") or 0
    ma, mb, da, db = a.get("mean"), b.get("mean"), a.get("stdev"), b.get("stdev")
    if na < 2 or nb < 2 or not (_finite(ma) and _finite(mb) and _finite(da) and _finite(db)):
        return None, None
    if da == 0 and db == 0:
        return _equal_constants(ma, mb), "summary"
    res = _sps().ttest_ind_from_stats(ma, da, na, mb, db, nb, equal_var=False)
    return float(res.pvalue), "summary"


def _verdict(change: float | None, d: str, p: float | None, alpha: float) -> str:
    if p is None:
        return UNTESTED
    if p >= alpha or change is None or change == 0:
        return SAME
    if d == NEUTRAL:
        return CHANGED
    worse = change > 0 if d == LOWER else change < 0
    return REGRESSED if worse else IMPROVED


def diff_one(name: str, a: dict[str, Any], b: dict[str, Any], alpha: float = ALPHA) -> DiffRow:
    """Compare one metric measured in both runs."""
    va, vb = a.get("value"), b.get("value")
    change = (vb - va) / abs(va) if _finite(va) and _finite(vb) and va != 0 else None
    p, test = welch(a, b)
    d = direction(name)
    return DiffRow(name, a.get("unit") or b.get("unit") or "", va, vb, change, d, p, test, a.get("n"), b.get("n"),
                   _verdict(change, d, p, alpha))  # fmt: skip


def diff_runs(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], alpha: float = ALPHA) -> list[DiffRow]:
    """Every metric of A (in A's order), then those only B has; ``a``/``b`` as ``ResultStore.measurements``."""
    rows = _holm([diff_one(name, m, b[name], 1.0) for name, m in a.items() if name in b], alpha)
    for name, m in a.items():
        if name not in b:
            rows.append(_one_sided(name, m, None, MISSING_B))
    for name, m in b.items():
        if name not in a:
            rows.append(_one_sided(name, None, m, MISSING_A))
    return rows


def _holm(rows: list[DiffRow], alpha: float) -> list[DiffRow]:
    """Rows with Holm-adjusted p over the tested ones, and verdicts recomputed from the adjusted p."""
    tested = [i for i, r in enumerate(rows) if r.p is not None]
    adj = holm([p for i in tested if (p := rows[i].p) is not None])
    out = list(rows)
    for i, p in zip(tested, adj, strict=True):
        r = rows[i]
        out[i] = replace(r, p=p, p_raw=r.p, verdict=_verdict(r.change, r.direction, p, alpha))
    return out


def tested_count(rows: list[DiffRow]) -> int:
    """How many metrics were tested (the size of the Holm family)."""
    return sum(r.p is not None for r in rows)


def _one_sided(name: str, a: dict[str, Any] | None, b: dict[str, Any] | None, verdict: str) -> DiffRow:
    m = a or b or {}
    return DiffRow(name, m.get("unit") or "", (a or {}).get("value"), (b or {}).get("value"), None, direction(name),
                   None, None, (a or {}).get("n"), (b or {}).get("n"), verdict)  # fmt: skip


def regressions(rows: list[DiffRow], threshold: float, *, untested: bool = False) -> list[DiffRow]:
    """Rows that got significantly worse by more than ``threshold`` (0.05 = 5%).

    ``untested=True`` also counts metrics without spread (single values such as peak memory) that
    got worse by more than the threshold, since for those the threshold is the only test there is.
    """
    out = []
    for r in rows:
        if r.worse_by <= threshold:
            continue
        if r.verdict == REGRESSED or (untested and r.verdict == UNTESTED):
            out.append(r)
    return out


def parse_threshold(text: str | float) -> float:
    """``"5%"`` -> 0.05; ``"0.05"`` -> 0.05. A bare number above 1 is refused (ambiguous: say "5%")."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        msg = f"bad regression threshold {text!r}: expected a percentage like 5% or a fraction like 0.05"
        raise InfermeterError(msg) from None
    if not math.isfinite(value) or value < 0 or (not raw.endswith("%") and value > 1):
        raise InfermeterError(f"bad regression threshold {text!r}: expected 0%..100%, e.g. 5% or 0.05")
    return value


def _num(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "bytes":
        return f"{x / 2**20:.1f} MiB"
    if unit == "s" and abs(x) < 1:
        return f"{x * 1e3:.2f} ms"
    return f"{x:.4g}" + (f" {unit}" if unit else "")


def format_table(rows: list[DiffRow]) -> str:
    """A plain-text table: metric, A, B, change, p, verdict (one line per metric)."""
    head = ("metric", "A", "B", "change", "p_holm", "verdict")
    body = [
        (
            r.name,
            _num(r.a, r.unit),
            _num(r.b, r.unit),
            f"{100 * r.change:+.1f}%" if r.change is not None else "-",
            ("<0.001" if r.p < 0.001 else f"{r.p:.3f}") if r.p is not None else "-",
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        # metric names left-aligned, numbers right-aligned, the verdict left-aligned and last.
        parts = [cells[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(cells[1:5], widths[1:5], strict=True)]
        return "  ".join([*parts, cells[5]]).rstrip()

    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *(line(b) for b in body)])
