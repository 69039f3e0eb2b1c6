"""``--executor ray --client-shards N``: one load test sent from N Ray actors, on different nodes.

For load a single host cannot send (its CPU or its network), the point's requests are partitioned
as for ``--client-procs`` (request ``k`` is sent by shard ``k % N``; a concurrency is split), but
each shard is a Ray actor. A placement group with the SPREAD strategy puts the actors on different
nodes where the cluster has enough; the report says which shards share a node.

Clocks. Every duration (TTFT, ITL, E2E, send lag) is measured on one host with that host's
monotonic clock, so no offset enters it. At start the driver estimates each shard host's wall-clock
offset (:mod:`infermeter.core.skew`: several round trips, the shortest one wins, uncertainty =
RTT/2) and uses it twice: each point's common start time, chosen in the driver's wall clock, is
converted into every shard's clock; and a shard's records are moved onto the driver's timeline (one
constant per shard added to every timestamp of its records, kept as ``extra.clock_shift_s``) so the
timeline, the measured window and throughput span all shards. Intervals within a record are unchanged.

The records come back to the driver with each point's results; only the driver writes
``records.jsonl``, the report and the results database (no shared filesystem is needed). The server
must be reachable at ``--base-url`` from every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

from infermeter.backends.openai import OpenAIClient, counter
from infermeter.core.clock import PerfClock, wall_minus_mono, wall_now
from infermeter.core.collector import collector_off
from infermeter.core.records import RequestRecord
from infermeter.core.skew import Skew, measure_skew
from infermeter.errors import InfermeterError
from infermeter.executors.ray_exec import RayExecutor
from infermeter.scenarios.load import LoadRunner
from infermeter.scenarios.load_extras import pool_size, warm_pool


class _ListSink:
    """Collects one point's records in the shard's memory (the driver writes them)."""

    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def put(self, r: RequestRecord) -> None:
        self.records.append(r)

    def point_records(self, point: int) -> list[RequestRecord]:
        """This shard's records of one point."""
        return [r for r in self.records if r.extra.get("point") == point]


START_AHEAD_S = 1.0  # a point's common start is this far ahead: every shard has its order before it comes
PLACE_TIMEOUT_S = 60.0  # the placement group must be placed by then (else: the cluster is too small)
SKEW_ROUNDS = 8  # clock exchanges per shard
_perf = PerfClock().now  # the shard's monotonic clock (perf_counter), for every duration it measures


class ShardClient:
    """One client shard (run as a Ray actor): its own HTTP client, its share of every point."""

    def __init__(self, i: int, n: int, cfg: Any, opts: Any, prompts: list[Any], force: bool, served: str, tok: Any):
        self.i, self.n, self.cfg, self.opts, self.prompts, self.force = i, n, cfg, opts, prompts, force
        self.served, self.tok = served, tok
        self.client: Any = None

    async def open(self) -> dict[str, Any]:
        """Open and warm this shard's connections; where it runs and its wall-minus-monotonic clock."""
        import ray  # the actor runs on Ray: it is there

        self.client = OpenAIClient(
            self.cfg.server, model=self.served, seed=self.cfg.seed, count=counter(self.tok), now=_perf
        )
        await self.client.open()
        warmed = await warm_pool(self.client, pool_size(self.opts))
        ctx = ray.get_runtime_context()
        return {"warmed": warmed, "host": socket.gethostname(), "pid": os.getpid(), "node_id": ctx.get_node_id(),
                "wall_minus_mono_s": wall_minus_mono()}  # fmt: skip

    async def wall(self) -> float:
        """This host's wall clock (for the driver's offset estimate)."""
        return wall_now()

    async def run_point(self, point: int, profile: Any, start_wall: float, index: int) -> tuple[list[dict], str | None]:
        """Send this shard's requests of one point from ``start_wall`` (this host's wall clock)."""
        sink = _ListSink()
        runner = LoadRunner(self.client.request, self.prompts, self.cfg.generation, self.force, self.opts, sink, _perf)  # type: ignore[arg-type]
        runner.index = index
        with collector_off():  # no collection pause inside a measured point, as in the one-process client
            await runner.run_point(point, profile, start_wall - wall_minus_mono(), (self.i, self.n))
        return [r.to_dict() for r in sink.records], runner.stopped

    async def close(self) -> None:
        """Close the HTTP session."""
        if self.client is not None:
            await self.client.close()


def record_shift(wall_minus_mono_shard: float, skew: Skew, wall_minus_mono_driver: float) -> float:
    """What to add to a shard's monotonic timestamps to put them on the driver's monotonic timeline.

    shard wall = driver wall + offset at one instant, and wall = monotonic + (wall - monotonic) on each host.
    """
    return wall_minus_mono_shard - skew.offset_s - wall_minus_mono_driver


def shifted(d: dict[str, Any], shard: int, shift: float) -> RequestRecord:
    """A shard's record (as sent back) on the driver's timeline: every timestamp moved by ``shift``."""
    r = RequestRecord.from_dict(d)
    r.t_send += shift
    r.token_times = [t + shift for t in r.token_times]
    if isinstance(r.extra.get("t_headers"), float):
        r.extra["t_headers"] += shift
    r.extra["shard"], r.extra["clock_shift_s"] = shard, shift
    return r


def _one_line(err: BaseException) -> str:
    cause = getattr(err, "cause", None)
    if isinstance(cause, InfermeterError):
        return str(cause)
    return (str(cause or err).strip().splitlines() or [type(err).__name__])[-1]


class ClientShards:
    """N Ray actors sharing each point's schedule (see the module docstring); the ``ClientProcs`` interface."""

    def __init__(self, n: int, cfg: Any, opts: Any, prompts: list[Any], force: bool, served: str, tok: Any) -> None:
        self.n, self.opts = n, opts
        self.executor = RayExecutor(address=opts.ray_address, retries=0)
        self.executor.check([])  # join (or start) Ray: one line when it cannot
        self.ray = ray = self.executor.ray
        self.actors: list[Any] = []
        self.pg: Any = None
        try:
            pg = self.pg = self._place(n)
            cls = ray.remote(num_cpus=1, max_restarts=0, max_concurrency=1000)(ShardClient)
            from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy as strategy

            self.actors = [
                cls.options(scheduling_strategy=strategy(placement_group=pg, placement_group_bundle_index=i)).remote(
                    i, n, cfg, opts, prompts, force, served, tok
                )
                for i in range(n)
            ]
            self.info = self._get([a.open.remote() for a in self.actors], "start")
            for i, info in enumerate(self.info):
                if not info["warmed"]:
                    raise InfermeterError(
                        f"client shard {i} on {info['host']} cannot reach the server at {cfg.server.base_url} "
                        "(--base-url must be reachable from every node of the Ray cluster)"
                    )
            self.skews = [self._skew(a) for a in self.actors]
            mine = wall_minus_mono()
            self.shifts = [
                record_shift(info["wall_minus_mono_s"], s, mine) for info, s in zip(self.info, self.skews, strict=True)
            ]
        except BaseException:
            self.close()
            raise
        self.warmed = sum(info["warmed"] for info in self.info)

    def _place(self, n: int) -> Any:
        """A ready SPREAD placement group of one CPU per shard (one line when the cluster cannot give it)."""
        ray = self.ray
        free = ray.available_resources().get("CPU", 0)
        if free < n:
            raise InfermeterError(
                f"--client-shards {n}: the Ray cluster has {free:g} free CPU(s), each shard needs one"
            )
        pg = self.pg = ray.util.placement_group([{"CPU": 1}] * n, strategy="SPREAD")  # close() frees it
        if not pg.wait(timeout_seconds=PLACE_TIMEOUT_S):
            raise InfermeterError(f"--client-shards {n}: Ray could not place {n} shards in {PLACE_TIMEOUT_S:g} s")
        return pg

    def _get(self, refs: list[Any], what: str) -> list[Any]:
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayError as err:
            raise InfermeterError(f"a client shard failed to {what}: {_one_line(err)}") from None

    def _skew(self, actor: Any) -> Skew:
        return measure_skew(lambda: self.ray.get(actor.wall.remote()), wall_now, SKEW_ROUNDS)

    async def run_point(
        self, point: int, profile: Any, index: int, sink: Any
    ) -> tuple[list[RequestRecord], str | None]:
        """Run one point on every shard from one start time; its merged records (also written to ``sink``)
        and a stop reason."""
        start = wall_now() + START_AHEAD_S  # the driver's wall clock; each shard gets it in its own
        refs = [
            a.run_point.remote(point, profile, start + s.offset_s, index)
            for a, s in zip(self.actors, self.skews, strict=True)
        ]
        try:  # awaited on the event loop, not a thread: Ctrl-C cancels it at once (close() then stops the actors)
            replies = await asyncio.gather(*refs)
        except self.ray.exceptions.RayError as err:
            raise InfermeterError(f"a client shard failed to run its share: {_one_line(err)}") from None
        records = [shifted(d, i, self.shifts[i]) for i, (recs, _) in enumerate(replies) for d in recs]
        records.sort(key=lambda r: r.batch_id)
        for r in records:
            sink.put(r)
        return records, next((s for _, s in replies if s), None)

    def describe(self) -> dict[str, Any]:
        """Where each shard ran and its clock: for the report (``load_run.client_shards``)."""
        shards = []
        for i, (info, skew) in enumerate(zip(self.info, self.skews, strict=True)):
            same = [j for j, other in enumerate(self.info) if j != i and other["node_id"] == info["node_id"]]
            shards.append({"shard": i, "node_id": info["node_id"], "host": info["host"], "pid": info["pid"],
                           "clock_offset_s": skew.offset_s, "clock_uncertainty_s": skew.uncertainty_s,
                           "rtt_s": skew.rtt_s, "skew_rounds": skew.rounds, "clock_shift_s": self.shifts[i],
                           "connections_warmed": info["warmed"], "shares_node_with": same})  # fmt: skip
        cluster = self.executor.describe()
        return {"executor": "ray", "address": cluster["address"], "nodes": cluster.get("nodes"),
                "nodes_used": len({s["node_id"] for s in shards}), "shards": shards}  # fmt: skip

    def close(self) -> None:
        """Stop the actors, free their placement, disconnect from Ray if this run connected."""
        ray = self.ray
        for a in self.actors:
            with contextlib.suppress(Exception):  # an actor that is already gone has nothing to close
                ray.get(a.close.remote(), timeout=10)
            ray.kill(a)
        self.actors = []
        if self.pg is not None:
            ray.util.remove_placement_group(self.pg)
            self.pg = None
        self.executor.close()
