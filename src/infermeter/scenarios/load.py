"""The ``load`` scenario: an OpenAI-compatible server under a rate profile.

Profiles (GuideLLM's vocabulary): ``synchronous`` (one request at a time), ``concurrent:N`` (N
requests always in flight), ``throughput`` (``max_concurrency`` in flight: the server's ceiling),
``constant:R`` (R requests/s, evenly spaced), ``poisson:R`` (R requests/s, exponential gaps drawn
from the seed), and ``sweep`` (synchronous, then throughput, then constant rates evenly between the
two rates measured). Arrival times are computed before the first request is sent.

Each profile point runs until ``max_requests`` have been sent or ``duration_s`` has passed; the
first ``warmup`` and last ``cooldown`` of it (a share of the limit, ``10%``, or seconds, ``5s``) are
recorded but left out of the measured window. Every request's record goes to ``records.jsonl`` and
the results database as soon as it completes (a writer thread keeps file and database work off the
event loop). Failed requests are counted per reason; ``max_errors`` stops the run.

Every request goes through :meth:`LoadRunner.send` (one place to wrap, e.g. with a response cache).
The per-point numbers are computed from the records in :mod:`infermeter.scenarios.load_analysis`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from infermeter.backends.base import Generation, Prompt, fingerprint
from infermeter.config import GenerationParams
from infermeter.core.collector import collector_off
from infermeter.core.records import RequestRecord, read_records
from infermeter.scenarios.load_guard import CANCELLED, CANCELLED_PHASE, Guard, InFlight, is_cancelled
from infermeter.scenarios.load_options import offsets as planned_offsets
from infermeter.scenarios.load_points import summarize
from infermeter.scenarios.load_profiles import MAX_SYNTHETIC, LoadOptions, Profile, concurrency_part, parse_span
from infermeter.scenarios.load_prompts import serving_prompts
from infermeter.scenarios.run_cache import with_repeats  # --repeat-ratio
from infermeter.workloads.base import WorkItem, load_items


class ThreadedSink:
    """Hands records to a :class:`RecordSink` on a writer thread, so the event loop never waits on disk."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.q: queue.Queue[RequestRecord | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="infermeter-records", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        done = False
        while not done:
            batch = [self.q.get()]
            while not self.q.empty():
                batch.append(self.q.get_nowait())
            done = batch[-1] is None
            recs = [r for r in batch if r is not None]
            try:
                if recs:
                    self.sink.write(recs)
            finally:
                for _ in batch:
                    self.q.task_done()

    def flush(self) -> None:
        """Wait until every queued record is on disk."""
        self.q.join()

    def point_records(self, point: int) -> list[RequestRecord]:
        """The records of one profile point, read back from ``records.jsonl`` once all are written."""
        self.flush()
        return [r for r in read_records(self.sink.path) if r.extra.get("point") == point]

    def put(self, record: RequestRecord) -> None:
        """Queue one finished request (written within milliseconds)."""
        self.q.put(record)

    def close(self) -> None:
        """Write what is queued, then stop."""
        self.q.put(None)
        self.thread.join()
        self.sink.close()


@dataclass
class PointState:
    """Live counters of the profile point being run (read by the progress view)."""

    profile: Profile
    sent: int = 0
    done: int = 0
    errors: int = 0
    tokens: int = 0
    start: float = 0.0
    ttfts: list[float] = field(default_factory=list)


SPIN_S = 0.003  # a scheduled send wakes this early and yields until due (gaps of SPIN_FROM_S or more)
SPIN_FROM_S = 0.02  # at most 15% of the gap spent yielding, and only at 50 requests/s or less

# What a dataset item tells its record (trace time, conversation and turn, its own output length).
_ITEM_KEYS = ("at_s", "conversation", "turn", "max_tokens")

RequestFn = Callable[[Prompt, GenerationParams, bool], Awaitable[Generation]]


class PointSink(Protocol):
    """Where a LoadRunner's records go: a file through :class:`ThreadedSink`, or a client process's list."""

    def put(self, r: RequestRecord) -> None:
        """Take one record."""

    def point_records(self, point: int) -> list[RequestRecord]:
        """The records of one load point."""


class LoadRunner:
    """Drives one client through profile points; records every request as it completes."""

    def __init__(
        self,
        request: RequestFn,
        prompts: list[Prompt],
        params: GenerationParams,
        force: bool,
        opts: LoadOptions,
        sink: PointSink,
        now: Callable[[], float],
    ) -> None:
        self.request, self.prompts, self.params, self.force = request, prompts, params, force
        self.opts, self.sink, self.now = opts, sink, now
        self.errors: Counter[str] = Counter()
        self.stopped: str | None = None
        self.state: PointState | None = None
        self.index = 0  # request ids run on across points
        self.guard = Guard(opts.max_refused)
        self.inflight = InFlight()
        self._stop = asyncio.Event()
        cap = opts.concurrency_cap
        self._cap = asyncio.Semaphore(cap) if cap else None  # --max-concurrency under a rate profile
        self._turns: dict[int, asyncio.Event] = {}  # multi-turn: a turn waits for the one before it

    async def send(self, prompt: Prompt) -> Generation:
        """The one path every request takes (wrap this to add a response cache)."""
        return await self.request(prompt, self.params, self.force)

    # -- which part of the point a request belongs to ------------------------------------------------
    def _phase(self, k: int, t_off: float) -> str:
        o = self.opts
        w, wu = parse_span(o.warmup, "warmup")
        c, cu = parse_span(o.cooldown, "cooldown")
        if o.max_requests is None and o.duration_s is None:  # a whole trace: shares are applied at the end
            return "warmup:load" if wu == "seconds" and t_off < w else "load"
        if o.max_requests is not None and (o.duration_s is None or wu == cu == "fraction"):
            n = o.max_requests
            if (wu == "fraction" and k < int(w * n)) or (wu == "seconds" and t_off < w):
                return "warmup:load"
            if cu == "fraction" and k >= n - int(c * n):
                return "cooldown:load"
            return "load"
        d = o.duration_s or 0.0
        if t_off < (w * d if wu == "fraction" else w):
            return "warmup:load"
        if t_off >= d - (c * d if cu == "fraction" else c):
            return "cooldown:load"
        return "load"

    async def _after_previous_turn(self, k: int, prompt: Prompt) -> asyncio.Event:
        """A conversation's turn is sent once the turn before it (``after`` items earlier) completed."""
        done = self._turns[self.index + k] = asyncio.Event()
        after = prompt.extra.get("after")
        prev = self._turns.pop(self.index + k - after, None) if after else None
        if prev is not None:
            await prev.wait()
        return done

    async def _one(self, point: int, k: int, prompt: Prompt, t_off: float, due: float) -> None:
        st = self.state
        assert st is not None
        turn_done = await self._after_previous_turn(k, prompt) if "turn" in prompt.extra else None
        st.sent += 1
        t_start = self.now()

        async def go() -> Generation:
            if self._cap is not None:  # --max-concurrency under a rate profile
                async with self._cap:
                    return await self.send(prompt)
            return await self.send(prompt)

        g = await self.inflight.call(go, lambda: Generation(t_start, [], "", error=CANCELLED))
        if turn_done is not None:
            turn_done.set()
        target = prompt.extra.get("max_tokens", self.params.max_new_tokens)
        r = RequestRecord(
            request_id=f"load-{self.index + k}",
            phase=CANCELLED_PHASE if is_cancelled(g.error) else self._phase(k, t_off),
            batch_id=self.index + k,
            batch_size=1,
            prompt_tokens=len(prompt.ids),
            t_send=g.t_send,
            token_times=g.token_times,
            target_output_tokens=target if self.force else None,
            tokens_per_chunk=g.extra.get("tokens_per_chunk"),
            error=g.error,
            extra={
                "profile": st.profile.label,
                "point": point,
                "scheduled_s": t_off,
                "send_lag_s": g.t_send - due,  # the client's own delay: due (schedule or free slot) to sent
                "k": k,
                **{key: prompt.extra[key] for key in _ITEM_KEYS if key in prompt.extra},
                "input": fingerprint(prompt),  # for the repeated-input warning, with or without --cache
                **{k2: v for k2, v in g.extra.items() if k2 != "tokens_per_chunk"},
            },
        )
        self.sink.put(r)  # records live on disk, not here: memory stays flat however long the run
        st.done += 1
        st.tokens += r.output_tokens
        if r.token_times:
            st.ttfts.append(r.token_times[0] - r.t_send)
            if len(st.ttfts) > 1000:  # the progress view shows recent ones only
                del st.ttfts[:500]
        if g.error is not None and not is_cancelled(g.error):
            st.errors += 1
            self.errors[g.error] += 1
            if self.opts.max_errors is not None and sum(self.errors.values()) >= self.opts.max_errors:
                self.stopped = f"stopped after {sum(self.errors.values())} errors (--max-errors)"
                self._stop.set()
        backoff = self.guard.after(g.error)
        if self.guard.dead and not self._stop.is_set():
            self.stopped = self.guard.dead
            self._stop.set()
        if backoff and not self._stop.is_set():
            await asyncio.sleep(backoff)  # a dead server is not flooded

    def _more(self, k: int, t_off: float) -> bool:
        o = self.opts
        if self._stop.is_set() or (o.max_requests is not None and k >= o.max_requests):
            return False
        return o.duration_s is None or t_off < o.duration_s

    async def run_point(
        self, point: int, profile: Profile, start: float | None = None, part: tuple[int, int] = (0, 1)
    ) -> list[RequestRecord]:
        """Run one profile point to its limit (``--duration`` cuts requests in flight); return its records.

        With ``part = (i, n)`` this client sends only requests ``k % n == i`` of the point (from the
        shared ``start``), and its share of a concurrency: ``--client-procs`` runs n such clients.
        """
        self.state = st = PointState(profile)
        n_prompts = len(self.prompts)
        t0 = st.start = self.now() if start is None else start
        self.inflight = InFlight()
        d = self.opts.duration_s  # the hard stop counts from the (possibly shared, future) start
        dog = self.inflight.watchdog(None if d is None else d + max(0.0, t0 - self.now()))
        try:
            await self._drive(point, profile, t0, n_prompts, part)
        finally:
            if dog is not None:
                dog.cancel()
        self.index += st.sent
        return self.sink.point_records(point)

    async def _drive(self, point: int, profile: Profile, t0: float, n_prompts: int, part: tuple[int, int]) -> None:
        mine, parts = part
        if profile.concurrency is not None:
            cap = min(profile.concurrency, self.opts.concurrency_cap or profile.concurrency)
            parts, workers = concurrency_part(cap, mine, parts)
            if not workers:  # fewer slots than clients: this one sends nothing in this point
                return
            counter = iter(range(mine, 1 << 62, parts))
            if t0 > self.now():  # clients sharing a start (--client-procs, --client-shards) wait for it
                await asyncio.sleep(t0 - self.now())

            async def worker() -> None:
                while True:
                    due = self.now()
                    k, t_off = next(counter), due - t0
                    if not self._more(k, t_off):
                        return
                    await self._one(point, k, self.prompts[(self.index + k) % n_prompts], t_off, due)

            await asyncio.gather(*(worker() for _ in range(workers)))
        else:
            offsets = planned_offsets(profile, self.opts, point, self.prompts)
            tasks = []
            for k, off in enumerate(offsets.tolist()):
                if not self._more(k, off):
                    break
                if k % parts != mine:
                    continue
                delay = t0 + off - self.now()
                if delay > 0:
                    await self._until(delay)
                    if self._stop.is_set():
                        break
                prompt = self.prompts[(self.index + k) % n_prompts]
                tasks.append(asyncio.ensure_future(self._one(point, k, prompt, off, t0 + off)))
                if len(tasks) >= 1024:  # finished requests are on disk: let their tasks go
                    for t in tasks:
                        if t.done():
                            t.result()  # an unexpected exception surfaces here, not in a log line
                    tasks = [t for t in tasks if not t.done()]
            await asyncio.gather(*tasks)

    async def _until(self, delay: float) -> None:
        """Sleep ``delay`` seconds. With a long gap ahead (a low rate), wake ``SPIN_S`` early and yield to the
        event loop until then: a busy machine wakes a sleeping process milliseconds late, and the
        epoll timeout alone rounds up to the next millisecond. Short gaps just sleep (no CPU burnt)."""
        if delay < SPIN_FROM_S:
            await asyncio.sleep(delay)
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + delay  # the loop's own clock: the spin ends even under a frozen test clock
        await asyncio.sleep(delay - SPIN_S)
        while loop.time() < end and not self._stop.is_set():
            await asyncio.sleep(0)

    async def run(self, profiles: Callable[[list[dict[str, Any]]], Profile | None]) -> list[dict[str, Any]]:
        """Run points until ``profiles(summaries so far)`` says None or the run is stopped."""

        summaries: list[dict[str, Any]] = []
        while not self._stop.is_set():
            profile = profiles(summaries)
            if profile is None:
                break
            with collector_off():  # no collection pause inside a measured point (core/collector.py)
                recs = await self.run_point(len(summaries), profile)
            summaries.append(summarize(profile, recs, self.opts.slo, self.opts))
        return summaries


def prompts_for(backend: Any, cfg: Any, planned: int = 0) -> tuple[list[Prompt], bool]:
    """The workload's prompts (encoded before anything is timed) and whether lengths are forced.

    Synthetic prompts are distinct for every planned request (up to MAX_SYNTHETIC), so a load test
    does not repeat inputs unless asked to (``--repeat-ratio``): a server's prefix or response cache
    would otherwise make it look faster than real traffic would. Dataset items cycle.
    """

    items: list[WorkItem] = load_items(cfg.workload)
    served = serving_prompts(backend, cfg, items, planned)  # ShareGPT, random lengths, traces, multi-turn
    if served is not None:
        return served
    synthetic = cfg.workload.kind == "synthetic"
    if synthetic:
        n = cfg.workload.prompt_len
        count = max(len(items), min(planned, MAX_SYNTHETIC))
        prompts = [backend.synthetic_prompt(n, np.random.default_rng([cfg.seed, 11, i])) for i in range(count)]
        items = [items[i % len(items)] for i in range(count)]  # one item per prompt (--repeat-ratio draws from them)
    else:
        prompts = [backend.encode(it) for it in items]

    _, prompts = with_repeats(cfg, items, prompts)
    forced = cfg.generation.force_output_len
    return prompts, (forced if forced is not None else synthetic)
