"""Per-request records: the raw material every metric is computed from.

A backend fills in timestamps and token counts and nothing else; metrics are pure functions of
these records (see ``infermeter.metrics``), so a report can always be recomputed from its raw data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from infermeter.core.redact import known, redact

#: The files of a run folder: every request's record as it is measured, and the final report.
RECORDS_FILE = "records.jsonl"
REPORT_FILE = "report.json"


@dataclass
class RequestRecord:
    """One request as the caller saw it.

    ``token_times[i]`` is when output token ``i + 1`` became visible to the caller. When a backend
    delivers several tokens at once (an SSE chunk), each of them gets the chunk's time and
    ``tokens_per_chunk`` says how they were grouped.
    """

    request_id: str
    phase: str  # "dataset", "context", "batch", ...: which measurement the request belongs to
    batch_id: int  # requests with the same batch_id were sent together (one generate() call)
    batch_size: int
    prompt_tokens: int
    t_send: float
    token_times: list[float] = field(default_factory=list)
    target_output_tokens: int | None = None  # set when the output length was forced
    repeat: int = 0
    tokens_per_chunk: list[int] | None = None
    text: str | None = None
    reference: Any = None  # the dataset's answer, when there is one
    score: float | None = None  # accuracy of this item in [0, 1], scored after timing
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def output_tokens(self) -> int:
        """Number of output tokens the caller received."""
        return len(self.token_times)

    @property
    def ok(self) -> bool:
        """True when the request finished without error and produced at least one token."""
        return self.error is None and bool(self.token_times)

    @property
    def short(self) -> bool:
        """True when a forced output length was not reached (the run is flagged)."""
        return self.target_output_tokens is not None and self.output_tokens < self.target_output_tokens

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the derived counts are included for readers of the raw data.

        Equal to ``dataclasses.asdict`` but without its per-element deep copy, which cost more per
        token than the whole streaming client (a few microseconds per timestamp): the token lists are
        copied flat, ``extra`` and ``reference`` deep-copied (they are small).
        """
        d = {f.name: getattr(self, f.name) for f in _FIELDS}
        d["token_times"] = list(self.token_times)
        if self.tokens_per_chunk is not None:
            d["tokens_per_chunk"] = list(self.tokens_per_chunk)
        d["extra"], d["reference"] = copy.deepcopy(self.extra), copy.deepcopy(self.reference)
        d["output_tokens"] = self.output_tokens
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RequestRecord:
        """Inverse of :meth:`to_dict` (derived keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


_FIELDS = fields(RequestRecord)

RecordListener = Callable[[Path, list[dict[str, Any]]], None]
_LISTENERS: list[RecordListener] = []


def add_record_listener(fn: RecordListener) -> None:
    """Call ``fn(run_dir, rows)`` after every batch a :class:`RecordSink` writes (e.g. a database)."""
    if fn not in _LISTENERS:
        _LISTENERS.append(fn)


def notify(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Tell the listeners of records written elsewhere (a remote task's records delivered here)."""
    for listener in _LISTENERS:
        listener(run_dir, rows)


class RecordSink:
    """Appends records to a JSONL file: at once, or buffered while :meth:`hold` is on (a timed window).

    Listeners (e.g. the results database) hear of every batch written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = path.open("a", encoding="utf-8")
        self._held: list[RequestRecord] | None = None

    @contextmanager
    def hold(self) -> Iterator[list[RequestRecord]]:
        """Buffer records inside the block (a timed window); write them all when it ends."""
        outer = self._held is None
        if self._held is None:
            self._held = []
        try:
            yield self._held
        finally:
            if outer:
                held, self._held = self._held or [], None
                if held:
                    self._persist(held)

    @property
    def holding(self) -> bool:
        """True inside :meth:`hold` (records are buffered)."""
        return self._held is not None

    def write(self, records: list[RequestRecord]) -> None:
        """Persist a batch of records now (the file first, then the listeners), or buffer them."""
        if self._held is not None:
            self._held.extend(records)
            return
        self._persist(records)

    def _persist(self, records: list[RequestRecord]) -> None:
        rows = [r.to_dict() for r in records]
        lines = [dumps(row) for row in rows]
        secrets = known()
        if secrets:  # the last gate before disk (the client already redacted what it received)
            masked = [redact(line, secrets) for line in lines]
            rows = [loads(m) if m != line else row for m, line, row in zip(masked, lines, rows, strict=True)]
            lines = masked
        self._f.write("".join(line + "\n" for line in lines))
        self._f.flush()
        for listener in _LISTENERS:
            listener(self.path.parent, rows)

    def close(self) -> None:
        """Close the file."""
        self._f.close()


def read_records(path: Path) -> list[RequestRecord]:
    """Load every whole record of a run (missing file: none): a report is rebuilt from the whole lines."""
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:  # a line cut short (the process was killed while writing it) is skipped
            if line.strip():
                try:
                    out.append(RequestRecord.from_dict(loads(line)))
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
    return out


def dumps(row: dict[str, Any]) -> str:
    """orjson (~10x cheaper per token than json.dumps), numpy scalars included; json for anything else."""
    try:
        return orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(row)


def loads(line: str) -> Any:
    """orjson (several times faster); the standard library for files holding NaN, which orjson refuses."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)
