"""Load profiles and options: what rate or concurrency each point runs at, and the seeded schedule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infermeter.core.limits import MAX_CONCURRENCY, MAX_SWEEP_POINTS, check_count, check_rate
from infermeter.errors import InfermeterError
from infermeter.scenarios.load_guard import MAX_REFUSED
from infermeter.scenarios.load_options import check_burstiness, gaps_for, parse_span

MAX_SCHEDULE = 10_000_000  # requests of one rate point at most (80 MB of arrival times)
MAX_SYNTHETIC = 4096  # distinct synthetic prompts at most (requests beyond that cycle through them)


@dataclass(frozen=True)
class Profile:
    """One profile point: its kind and its concurrency or rate."""

    kind: str
    value: float | None = None  # concurrency (concurrent, throughput), requests/s (constant, poisson, end of
    # a ramp) or the replay speed (trace)
    start: float | None = None  # ramp: the first rate
    shape: str | None = None  # ramp: linear | exponential

    @property
    def label(self) -> str:
        """``poisson:5`` etc."""
        if self.kind == "ramp":
            return f"ramp:{self.shape}:{self.start:g}:{self.value:g}"
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
    if kind in ("sweep", "slo-search") and not arg:
        return None
    if kind == "synchronous" and not arg:
        return Profile("synchronous")
    if kind == "throughput" and not arg:
        return Profile("throughput", float(max_concurrency))
    if kind == "trace":  # trace[:SPEED]: requests at their recorded times (SPEED 2: twice as fast)
        try:
            speed = float(arg.rstrip("x")) if arg else 1.0
        except ValueError:
            speed = -1.0
        if speed > 0:
            return Profile("trace", speed)
    if kind == "ramp":  # ramp:linear|exponential:A:B, rates in requests/s
        shape, _, rates = arg.partition(":")
        a, _, b = rates.partition(":")
        try:
            start, end = float(a), float(b)
        except ValueError:
            start = end = -1.0
        if shape in ("linear", "exponential") and start > 0 and end > 0:
            return Profile("ramp", end, start, shape)
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
        f"--profile {text!r}: use synchronous, throughput, concurrent:N (N >= 1), constant:R, poisson:R (R > 0), "
        "ramp:linear|exponential:A:B, trace[:SPEED], sweep or slo-search"
    )


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
    concurrency_cap: int | None = None  # --max-concurrency given: requests in flight at most, every profile
    burstiness: float = 1.0  # gamma-distributed gaps of poisson:R (1 = Poisson)
    percentiles: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)
    label: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    server_metrics: str = "auto"  # scrape the server's Prometheus /metrics: auto, off or a URL
    client_procs: int = 1  # client processes sharing the arrival schedule (scenarios/load_procs.py)
    executor: str = "local"  # ray: the client runs as Ray actors (--client-shards, scenarios/load_shards.py)
    ray_address: str | None = None  # auto | HOST:PORT | None (start a local Ray)
    client_shards: int | None = None  # Ray actors sharing the arrival schedule, on different nodes where possible
    slo_target: float = 0.9  # slo-search: the share of requests that must meet the SLO
    search_points: int = 8  # slo-search: profile points at most (the throughput point included)
    max_refused: int = MAX_REFUSED  # connection failures in a row that stop the run (the server is down)

    def validate(self) -> None:
        """One clear line for options that cannot work."""
        if self.max_requests is None and self.duration_s is None and not self.profile.startswith("trace"):
            raise InfermeterError("load needs a limit: --max-requests N and/or --duration 30s")
        if self.max_requests is not None and self.max_requests < 1:
            raise InfermeterError("--max-requests must be >= 1")
        if self.duration_s is not None and self.duration_s <= 0:
            raise InfermeterError("--duration must be > 0")
        if self.max_errors is not None and self.max_errors < 1:
            raise InfermeterError("--max-errors must be >= 1")
        if self.sweep_points < 2:
            raise InfermeterError("--sweep-points must be >= 2 (synchronous and throughput)")
        if self.max_concurrency < 1 or (self.concurrency_cap is not None and self.concurrency_cap < 1):
            raise InfermeterError("--max-concurrency must be >= 1")
        check_count(self.max_concurrency, "--max-concurrency", MAX_CONCURRENCY)
        check_count(self.max_requests, "--max-requests", MAX_SCHEDULE)
        check_count(self.sweep_points, "--sweep-points", MAX_SWEEP_POINTS, low=2)
        check_burstiness(self.burstiness)
        parse_profile(self.profile, self.max_concurrency)
        _validate_extras(self)
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
    return np.concatenate([[0.0], np.cumsum(gaps_for(profile.kind, profile.rate, n, seed)[:-1])])


def concurrency_part(cap: int, mine: int, parts: int) -> tuple[int, int]:
    """(clients that send, workers of client ``mine``) when ``parts`` clients share ``cap`` slots.

    Client i takes request numbers ``k % sending == i``; with fewer slots than clients (a synchronous
    point over 2 clients) only the first ``cap`` clients send, so every request number has its sender.
    """
    sending = min(parts, cap)
    return sending, (cap // sending + (mine < cap % sending) if mine < sending else 0)


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


def planned_requests(opts: LoadOptions) -> int:
    """How many requests the run will send at most (duration-limited runs: a generous guess)."""
    if opts.max_requests is None:
        return MAX_SYNTHETIC

    return opts.max_requests * points_planned(opts)


def _validate_extras(opts: Any) -> None:
    """One clear line for extra options that cannot work."""
    if opts.client_procs < 1:
        raise InfermeterError("--client-procs must be >= 1")
    _validate_shards(opts)
    if not opts.server_metrics or not (
        opts.server_metrics in ("auto", "off") or opts.server_metrics.startswith(("http://", "https://"))
    ):
        raise InfermeterError(f"--server-metrics {opts.server_metrics!r}: use auto, off or an http(s):// URL")
    if opts.profile == "slo-search":
        if not opts.slo:
            raise InfermeterError("--profile slo-search needs --slo (e.g. --slo ttft=200ms,tpot=50ms)")
        if not 0 < opts.slo_target <= 1:
            raise InfermeterError("--slo-target must be a share in (0, 1], e.g. 0.9 or 90%")
        if opts.search_points < 2:
            raise InfermeterError("--search-points must be >= 2 (the throughput point and one rate)")


def _validate_shards(opts: Any) -> None:
    """--executor ray, --ray-address and --client-shards go together; a shard needs requests to send."""
    if opts.executor not in ("local", "ray"):
        raise InfermeterError(f"--executor {opts.executor!r}: use local or ray")
    if opts.executor != "ray":
        if opts.client_shards is not None:
            raise InfermeterError("--client-shards needs --executor ray (the shards are Ray actors)")
        if opts.ray_address is not None:
            raise InfermeterError("--ray-address goes with --executor ray")
        return
    n = opts.client_shards
    if n is not None and n < 1:
        raise InfermeterError(f"--client-shards must be >= 1 (got {n})")
    if opts.client_procs > 1:
        raise InfermeterError("give --client-procs (processes on this host) or --client-shards (Ray actors), not both")
    if n is not None and opts.max_requests is not None and n > opts.max_requests:
        raise InfermeterError(f"--client-shards {n} is more shards than requests (--max-requests {opts.max_requests})")


def points_planned(opts: Any) -> int:
    """How many profile points the run has at most."""
    return {"sweep": opts.sweep_points, "slo-search": opts.search_points}.get(opts.profile, 1)
