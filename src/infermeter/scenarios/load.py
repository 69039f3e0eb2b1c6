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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infermeter.backends.base import Generation, Prompt, fingerprint
from infermeter.config import GenerationParams
from infermeter.core.limits import MAX_CONCURRENCY, MAX_SWEEP_POINTS, check_count, check_rate
from infermeter.core.records import RequestRecord
from infermeter.errors import InfermeterError
from infermeter.scenarios.load_guard import CANCELLED, CANCELLED_PHASE, MAX_REFUSED, Guard, InFlight, is_cancelled

PROFILE_KINDS = ("synchronous", "throughput", "concurrent", "constant", "poisson")


@dataclass(frozen=True)
class Profile:
    """One profile point: its kind and its concurrency or rate."""

    kind: str
    value: float | None = None  # concurrency (concurrent, throughput) or requests/s (constant, poisson)

    @property
    def label(self) -> str:
        """``poisson:5`` etc."""
        return self.kind if self.value is None else f"{self.kind}:{self.value:g}"

    @property
    def rate(self) -> float | None:
        """Target requests per second (rate profiles only)."""
        return self.value if self.kind in ("constant", "poisson") else None

    @property
    def concurrency(self) -> int | None:
        """Requests kept in flight (concurrency profiles only)."""
        if self.kind == "synchronous":
            return 1
        return int(self.value) if self.kind in ("concurrent", "throughput") and self.value else None


def parse_profile(text: str, max_concurrency: int) -> Profile | None:
    """A profile from its text; None for ``sweep`` (its points depend on measured rates)."""
    kind, _, arg = text.strip().partition(":")
    if kind == "sweep" and not arg:
        return None
    if kind == "synchronous" and not arg:
        return Profile("synchronous")
    if kind == "throughput" and not arg:
        return Profile("throughput", float(max_concurrency))
    try:
        value = float(arg)
    except ValueError:
        value = -1.0
    if kind in ("concurrent", "throughput") and value >= 1 and value == int(value):
        check_count(int(value), f"--profile {text}:", MAX_CONCURRENCY)
        return Profile(kind, value)
    if kind in ("constant", "poisson") and value > 0:
        check_rate(value, f"--profile {text!r}")
        return Profile(kind, value)
    raise InfermeterError(
        f"--profile {text!r}: use synchronous, throughput, concurrent:N (N >= 1), constant:R, poisson:R (R > 0) "
        "or sweep"
    )


def parse_span(text: str | None, what: str) -> tuple[float, str]:
    """``"10%"`` -> (0.1, "fraction"), ``"5s"`` -> (5.0, "seconds"), None/"0" -> (0, "fraction")."""
    if not text or text.strip() in ("0", "0%", "0s"):
        return 0.0, "fraction"
    t = text.strip()
    try:
        if t.endswith("%"):
            v = float(t[:-1]) / 100
            if 0 <= v < 1:
                return v, "fraction"
        elif t.endswith("s") and float(t[:-1]) >= 0:
            return float(t[:-1]), "seconds"
    except ValueError:
        pass
    raise InfermeterError(f"--{what} {text!r}: use a share of the run (10%) or seconds (5s)")


@dataclass
class LoadOptions:
    """What ``infermeter load`` does beyond the config (server, workload, generation)."""

    profile: str = "synchronous"
    max_requests: int | None = None
    duration_s: float | None = None
    warmup: str | None = None
    cooldown: str | None = None
    slo: dict[str, float] = field(default_factory=dict)
    max_errors: int | None = None
    sweep_points: int = 6
    max_concurrency: int = 64
    seed: int = 0
    max_refused: int = MAX_REFUSED  # connection failures in a row that stop the run (the server is down)

    def validate(self) -> None:
        """One clear line for options that cannot work."""
        if self.max_requests is None and self.duration_s is None:
            raise InfermeterError("load needs a limit: --max-requests N and/or --duration 30s")
        if self.max_requests is not None and self.max_requests < 1:
            raise InfermeterError("--max-requests must be >= 1")
        if self.duration_s is not None and self.duration_s <= 0:
            raise InfermeterError("--duration must be > 0")
        if self.max_errors is not None and self.max_errors < 1:
            raise InfermeterError("--max-errors must be >= 1")
        if self.sweep_points < 2:
            raise InfermeterError("--sweep-points must be >= 2 (synchronous and throughput)")
        if self.max_concurrency < 1:
            raise InfermeterError("--max-concurrency must be >= 1")
        check_count(self.max_concurrency, "--max-concurrency", MAX_CONCURRENCY)
        check_count(self.max_requests, "--max-requests", MAX_SCHEDULE)
        check_count(self.sweep_points, "--sweep-points", MAX_SWEEP_POINTS, low=2)
        parse_profile(self.profile, self.max_concurrency)
        w, wu = parse_span(self.warmup, "warmup")
        c, cu = parse_span(self.cooldown, "cooldown")
        if wu == cu == "fraction" and w + c >= 1:
            raise InfermeterError("--warmup and --cooldown leave nothing to measure (their shares add up to >= 100%)")
        if cu == "seconds" and c and self.duration_s is None:
            raise InfermeterError("--cooldown in seconds needs --duration (a request limit has no known end time)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def schedule(profile: Profile, n: int, seed: int) -> np.ndarray:
    """Send offsets (seconds from the start) of the first ``n`` requests of a rate profile."""
    assert profile.rate is not None
    if profile.kind == "constant":
        return np.arange(n) / profile.rate
    gaps = np.random.default_rng([seed, 7]).exponential(1.0 / profile.rate, size=n)
    return np.concatenate([[0.0], np.cumsum(gaps[:-1])])


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


RequestFn = Callable[[Prompt, GenerationParams, bool], Awaitable[Generation]]


class LoadRunner:
    """Drives one client through profile points; records every request as it completes."""

    def __init__(
        self,
        request: RequestFn,
        prompts: list[Prompt],
        params: GenerationParams,
        force: bool,
        opts: LoadOptions,
        sink: ThreadedSink,
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

    async def send(self, prompt: Prompt) -> Generation:
        """The one path every request takes (wrap this to add a response cache)."""
        return await self.request(prompt, self.params, self.force)

    # -- which part of the point a request belongs to ------------------------------------------------
    def _phase(self, k: int, t_off: float) -> str:
        o = self.opts
        w, wu = parse_span(o.warmup, "warmup")
        c, cu = parse_span(o.cooldown, "cooldown")
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

    async def _one(self, point: int, k: int, prompt: Prompt, t_off: float) -> None:
        st = self.state
        assert st is not None
        st.sent += 1
        t_start = self.now()
        g = await self.inflight.call(lambda: self.send(prompt), lambda: Generation(t_start, [], "", error=CANCELLED))
        r = RequestRecord(
            request_id=f"load-{self.index + k}",
            phase=CANCELLED_PHASE if is_cancelled(g.error) else self._phase(k, t_off),
            batch_id=self.index + k,
            batch_size=1,
            prompt_tokens=len(prompt.ids),
            t_send=g.t_send,
            token_times=g.token_times,
            target_output_tokens=self.params.max_new_tokens if self.force else None,
            tokens_per_chunk=g.extra.get("tokens_per_chunk"),
            error=g.error,
            extra={
                "profile": st.profile.label,
                "point": point,
                "scheduled_s": t_off,
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

    async def run_point(self, point: int, profile: Profile) -> list[RequestRecord]:
        """Run one profile point to its limit (``--duration`` cuts requests in flight); return its records."""
        self.state = st = PointState(profile)
        n_prompts = len(self.prompts)
        t0 = st.start = self.now()
        self.inflight = InFlight()
        dog = self.inflight.watchdog(self.opts.duration_s)
        try:
            await self._drive(point, profile, t0, n_prompts)
        finally:
            if dog is not None:
                dog.cancel()
        self.index += st.sent
        self.sink.flush()
        return point_records(self.sink.sink.path, point)

    async def _drive(self, point: int, profile: Profile, t0: float, n_prompts: int) -> None:
        if profile.concurrency is not None:
            counter = iter(range(1 << 62))

            async def worker() -> None:
                while True:
                    k, t_off = next(counter), self.now() - t0
                    if not self._more(k, t_off):
                        return
                    await self._one(point, k, self.prompts[(self.index + k) % n_prompts], t_off)

            await asyncio.gather(*(worker() for _ in range(profile.concurrency)))
        else:
            n = self.opts.max_requests or int((self.opts.duration_s or 0) * (profile.rate or 0) * 1.5 + 16)
            n = min(n, MAX_SCHEDULE)  # arrival times are computed up front: 8 bytes each
            offsets = schedule(profile, n, self.opts.seed + point)
            tasks = []
            for k, off in enumerate(offsets.tolist()):
                if not self._more(k, off):
                    break
                delay = t0 + off - self.now()
                if delay > 0:
                    await asyncio.sleep(delay)
                    if self._stop.is_set():
                        break
                prompt = self.prompts[(self.index + k) % n_prompts]
                tasks.append(asyncio.ensure_future(self._one(point, k, prompt, off)))
                if len(tasks) >= 1024:  # finished requests are on disk: let their tasks go
                    for t in tasks:
                        if t.done():
                            t.result()  # an unexpected exception surfaces here, not in a log line
                    tasks = [t for t in tasks if not t.done()]
            await asyncio.gather(*tasks)

    async def run(self, profiles: Callable[[list[dict[str, Any]]], Profile | None]) -> list[dict[str, Any]]:
        """Run points until ``profiles(summaries so far)`` says None or the run is stopped."""
        from infermeter.scenarios.load_analysis import summarize

        summaries: list[dict[str, Any]] = []
        while not self._stop.is_set():
            profile = profiles(summaries)
            if profile is None:
                break
            recs = await self.run_point(len(summaries), profile)
            summaries.append(summarize(profile, recs, self.opts.slo))
        return summaries


def point_records(path: Path, point: int) -> list[RequestRecord]:
    """The records of one profile point, read back from ``records.jsonl``."""
    import json

    out = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if (row.get("extra") or {}).get("point") == point:
                out.append(RequestRecord.from_dict(row))
    return out


def sweep_profiles(opts: LoadOptions) -> Callable[[list[dict[str, Any]]], Profile | None]:
    """The next point of a sweep (or of a single profile) from the points measured so far."""
    single = parse_profile(opts.profile, opts.max_concurrency)

    def nxt(done: list[dict[str, Any]]) -> Profile | None:
        if single is not None:
            return single if not done else None
        if not done:
            return Profile("synchronous")
        if len(done) == 1:
            return Profile("throughput", float(opts.max_concurrency))
        lo, hi = done[0]["request_rate"], done[1]["request_rate"]
        if not lo or not hi or len(done) >= opts.sweep_points:
            return None
        rates = np.linspace(lo, hi, opts.sweep_points)[1:-1]
        if hi <= lo:
            return None
        return Profile("constant", float(f"{rates[len(done) - 2]:.4g}"))

    return nxt


MAX_SCHEDULE = 10_000_000  # requests of one rate point at most (80 MB of arrival times)
MAX_SYNTHETIC = 4096  # distinct synthetic prompts at most (requests beyond that cycle through them)


def planned_requests(opts: LoadOptions) -> int:
    """How many requests the run will send at most (duration-limited runs: a generous guess)."""
    if opts.max_requests is None:
        return MAX_SYNTHETIC
    return opts.max_requests * (opts.sweep_points if opts.profile == "sweep" else 1)


def prompts_for(backend: Any, cfg: Any, planned: int = 0) -> tuple[list[Prompt], bool]:
    """The workload's prompts (encoded before anything is timed) and whether lengths are forced.

    Synthetic prompts are distinct for every planned request (up to MAX_SYNTHETIC), so a load test
    does not repeat inputs unless asked to (``--repeat-ratio``): a server's prefix or response cache
    would otherwise make it look faster than real traffic would. Dataset items cycle.
    """
    from infermeter.workloads.base import load_items

    items = load_items(cfg.workload)
    synthetic = cfg.workload.kind == "synthetic"
    if synthetic:
        n = cfg.workload.prompt_len
        count = max(len(items), min(planned, MAX_SYNTHETIC))
        prompts = [backend.synthetic_prompt(n, np.random.default_rng([cfg.seed, 11, i])) for i in range(count)]
        items = [items[i % len(items)] for i in range(count)]  # one item per prompt (--repeat-ratio draws from them)
    else:
        prompts = [backend.encode(it) for it in items]
    from infermeter.scenarios.run_cache import with_repeats  # --repeat-ratio (issue 8)

    _, prompts = with_repeats(cfg, items, prompts)
    forced = cfg.generation.force_output_len
    return prompts, (forced if forced is not None else synthetic)


def execute(cfg: Any, opts: LoadOptions, run_dir: Path, view: Any, meta: dict[str, Any], wrap: Any = None) -> None:
    """Run the whole load test; ``meta`` receives what the records do not hold (load info, stop reason).

    ``wrap(request_fn) -> request_fn`` may replace the request path (e.g. a response cache).
    """
    from infermeter.backends.openai import OpenAIBackend
    from infermeter.core.clock import PerfClock
    from infermeter.scenarios.run import RECORDS_FILE, RecordSink

    backend = OpenAIBackend(cfg, PerfClock())
    meta["load"] = backend.load().__dict__
    backend.close()
    prompts, force = prompts_for(backend, cfg, planned_requests(opts))
    sink = ThreadedSink(RecordSink(Path(run_dir) / RECORDS_FILE))

    async def main() -> None:
        client = backend.make_client()
        await client.open()
        request: RequestFn = wrap(client.request) if wrap else client.request
        runner = LoadRunner(request, prompts, cfg.generation, force, opts, sink, client.now)

        async def tick() -> None:
            while True:
                view.show(runner.state, runner.errors, client.now())
                await asyncio.sleep(0.25)

        ticker = asyncio.ensure_future(tick())
        try:
            await runner.run(sweep_profiles(opts))
        finally:
            meta["stopped"] = runner.stopped
            ticker.cancel()
            await client.close()

    try:
        asyncio.run(main())
    finally:
        sink.close()
