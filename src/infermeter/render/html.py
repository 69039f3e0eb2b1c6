"""One self-contained HTML page for one or more reports: tables, inline SVG plots, environment.

Safety rules, because reports carry text from datasets, models and servers:

* every string taken from a report goes through :func:`esc` (``html.escape``); markup is only ever
  built from constant strings here, never from report data;
* plots are matplotlib SVG, whose text matplotlib writes XML-escaped (``svg.fonttype = "none"``, see
  ``render/plots.py``);
* a Content-Security-Policy allows no network at all and only the one inline script below (by hash),
  so even a slip in escaping could not run a script or fetch anything.

The page opens offline: inline CSS, inline SVG, no fonts, no CDN. Each report kind has one body
function in ``_BODIES`` (``"sweep"``: per-knob effects and Pareto fronts, then the point runs); ``"load"``
(rate vs latency) is one more entry.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Callable, Iterable
from typing import Any

from infermeter.core.records import RequestRecord
from infermeter.metrics.glossary import footer
from infermeter.metrics.latency import e2e, ttft
from infermeter.render.console_tune import ladder_html
from infermeter.render.export import model_name, tables
from infermeter.render.figure import to_svg
from infermeter.render.plots import figures
from infermeter.render.tables import Table, ms

RECORD_ROWS = 50  # per-request rows shown per run report; the JSON has them all
TEXT_CHARS = 400  # characters of each output text shown (cut before escaping, so no entity is split)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:420px;white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,monospace;font-size:12px}
.warn{color:#8a5a00}.error{color:#b00020;font-weight:bold}.note{color:#555;font-style:italic}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:12px}
details{margin:1em 0}summary{cursor:pointer;font-weight:bold}pre{background:#f7f7f7;padding:.6em;overflow:auto}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dl.meta dt{font-weight:bold}
"""

# Click a column header to sort its table (numbers numerically, then text). Kept tiny and
# self-checking: the browser test fails on any console error.
_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, _i) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.getAttribute("data-dir") !== "asc";
    th.setAttribute("data-dir", asc ? "asc" : "desc");
    var key = function (tr) { var t = tr.cells[col] ? tr.cells[col].textContent : ""; var v = parseFloat(t);
      return isNaN(v) ? t : v; };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (tr) { body.appendChild(tr); });
  });
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{_SCRIPT_HASH}'"


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], classes: list[str] | None = None) -> str:
    """A sortable table; every header and cell is escaped here, so callers pass plain values only.

    ``classes`` are constant CSS class names per column ("num", "txt", "text"), never report data.
    """
    classes = classes or []
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = [f'<td class="{classes[i] if i < len(classes) else "txt"}">{esc(c)}</td>' for i, c in enumerate(row)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _render_table(t: Table, sid: str) -> str:
    note = f'<p class="note">{esc(t.note)}</p>' if t.note else ""
    table = _table(t.headers, t.rows, ["num" if n else "txt" for n in t.numeric])
    return f'<div class="table" id="{sid}-{esc(t.name)}"><h3>{esc(t.title)}</h3>{table}{note}</div>'


def _header(r: dict[str, Any], sid: str, index: int) -> str:
    env = r.get("environment") or {}
    meta = [
        ("status", r.get("status", "?")),
        ("model", model_name(r)),
        ("time (UTC)", env.get("time_utc", "-")),
        ("results", r.get("run_dir", "-")),
        ("schema", r.get("schema_version", "?")),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    out = [
        f'<h2 id="{sid}-title">{index}. {esc(r.get("kind", "?"))}: {esc(model_name(r))}</h2>',
        f'<dl class="meta">{dl}</dl>',
    ]
    if r.get("error"):
        out.append(f'<p class="error">error: {esc(r["error"])}</p>')
    if r.get("warnings"):
        items = "".join(f"<li>{esc(w)}</li>" for w in r["warnings"])
        out.append(f'<div class="warnings"><h3>warnings</h3><ul class="warn">{items}</ul></div>')
    return "\n".join(out)


def _plots(r: dict[str, Any], sid: str) -> str:
    """Every figure as inline SVG; one that cannot be drawn says why instead of failing the page."""
    out = []
    for spec in figures(r):
        fid = f"{sid}-{spec.name}"
        try:
            svg = to_svg(spec.figure(), prefix=fid)
        except Exception as err:  # noqa: BLE001 - a partial report must still render the rest
            svg = f'<p class="error">plot failed: {esc(type(err).__name__)}: {esc(err)}</p>'
        out.append(f'<figure class="plot" id="{esc(fid)}">{svg}<figcaption>{esc(spec.title)}</figcaption></figure>')
    return f'<div class="plots"><h3>plots</h3>{"".join(out)}</div>' if out else ""


def _records(r: dict[str, Any], sid: str) -> str:
    """The first per-request records of the dataset phase, with their output text (escaped)."""
    recs = [RequestRecord.from_dict(x) for x in r.get("records", []) if x.get("phase") == "dataset"]
    if not recs:
        return ""
    rows = []
    for x in recs[:RECORD_ROWS]:
        text = x.text or ""
        text = text[:TEXT_CHARS] + ("…" if len(text) > TEXT_CHARS else "")
        ref = "" if x.reference is None else json.dumps(x.reference, ensure_ascii=False)
        rows.append([x.request_id, x.batch_size, x.prompt_tokens, x.output_tokens, ms(ttft(x)), ms(e2e(x))])
        rows[-1] += ["-" if x.score is None else f"{x.score:g}", x.error or "", ref, text]
    heads = ["request", "batch", "prompt tok", "output tok", "TTFT ms", "E2E ms", "score", "error", "reference", "text"]
    title = f"per-request records (first {len(rows)} of {len(recs)} dataset requests)"
    html_table = _table(heads, rows, ["txt"] + ["num"] * 6 + ["txt", "text", "text"])
    return f'<div class="table" id="{sid}-records"><h3>{esc(title)}</h3>{html_table}</div>'


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as dotted keys, for the environment table."""
    if isinstance(d, dict) and d:
        return [kv for k, v in d.items() for kv in _flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), json.dumps(d) if isinstance(d, (list, dict)) else d)]


def _environment(r: dict[str, Any], sid: str) -> str:
    env = _table(["key", "value"], _flatten(r.get("environment") or {}))
    cfg = r.get("config") or r.get("configs") or {}
    return (
        f'<details class="environment" id="{sid}-environment"><summary>environment</summary>{env}</details>'
        f'<details class="config" id="{sid}-config"><summary>configuration</summary>'
        f"<pre>{esc(json.dumps(cfg, indent=1, default=str))}</pre></details>"
    )


def _run_body(r: dict[str, Any], sid: str) -> list[str]:
    return [_plots(r, sid), _records(r, sid)]


def _plots_only(r: dict[str, Any], sid: str) -> list[str]:
    return [_plots(r, sid)]


def _sweep_body(r: dict[str, Any], sid: str) -> list[str]:
    """Plots, then where each point's own run report is (``infermeter report`` that folder for its details)."""
    points = [p for p in (r.get("sweep") or {}).get("points") or [] if p.get("planned", True)]
    rows = [[p["id"], p["label"], p["status"], p.get("run_dir") or "-"] for p in points]
    if not rows:
        return [_plots(r, sid)]
    table = _table(["point", "knobs", "status", "run folder"], rows)
    return [_plots(r, sid), f'<div class="table" id="{sid}-point-runs"><h3>point runs</h3>{table}</div>']


_BODIES: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "run": _run_body,
    "compare": _plots_only,
    "soak": _plots_only,
    "sweep": _sweep_body,
    "tune": ladder_html,
    "load": _plots_only,
}


def _section(r: dict[str, Any], index: int) -> str:
    sid = f"report-{index}"
    parts = [_header(r, sid, index)]
    parts += [_render_table(t, sid) for t in tables(r)]
    body = _BODIES.get(r.get("kind", ""))
    if body is None:
        parts.append(f'<p class="warn">no HTML view for report kind {esc(r.get("kind"))} yet; the JSON has it all</p>')
    else:
        parts += body(r, sid)
    parts.append(_environment(r, sid))
    kind = esc(r.get("kind", "unknown"))
    return (
        f'<section class="report" id="{sid}" data-kind="{kind}">\n' + "\n".join(p for p in parts if p) + "\n</section>"
    )


def _glossary_footer() -> str:

    return footer()


def render_html(reports: list[dict[str, Any]], title: str = "infermeter report") -> str:
    """The whole page as a string: a contents list, then one section per report, in the given order."""
    toc = "".join(
        f'<li><a href="#report-{i}">{esc(r.get("kind", "?"))}: {esc(model_name(r))}</a> '
        f"{esc(r.get('status', '?'))}</li>"
        for i, r in enumerate(reports, 1)
    )
    sections = "\n".join(_section(r, i) for i, r in enumerate(reports, 1))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        f"<h1>{esc(title)}</h1><nav><ol>{toc}</ol></nav>\n{sections}\n"
        f'<p class="note">{esc(_glossary_footer())}</p>\n'  # what the metric names mean
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )
