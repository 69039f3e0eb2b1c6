"""``--client-procs N``: one load test driven by N client processes, for rates one process cannot send.

One Python process tops out at a few hundred streamed requests per second (its event loop parses
HTTP for every chunk). With N processes, request ``k`` of a point is sent by process ``k % N``:

* rate profiles: the seeded arrival schedule is computed once, the same as with one process, and
  each process sends its share of it from one shared start time (``perf_counter`` is the system's
  monotonic clock, the same in every process on the machine);
* concurrency profiles: the concurrency is split (16 over 3 processes: 6, 5, 5) and each process
  takes request numbers ``k ≡ i (mod N)`` as its slots free up.

Each process returns its point's records; the parent merges them (ordered by request number, none
lost, none twice), writes them and computes the point's numbers exactly as for one process. Records
reach the disk at the end of each point rather than one by one. ``--max-errors`` counts per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from typing import Any, Protocol

from infermeter.backends.openai import OpenAIClient, counter
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.scenarios.load import LoadRunner
from infermeter.scenarios.load_analysis import summarize
from infermeter.scenarios.load_extras import pool_size, warm_pool

START_AHEAD_S = 0.25  # the shared start is this far ahead, so every process is waiting when it comes


class _ListSink:
    """Collects records in memory (the parent writes them)."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def put(self, r: RequestRecord) -> None:
        self.records.append(r)

    def point_records(self, point: int) -> list[RequestRecord]:
        """This process's records of one point (the parent writes them)."""
        return [r for r in self.records if r.extra.get("point") == point]


def _worker(conn: Any, i: int, n: int, cfg: Any, opts: Any, prompts: list[Any], force: bool, served: str,
            tok: Any) -> None:  # fmt: skip
    """One client process: warm its connections, then run each point the parent sends."""

    async def main() -> None:
        client = OpenAIClient(cfg.server, model=served, seed=cfg.seed, count=counter(tok), now=time.perf_counter)
        await client.open()
        try:
            conn.send(("ready", await warm_pool(client, pool_size(opts))))
            loop = asyncio.get_running_loop()
            while True:
                msg = await loop.run_in_executor(None, conn.recv)
                if msg is None:
                    return
                point, profile, start, index = msg
                sink = _ListSink()
                runner = LoadRunner(client.request, prompts, cfg.generation, force, opts, sink, client.now)
                runner.index = index
                await runner.run_point(point, profile, start, (i, n))
                conn.send(("done", [r.to_dict() for r in sink.records], runner.stopped))
        finally:
            await client.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except Exception as err:  # noqa: BLE001 - the parent reports it
        conn.send(("error", f"{type(err).__name__}: {err}"))


class ClientProcs:
    """N client processes (spawned, so no event loop or connection is inherited)."""

    def __init__(self, n: int, cfg: Any, opts: Any, prompts: list[Any], force: bool, served: str, tok: Any) -> None:
        ctx = mp.get_context("spawn")
        self.conns, self.procs = [], []
        for i in range(n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(child, i, n, cfg, opts, prompts, force, served, tok), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        self.warmed = sum(self._recv(c, "ready")[1] for c in self.conns)

    def _recv(self, conn: Any, want: str) -> tuple[Any, ...]:
        msg = conn.recv()
        if msg[0] == "error":
            raise InfermeterError(f"a client process failed: {msg[1]}")
        assert msg[0] == want, msg
        return msg

    async def run_point(self, point: int, profile: Any, index: int) -> tuple[list[RequestRecord], str | None]:
        """Run one point on every process from a shared start; the merged records and a stop reason."""
        start = time.perf_counter() + START_AHEAD_S
        for c in self.conns:
            c.send((point, profile, start, index))
        loop = asyncio.get_running_loop()
        replies = await asyncio.gather(*(loop.run_in_executor(None, self._recv, c, "done") for c in self.conns))
        records = [RequestRecord.from_dict(d) for _, recs, _ in replies for d in recs]
        records.sort(key=lambda r: r.batch_id)
        stopped = next((s for _, _, s in replies if s), None)
        return records, stopped

    def close(self) -> None:
        """Ask every process to finish, then make sure it has."""
        for c in self.conns:
            with contextlib.suppress(OSError):  # a process that already died
                c.send(None)
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join(5)


class PointClients(Protocol):
    """What :func:`run_procs` drives: local client processes, or Ray client shards (load_shards.py)."""

    async def run_point(self, point: int, profile: Any, index: int) -> tuple[list[RequestRecord], str | None]: ...


async def run_procs(procs: PointClients, profiles: Any, opts: Any, sink: Any, meta: dict[str, Any]) -> None:
    """The point loop of :meth:`LoadRunner.run`, with the points run by ``procs``."""

    summaries: list[dict[str, Any]] = []
    index = 0
    while True:
        profile = profiles(summaries)
        if profile is None:
            break
        records, stopped = await procs.run_point(len(summaries), profile, index)
        for r in records:
            sink.put(r)
        index += len(records)
        summaries.append(summarize(profile, records, opts.slo))
        if stopped:
            meta["stopped"] = stopped
            break
