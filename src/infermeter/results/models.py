"""Typed reports: one pydantic model per report kind, the JSON Schema made from them, migrations.

A report on disk is plain JSON (``report.json``). These models say what each kind holds; sections
that grow with every metric (``metrics``, ``compare``, ``soak``, ``sweep``, ``load_run``) are typed at
their top level and keep unknown keys, so a report written by a newer minor version still reads.
``docs/schema/report.schema.json`` is generated from :func:`json_schema` (a test keeps it in step).

Versions: 1 named the KV-cache key ``model.cache``; 2 names it ``model.kv_cache`` and stores no
confidence interval where fewer than two independent units stand behind a mean (null instead).
:func:`migrate` brings an older report to the current version; a newer one is refused by name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from infermeter.errors import InfermeterError

SCHEMA_VERSION = 2

Status = Literal["running", "complete", "partial", "failed", "interrupted"]


class _Open(BaseModel):
    """A section that keeps keys it does not know (newer writers may add some)."""

    model_config = ConfigDict(extra="allow")


class Summary(_Open):
    """A distribution's summary: n, mean, percentiles, and the 95% CI of the mean (null without one)."""

    n: int
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    p99: float | None = None
    stdev: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None


class Requests(_Open):
    """Request counts of a run's main pass."""

    total: int
    ok: int
    errors: int
    prompt_tokens: int = 0
    output_tokens: int = 0


class RunMetrics(_Open):
    """The metrics section of a run report (docs/metrics.md)."""

    requests: Requests
    ttft_s: Summary | None = None
    tpot_s: Summary | None = None
    itl_s: Summary | None = None
    e2e_s: Summary | None = None
    decode_tps: Summary | None = None
    stream_tps: float | None = None
    output_throughput: float | None = None
    context_load: dict[str, Any] | None = None
    batch_efficiency: dict[str, Any] | None = None
    accuracy: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None


class _Report(_Open):
    schema_version: int
    status: Status
    error: str | None = None
    run_dir: str | None = None
    environment: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)


class RunReport(_Report):
    """``infermeter run``: one configuration, six metrics, every raw record."""

    kind: Literal["run"]
    config: dict[str, Any]
    load: dict[str, Any] | None = None
    first_call: dict[str, Any] | None = None
    workload: dict[str, Any] | None = None
    metrics: RunMetrics
    processes: dict[str, Any] | None = Field(
        None, description="run --processes N: per metric, every process's value and the CI over processes"
    )
    records: list[dict[str, Any]] = Field(default_factory=list)


class CompareReport(_Report):
    """``infermeter compare``: variants in fresh processes, interleaved rounds, ratios with CIs."""

    kind: Literal["compare"]
    configs: dict[str, dict[str, Any]]
    compare: dict[str, Any] | None = None


class SoakReport(_Report):
    """``infermeter soak``: repeated calls per cleanup strategy, trends and verdicts."""

    kind: Literal["soak"]
    config: dict[str, Any]
    configs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    soak: dict[str, Any] | None = None


class SweepReport(_Report):
    """``infermeter sweep``: a grid of runs, per-knob effects, Pareto fronts."""

    kind: Literal["sweep"]
    config: dict[str, Any]
    sweep: dict[str, Any]


class ClientShard(_Open):
    """One ``--client-shards`` Ray actor: where it ran, its host's clock offset, its requests per point."""

    shard: int
    node_id: str | None = None
    host: str
    clock_offset_s: float = Field(description="the shard host's wall clock minus the driver's (best exchange)")
    clock_uncertainty_s: float = Field(description="half the round trip of that exchange: |error| <= this")
    rtt_s: float
    shares_node_with: list[int] = Field(default_factory=list)
    requests: list[int] = Field(default_factory=list)
    requests_planned: list[int | None] = Field(default_factory=list)


class ClientShards(_Open):
    """``load --executor ray --client-shards N``: the cluster and every shard."""

    executor: str
    address: str | None = None
    nodes: int | None = None
    nodes_used: int | None = None
    shards: list[ClientShard]


class LoadRun(_Open):
    """The ``load_run`` section: typed where a field is fixed; the per-point numbers grow with every metric."""

    client_shards: ClientShards | None = None


class LoadReport(_Report):
    """``infermeter load``: a server under rate profiles, per-point latency, throughput, goodput."""

    kind: Literal["load"]
    config: dict[str, Any]
    load_run: LoadRun | None = None


AnyReport = Annotated[RunReport | CompareReport | SoakReport | SweepReport | LoadReport, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyReport)


def _rename_kv_cache(config: Any) -> None:
    model = config.get("model") if isinstance(config, dict) else None
    if isinstance(model, dict) and "cache" in model and "kv_cache" not in model:
        model["kv_cache"] = model.pop("cache")


def _v1_to_v2(data: dict[str, Any]) -> None:
    _rename_kv_cache(data.get("config"))
    for cfg in (data.get("configs") or {}).values():
        _rename_kv_cache(cfg)
    for point in (data.get("sweep") or {}).get("points") or []:
        _rename_kv_cache(point.get("config"))


_MIGRATIONS = {1: _v1_to_v2}  # from version -> step to the next


def migrate(data: dict[str, Any], source: str = "report") -> dict[str, Any]:
    """Bring a report dict to :data:`SCHEMA_VERSION` (in place); refuse a newer or unknown version."""
    version = data.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise InfermeterError(f"{source}: not an infermeter report (schema_version {version!r})")
    if version > SCHEMA_VERSION:
        raise InfermeterError(
            f"{source}: report schema_version {version} is newer than this infermeter reads "
            f"(up to {SCHEMA_VERSION}); upgrade infermeter"
        )
    while version < SCHEMA_VERSION:
        _MIGRATIONS[version](data)
        version += 1
    data["schema_version"] = version
    return data


def validate(data: dict[str, Any], source: str = "report") -> Any:
    """The typed model of a (current-version) report dict, or one line naming what is wrong."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as err:
        e = err.errors()[0]
        where = ".".join(str(x) for x in e["loc"][1:])  # loc[0] is the discriminator's value (the kind)
        raise InfermeterError(f"{source}: not a valid {data.get('kind', '?')} report: {where}: {e['msg']}") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every report kind (``docs/schema/report.schema.json``)."""
    schema = _ADAPTER.json_schema()
    schema["title"] = f"infermeter report, schema version {SCHEMA_VERSION}"
    return schema
