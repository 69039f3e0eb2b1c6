"""Typed, validated configuration.

One :class:`RunConfig` describes one measured configuration. It comes from defaults, an optional
YAML file, and ``--set key=value`` overrides (a key is a dotted path such as ``generation.top_p``
or a bare field name that is unique across sections, such as ``top_p``). Validation happens on
construction and problems come back as one :class:`InfermeterError` line naming the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infermeter.errors import InfermeterError

DEFAULT_MODEL = "smollm2-135m"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    """What to load and where."""

    name: str = Field(
        DEFAULT_MODEL,
        description="smollm2-135m (embedded), a preset (qwen3-1.7b, ...), a local HF folder, "
        "a .gguf file, or a hub id already in the local cache",
    )
    random_weights: bool = Field(False, description="build the architecture from its config with seeded random weights")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto = bfloat16 on CUDA, float32 on CPU"
    )
    attn_implementation: str | None = Field(None, description="sdpa | eager | ... (None: default)")
    cache: Literal["dynamic", "static", "off"] = Field("dynamic", description="KV cache kind")
    compile: Literal["auto", "on", "off"] = Field(
        "auto", description="torch.compile: auto = transformers' default (static cache on CUDA)"
    )
    allow_offload: bool = Field(False, description="accept a model partly on CPU")

    @field_validator("compile", mode="before")
    @classmethod
    def _compile(cls, v: Any) -> Any:
        # YAML files say `compile: on`, which YAML 1.1 reads as a boolean.
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError(f"unknown device {v!r} (use auto, cpu, cuda or cuda:N)")


class GenerationParams(_Section):
    """Generation knobs passed to the backend."""

    max_new_tokens: int = Field(128, ge=1, description="output length cap (the target when forced)")
    num_beams: int = Field(1, ge=1, description="beam search width (1 = no beam search)")
    do_sample: bool = Field(False, description="sample instead of greedy / beam decoding")
    temperature: float = Field(1.0, ge=0.0, description="sampling temperature (with do_sample)")
    top_k: int | None = Field(None, ge=1, description="top-k sampling (with do_sample)")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="nucleus sampling mass in (0, 1]")
    force_output_len: bool | None = Field(
        None,
        description="force exactly max_new_tokens (None: forced for synthetic prompts, natural length for datasets)",
    )


class WorkloadConfig(_Section):
    """Which prompts the main pass sends."""

    kind: Literal["gsm8k", "synthetic", "jsonl"] = Field("gsm8k", description="prompt source")
    path: str | None = Field(None, description="JSONL file for kind=jsonl")
    limit: int = Field(8, ge=1, description="number of dataset items / synthetic prompts")
    prompt_len: int = Field(128, ge=1, description="synthetic prompt length in tokens")
    batch_size: int = Field(8, ge=1, description="requests per generate() call in the main pass")
    scorer: Literal["auto", "exact", "contains", "numeric"] = Field(
        "auto", description="accuracy scorer (auto: numeric for GSM8K, contains for JSONL)"
    )
    chat: bool = Field(True, description="apply the tokenizer's chat template when it has one")


class MeasureConfig(_Section):
    """How measurements are taken (DESIGN.md section 3)."""

    isolation: Literal["process", "inline"] = Field(
        "process", description="process: fresh worker per configuration; inline: debugging only"
    )
    warmup: Literal["none", "same-input", "different-input"] = Field(
        "different-input", description="warm-up strategy before each measured phase"
    )
    warmup_runs: int = Field(1, ge=0, description="warm-up generate() calls per phase")
    repeats: int = Field(3, ge=1, description="minimum repetitions per speed measurement")
    max_repeats: int = Field(10, ge=1, description="upper bound when the CI is still wide")
    target_rel_ci: float = Field(
        0.05, gt=0, description="stop repeating when the 95%% CI half-width is below this fraction"
    )
    budget_s: float = Field(10.0, gt=0, description="time budget per shape for repeats beyond `repeats` (seconds)")
    prompt_lens: list[int] = Field(
        [128, 512], description="context-load curve: TTFT at these prompt lengths ([] to skip)"
    )
    batch_sizes: list[int] = Field(
        [1, 2, 4, 8], description="batch-efficiency curve over these batch sizes ([] to skip)"
    )
    probe_prompt_len: int = Field(64, ge=1, description="prompt length of the batch curve")
    probe_output_len: int = Field(16, ge=2, description="forced output length of speed probes")
    rss_interval_s: float = Field(0.01, gt=0, description="process RSS / NVML sampling period")

    @field_validator("prompt_lens", "batch_sizes")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(x < 1 for x in v):
            raise ValueError("values must be >= 1")
        return sorted(set(v))


class RunConfig(_Section):
    """One measured configuration."""

    backend: str = Field("hf", description="backend name (see `infermeter backends`)")
    seed: int = Field(0, description="seed for weights, synthetic prompts, sampling")
    output: str = Field("results", description="directory for reports")
    model: ModelConfig = Field(default_factory=ModelConfig)
    generation: GenerationParams = Field(default_factory=GenerationParams)
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)


_SECTIONS = ("model", "generation", "workload", "measure")


def _field_index() -> dict[str, list[str]]:
    """Bare field name -> every dotted path it names (more than one: ambiguous)."""
    seen: dict[str, list[str]] = {}
    for name in RunConfig.model_fields:
        if name not in _SECTIONS:
            seen.setdefault(name, []).append(name)
    for section in _SECTIONS:
        cls = RunConfig.model_fields[section].annotation
        for name in cls.model_fields:  # type: ignore[union-attr]
            seen.setdefault(name, []).append(f"{section}.{name}")
    return seen


def resolve_key(key: str) -> str:
    """Map ``top_p`` or ``generation.top_p`` to the dotted path, or raise a clear error."""
    if "." in key:
        section, _, name = key.partition(".")
        cls = RunConfig.model_fields.get(section)
        if section in _SECTIONS and cls and name in cls.annotation.model_fields:  # type: ignore[union-attr]
            return key
    else:
        paths = _field_index().get(key, [])
        if len(paths) == 1:
            return paths[0]
        if paths:
            raise InfermeterError(f"config key {key!r} is ambiguous: use one of {', '.join(paths)}")
    raise InfermeterError(f"unknown config key {key!r} (see `infermeter run --help` for the keys)")


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2 booleans: only true/false.

    PyYAML follows YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans: ``cache: off`` and
    ``compile: on`` would arrive as False/True. Boolean fields still accept those words as strings.
    """


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value with YAML rules (numbers, true/false, null, lists like [1,2])."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a nested config dict with dotted-or-bare overrides applied."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for section in _SECTIONS:
        if section in out and out[section] is None:  # "generation:" with nothing under it
            out[section] = {}
    for key, value in overrides.items():
        path = resolve_key(key)
        if "." in path:
            section, name = path.split(".", 1)
            if not isinstance(out.setdefault(section, {}), dict):
                raise InfermeterError(f"config section {section!r} must be a mapping of keys")
            out[section][name] = value
        else:
            out[path] = value
    return out


def _one_line(err: ValidationError, source: str) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg} (got {e.get('input')!r})" if loc else msg)
    return f"invalid config{source}: " + "; ".join(parts)


def build_config(
    data: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None, source: str = ""
) -> RunConfig:
    """Validate a nested dict (+ overrides) into a RunConfig, or raise one readable line."""
    merged = apply_overrides(data or {}, overrides or {})
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as err:
        raise InfermeterError(_one_line(err, source)) from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a nested dict, with a clear error when it is not one."""
    p = Path(path)
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except FileNotFoundError:
        raise InfermeterError(f"config file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InfermeterError(f"cannot read config file {p}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InfermeterError(f"malformed YAML in {p}{where}: {getattr(err, 'problem', err)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InfermeterError(f"config file {p} must hold a mapping of keys, not {type(data).__name__}")
    return data
