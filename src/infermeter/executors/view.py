"""Plain lines saying where tasks ran (executor, node, GPU ids) and what the interference check found."""

from __future__ import annotations

from typing import Any


def executor_line(ex: dict[str, Any]) -> str:
    """``executor: local, concurrent over GPUs 0,1`` / ``executor: ray (auto), 2 nodes, 8 GPUs``."""
    if ex.get("name") == "ray":
        return (
            f"executor: ray ({ex.get('address', 'local')}), {ex.get('nodes', '?')} node(s), "
            f"{ex.get('gpus', '?')} GPU(s), lost tasks re-run up to {ex.get('retries', 0)} time(s)"
        )
    if ex.get("devices"):
        return f"executor: local, tasks at once over devices {','.join(map(str, ex['devices']))}"
    return "executor: local, one task after another"


def placement_line(entry: dict[str, Any]) -> str | None:
    """``p01 (batch_size=8): node gpu-3 [3f2a1c9d], GPUs 1, attempt 1`` for one task that ran."""
    pl = entry.get("placement")
    if not pl:
        return None
    node = pl.get("node", "?") + (f" [{pl['node_id'][:8]}]" if pl.get("node_id") else "")
    gpus = ",".join(map(str, pl.get("gpu_ids") or [])) or "none"
    lost = f", earlier attempts lost: {'; '.join(pl['lost'])}" if pl.get("lost") else ""
    return f"{entry['id']} ({entry.get('label', '')}): node {node}, GPUs {gpus}, attempt {pl.get('attempts', 1)}{lost}"


def sweep_lines(sweep: dict[str, Any]) -> list[str]:
    """Executor, placement of every task, and the interference check of a sweep report."""
    ex = sweep.get("executor")
    if not ex:
        return []
    out = [executor_line(ex)]
    entries = [e for e in sweep.get("points") or [] if e.get("planned", True)]
    inter = sweep.get("interference") or {}
    if inter.get("alone"):
        entries = [inter["alone"], *entries]
    out += [line for e in entries if (line := placement_line(e))]
    out += [f"interference ({inter.get('point', '?')}): {line}" for line in inter.get("lines") or []]
    return out
