"""``--client-procs N``: one load test driven by N client processes, for rates one process cannot send.

One Python process tops out at a few hundred streamed requests per second (its event loop parses
HTTP for every chunk). With N processes, request ``k`` of a point is sent by process ``k % N``:

* rate profiles: the seeded arrival schedule is computed once, the same as with one process, and
  each process sends its share of it from one shared start time (``perf_counter`` is the system's
  monotonic clock, the same in every process on the machine);
* concurrency profiles: the concurrency is split (16 over 3 processes: 6, 5, 5) and each process
  takes request numbers ``k ≡ i (mod N)`` as its slots free up.

Each process streams its records to the parent in small batches as they finish (a million-request
point must not pile up in any process); the parent writes them as they arrive and, when every process
has finished the point, computes its numbers from the records file exactly as for one process.
``--max-errors`` counts per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from infermeter.backends.openai import OpenAIClient, counter
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.scenarios.load import LoadRunner
from infermeter.scenarios.load_analysis import summarize
from infermeter.scenarios.load_extras import pool_size, warm_pool

START_AHEAD_S = 0.25  # the shared start is this far ahead, so every process is waiting when it comes


BATCH = 256  # records per message to the parent: few messages, and a few hundred kB held at most


class _PipeSink:
    """Sends finished records to the parent in batches; this process keeps none (memory stays flat)."""

    def __init__(self, conn: Any, batch: int = BATCH) -> None:
        self.conn, self.batch = conn, batch
        self.buf: list[dict[str, Any]] = []

    def put(self, r: RequestRecord) -> None:
        self.buf.append(r.to_dict())
        if len(self.buf) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Send what is buffered (the parent's reader thread is always receiving during a point)."""
        if self.buf:
            self.conn.send(("records", self.buf))
            self.buf = []

    def point_records(self, point: int) -> list[RequestRecord]:
        """Nothing here: the parent has the point's records (sent before ``done``)."""
        self.flush()
        return []


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
                sink = _PipeSink(conn)
                runner = LoadRunner(client.request, prompts, cfg.generation, force, opts, sink, client.now)  # type: ignore[arg-type]
                runner.index = index
                await runner.run_point(point, profile, start, (i, n))
                sink.flush()
                conn.send(("done", runner.stopped))
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
        self.readers = ThreadPoolExecutor(max_workers=n, thread_name_prefix="infermeter-client-procs")

    def _recv(self, conn: Any, *want: str) -> tuple[Any, ...]:
        msg = conn.recv()
        if msg[0] == "error":
            raise InfermeterError(f"a client process failed: {msg[1]}")
        assert msg[0] in want, msg[0]
        return msg

    def _collect(self, conn: Any, sink: Any) -> tuple[Any, ...]:
        """Write one process's record batches as they arrive, until it says the point is done."""
        while True:
            msg = self._recv(conn, "records", "done")
            if msg[0] == "done":
                return msg
            for d in msg[1]:
                sink.put(RequestRecord.from_dict(d))

    async def run_point(
        self, point: int, profile: Any, index: int, sink: Any
    ) -> tuple[list[RequestRecord], str | None]:
        """Run one point on every process from a shared start, its records written to ``sink`` as they
        arrive; the point's records (read back once all are in) and a stop reason."""
        start = time.perf_counter() + START_AHEAD_S
        for c in self.conns:
            c.send((point, profile, start, index))
        loop = asyncio.get_running_loop()
        replies = await asyncio.gather(
            *(loop.run_in_executor(self.readers, self._collect, c, sink) for c in self.conns)
        )
        stopped = next((s for _, s in replies if s), None)
        return sink.point_records(point), stopped

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
        self.readers.shutdown(wait=False)


class PointClients(Protocol):
    """What :func:`run_procs` drives: local client processes, or Ray client shards (load_shards.py)."""

    async def run_point(
        self, point: int, profile: Any, index: int, sink: Any
    ) -> tuple[list[RequestRecord], str | None]: ...


async def run_procs(procs: PointClients, profiles: Any, opts: Any, sink: Any, meta: dict[str, Any]) -> None:
    """The point loop of :meth:`LoadRunner.run`, with the points run by ``procs``."""

    summaries: list[dict[str, Any]] = []
    index = 0
    while True:
        profile = profiles(summaries)
        if profile is None:
            break
        records, stopped = await procs.run_point(len(summaries), profile, index, sink)
        index += len(records)
        summaries.append(summarize(profile, records, opts.slo))
        if stopped:
            meta["stopped"] = stopped
            break
