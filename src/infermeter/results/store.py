"""The results database: every run, its raw records and its summary measurements, in SQLite.

One row per run (``runs``), one per request record (``records``, appended per batch while the run is
going, so a crash keeps what was measured), one per summary metric of a finished run
(``measurements``, see :func:`measurements_from_report` for the names). The database lives at
``$INFERMETER_DB`` or ``~/.infermeter/results.db``.

Several processes may write at once (the CLI, its measurement workers, a second benchmark on the
same machine): the journal is WAL (readers never block the writer), every write is one short
``BEGIN IMMEDIATE`` transaction (writers queue on the lock instead of failing on upgrade deadlocks),
and a busy writer waits up to ``BUSY_TIMEOUT_S``. A connection never crosses a ``fork()``: a store
used in a child process opens its own.

The schema is versioned: ``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``, and
opening a store applies the missing ones in one transaction.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infermeter.errors import InfermeterError
from infermeter.results.measurements import MEAS_FIELDS, measurements_from_report

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ResultStore",
    "default_db_path",
    "measurements_from_report",
    "open_store",
    "run_id_for",
]

BUSY_TIMEOUT_S = 30.0
RUN_COLUMNS = (
    "run_id, kind, status, created_utc, model, device, backend, git_sha, config_json, environment_json, report_path"
)


def default_db_path() -> Path:
    """``$INFERMETER_DB`` when set, else ``~/.infermeter/results.db``."""
    env = os.environ.get("INFERMETER_DB")
    return Path(env).expanduser() if env else Path.home() / ".infermeter" / "results.db"


def run_id_for(report: dict[str, Any]) -> str:
    """A report's run id: the basename of its ``run_dir``."""
    return Path(report["run_dir"]).name


def _now_utc() -> str:
    # ISO 8601 in UTC sorts as text, so ``since`` filters are plain string comparisons.
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# -- measurements of a report (pure) -----------------------------------------------------------------
# -- schema ------------------------------------------------------------------------------------------
def _v1(conn: sqlite3.Connection) -> None:
    """Version 1: runs and their raw records (no status, no summary measurements)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    conn.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, created_utc TEXT NOT NULL, model TEXT,"
        " device TEXT, backend TEXT, git_sha TEXT, config_json TEXT, environment_json TEXT, report_path TEXT)"
    )
    conn.execute(
        "CREATE TABLE records (run_id TEXT NOT NULL, seq INTEGER NOT NULL, phase TEXT, batch_id INTEGER,"
        " json TEXT NOT NULL, PRIMARY KEY (run_id, seq))"
    )
    conn.execute("CREATE INDEX runs_created ON runs (created_utc)")


def _v2(conn: sqlite3.Connection) -> None:
    """Version 2: a run ``status`` and the ``measurements`` table (summary metrics, with raw samples)."""
    # Version-1 rows predate status tracking: "unknown" says so rather than guessing "complete".
    conn.execute("ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'unknown'")
    conn.execute(
        "CREATE TABLE measurements (run_id TEXT NOT NULL, name TEXT NOT NULL, value REAL, unit TEXT, n INTEGER,"
        " mean REAL, median REAL, p90 REAL, p99 REAL, stdev REAL, ci95_low REAL, ci95_high REAL,"
        " samples_json TEXT, PRIMARY KEY (run_id, name))"
    )
    conn.execute("CREATE INDEX runs_kind_model ON runs (kind, model)")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's version (0: empty)."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone() if has else None
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the missing migrations in one transaction; returns the resulting version.

    The version is read inside the write lock, so two processes opening a new database together
    do not both migrate it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise InfermeterError(
                f"results database has schema version {version}, newer than this infermeter ({SCHEMA_VERSION})"
            )
        for step in MIGRATIONS[version:]:
            step(conn)
        if version < SCHEMA_VERSION:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


# -- run metadata from a config / report -------------------------------------------------------------
def _model_of(config: dict[str, Any]) -> str | None:
    if isinstance(config.get("model"), dict):
        return config["model"].get("name")
    variants = config.get("configs")  # compare: {variant: config}
    if isinstance(variants, dict):
        names = sorted({c.get("model", {}).get("name") for c in variants.values() if isinstance(c, dict)} - {None})
        return ",".join(names) or None
    return None


def _device_of(config: dict[str, Any], environment: dict[str, Any]) -> str | None:
    model = config.get("model") if isinstance(config.get("model"), dict) else None
    if model is None and isinstance(config.get("configs"), dict):
        first: dict[str, Any] = next(iter(config["configs"].values()), {})
        model = first.get("model")
    device = (model or {}).get("device")
    if device == "auto":  # what "auto" resolves to: CUDA when the environment saw one
        device = "cuda" if (environment.get("cuda") or {}).get("available") else "cpu"
    return device


def _config_of(report: dict[str, Any]) -> dict[str, Any]:
    if report.get("config") is not None:
        return report["config"]
    return {"configs": report.get("configs") or {}}


def _report_path(report: dict[str, Any]) -> str:
    return str(Path(report["run_dir"]) / "report.json")


# -- the store ---------------------------------------------------------------------------------------
class ResultStore:
    """Runs, records and measurements in one SQLite file; safe for several writing processes."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.Lock()  # one connection shared by this process's threads
        self.conn  # noqa: B018 - open (and migrate) now, so a bad path fails here, not mid-run

    @property
    def conn(self) -> sqlite3.Connection:
        """This process's connection (reopened after a fork: SQLite handles must not be inherited)."""
        if self._conn is None or self._pid != os.getpid():
            try:
                self._conn, self._pid = self._connect(), os.getpid()
            except (OSError, sqlite3.DatabaseError) as err:  # unwritable folder, not a database, ...
                raise InfermeterError(f"cannot open results database {self.path}: {err}") from err
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves (see the module docstring).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable against process crashes under WAL; only power loss can drop the last commit.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.row_factory = sqlite3.Row
        migrate(conn)
        return conn

    def close(self) -> None:
        """Close this process's connection (a later call reopens it)."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn`` in one immediate transaction: the write lock is taken up front, so it waits, never deadlocks."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return out

    def version(self) -> int:
        """The schema version of the open database."""
        with self._lock:
            return schema_version(self.conn)

    # -- writing -------------------------------------------------------------------------------------
    def begin_run(
        self,
        run_id: str,
        kind: str,
        config: dict[str, Any],
        environment: dict[str, Any] | None = None,
        report_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Register a run as "running" (again: its metadata is replaced, its records and creation time kept)."""
        env = environment or {}
        row = (
            run_id,
            kind,
            "running",
            _now_utc(),
            _model_of(config),
            _device_of(config, env),
            config.get("backend"),
            env.get("git_sha"),
            json.dumps(config, default=str),
            json.dumps(env, default=str),
            str(report_path) if report_path is not None else None,
        )
        self._write(
            lambda c: c.execute(
                f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET"
                " kind=excluded.kind, status=excluded.status, model=excluded.model, device=excluded.device,"
                " backend=excluded.backend, git_sha=excluded.git_sha, config_json=excluded.config_json,"
                " environment_json=excluded.environment_json, report_path=excluded.report_path",
                row,
            )
        )

    def append_records(self, run_id: str, records: list[dict[str, Any]]) -> None:
        """Append one batch of request records (one short transaction; numbered after those already stored)."""
        if not records:
            return

        def write(c: sqlite3.Connection) -> None:
            # A worker may report before the parent registered the run: keep the records findable.
            c.execute(
                "INSERT OR IGNORE INTO runs (run_id, kind, status, created_utc) VALUES (?, 'unknown', 'running', ?)",
                (run_id, _now_utc()),
            )
            # MAX(seq) is read under the write lock, so concurrent writers to one run never collide.
            start = c.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM records WHERE run_id = ?", (run_id,)).fetchone()
            rows = [
                (run_id, start[0] + i, r.get("phase"), r.get("batch_id"), json.dumps(r, default=str))
                for i, r in enumerate(records)
            ]
            c.executemany("INSERT INTO records (run_id, seq, phase, batch_id, json) VALUES (?,?,?,?,?)", rows)

        self._write(write)

    def finish_run(self, run_id: str, report: dict[str, Any]) -> None:
        """Store a finished (or failed) run's status and measurements; calling it again replaces them.

        A run that was never begun (an older report imported later) is registered from the report,
        and its records are taken from the report when the store has none for it.
        """
        meas = measurements_from_report(report)
        status = report.get("status") or "complete"
        device = (report.get("load") or {}).get("device")

        def write(c: sqlite3.Connection) -> None:
            if c.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                config, env = _config_of(report), report.get("environment") or {}
                c.execute(
                    f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, report.get("kind", "run"), status, env.get("time_utc") or _now_utc(), _model_of(config),
                     _device_of(config, env), config.get("backend"), env.get("git_sha"),
                     json.dumps(config, default=str), json.dumps(env, default=str), _report_path(report)),
                )  # fmt: skip
            c.execute(
                "UPDATE runs SET status = ?, device = COALESCE(?, device), kind = CASE WHEN kind = 'unknown'"
                " THEN ? ELSE kind END WHERE run_id = ?",
                (status, device, report.get("kind", "run"), run_id),
            )
            c.execute("DELETE FROM measurements WHERE run_id = ?", (run_id,))
            c.executemany(
                "INSERT INTO measurements (run_id, name, value, unit, n, mean, median, p90, p99, stdev, ci95_low,"
                " ci95_high, samples_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (run_id, m["name"], *(m.get(k) for k in MEAS_FIELDS), json.dumps(m.get("samples") or []))
                    for m in meas
                ],
            )
            has_records = c.execute("SELECT 1 FROM records WHERE run_id = ? LIMIT 1", (run_id,)).fetchone()
            if not has_records and report.get("records"):
                c.executemany(
                    "INSERT INTO records (run_id, seq, phase, batch_id, json) VALUES (?,?,?,?,?)",
                    [
                        (run_id, i, r.get("phase"), r.get("batch_id"), json.dumps(r, default=str))
                        for i, r in enumerate(report["records"])
                    ],
                )

        self._write(write)

    # -- reading -------------------------------------------------------------------------------------
    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, args).fetchall()

    @staticmethod
    def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["config"] = json.loads(d.pop("config_json") or "null")
        d["environment"] = json.loads(d.pop("environment_json") or "null")
        return d

    def runs(
        self,
        kind: str | None = None,
        model: str | None = None,
        since: str | _dt.datetime | None = None,
        status: str | None = None,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Runs, newest first. ``model`` matches a substring (case-insensitive); ``since`` is an ISO time
        or date (UTC when no zone is given) or a datetime; ``limit=None`` lists all. Each run has
        ``n_records`` and ``n_measurements``.
        """
        where: list[str] = []
        args: list[str | int] = []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if model is not None:
            where.append("instr(lower(COALESCE(model, '')), lower(?)) > 0")
            args.append(model)
        if since is not None:
            where.append("created_utc >= ?")
            args.append(_iso_utc(since))
        sql = (
            f"SELECT {RUN_COLUMNS}, (SELECT COUNT(*) FROM records r WHERE r.run_id = runs.run_id) AS n_records,"
            " (SELECT COUNT(*) FROM measurements m WHERE m.run_id = runs.run_id) AS n_measurements FROM runs"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY created_utc DESC, run_id DESC"
            + (" LIMIT ?" if limit is not None else "")
        )
        if limit is not None:
            args.append(int(limit))
        return [self._run_dict(r) for r in self._query(sql, tuple(args))]

    def get_run(self, run_id_or_prefix: str) -> dict[str, Any]:
        """The run with this id, or the one run whose id starts with it; InfermeterError otherwise."""
        key = run_id_or_prefix.strip()
        if not key:
            raise InfermeterError("empty run id")
        exact = self._query(f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (key,))
        if exact:
            return self._run_dict(exact[0])
        # substr() instead of LIKE: run ids contain "_", a LIKE wildcard.
        rows = self._query(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id", (len(key), key)
        )
        if not rows:
            raise InfermeterError(f"no run matches {key!r} in {self.path}")
        if len(rows) > 1:
            shown = ", ".join(r["run_id"] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise InfermeterError(f"{key!r} matches {len(rows)} runs ({shown}); give more of the id")
        return self._run_dict(rows[0])

    def measurements(self, run_id: str) -> dict[str, dict[str, Any]]:
        """``name -> {value, unit, n, mean, ..., samples}`` of one run (exact id)."""
        rows = self._query("SELECT * FROM measurements WHERE run_id = ? ORDER BY rowid", (run_id,))
        out = {}
        for r in rows:
            d = {k: r[k] for k in ("name", *MEAS_FIELDS)}
            d["samples"] = json.loads(r["samples_json"] or "[]")
            out[r["name"]] = d
        return out

    def records(self, run_id: str) -> list[dict[str, Any]]:
        """Every stored request record of one run (exact id), in arrival order."""
        rows = self._query("SELECT json FROM records WHERE run_id = ? ORDER BY seq", (run_id,))
        return [json.loads(r[0]) for r in rows]


def _iso_utc(t: str | _dt.datetime) -> str:
    """``since`` as the stored format (UTC ISO seconds); clear error on garbage."""
    if isinstance(t, str):
        try:
            t = _dt.datetime.fromisoformat(t.strip())
        except ValueError as err:
            raise InfermeterError(f"bad time {t!r}: expected ISO, e.g. 2026-11-21 or 2026-11-21T09:00") from err
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat(timespec="seconds")


_STORES: dict[tuple[int, Path], ResultStore] = {}


def open_store(path: str | os.PathLike[str] | None = None) -> ResultStore:
    """This process's store for ``path`` (default: :func:`default_db_path`): one connection per process."""
    p = (Path(path).expanduser() if path is not None else default_db_path()).resolve()
    key = (os.getpid(), p)
    if key not in _STORES:
        _STORES[key] = ResultStore(p)
    return _STORES[key]
