"""Typed, validated configuration.

One :class:`RunConfig` describes one measured configuration. It comes from defaults, an optional
YAML file, and ``--set key=value`` overrides (a key is a dotted path such as ``generation.top_p``
or a bare field name that is unique across sections, such as ``top_p``). Validation happens on
construction and problems come back as one :class:`InfermeterError` line naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infermeter.core.limits import check_config, check_yaml, short_repr
from infermeter.core.redact import SECRET_NAME, redact, take_url_auth
from infermeter.errors import InfermeterError

DEFAULT_MODEL = "smollm2-135m"


# -- response-cache sizes (`--cache lru:SIZE`) ----------------------------------------------------
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class CacheSpec:
    """Bounds of an LRU response cache: at most ``max_entries`` entries and ``max_bytes`` payload bytes."""

    max_entries: int | None = None
    max_bytes: int | None = None

    def __str__(self) -> str:
        parts = [str(self.max_entries)] if self.max_entries else []
        if self.max_bytes:
            parts.append(f"{self.max_bytes}B")
        return "lru:" + ",".join(parts)


def parse_cache_spec(spec: str | None) -> CacheSpec | None:
    """``none`` -> None; ``lru:64`` (entries), ``lru:64MB`` (bytes) or ``lru:1000,64MB`` (both) -> CacheSpec.

    Byte units: B, KB/MB/GB (powers of 1000), KiB/MiB/GiB or K/M/G (powers of 1024).
    """
    text = (spec or "none").strip()
    if text.lower() in ("none", "off", ""):
        return None
    kind, sep, rest = text.partition(":")
    if kind.lower() != "lru" or not sep or not rest.strip():
        raise InfermeterError(
            f"response cache must be lru:SIZE or none (e.g. lru:64, lru:64MB, lru:1000,64MB), got {spec!r}"
        )
    entries = nbytes = None
    for part in re.split(r"[,/]", rest):
        m = _SIZE.match(part)
        unit = m.group(2).lower() if m else ""
        if not m or (unit and unit not in _UNITS):
            raise InfermeterError(f"bad cache size {part.strip()!r} in {spec!r} (a count like 64, bytes like 64MB)")
        value = float(m.group(1))
        if unit:
            if nbytes is not None:
                raise InfermeterError(f"cache spec {spec!r} gives two byte limits")
            nbytes = int(value * _UNITS[unit])
        else:
            if entries is not None or value != int(value):
                raise InfermeterError(f"cache spec {spec!r}: the entry limit must be one whole number")
            entries = int(value)
    if (entries is not None and entries < 1) or (nbytes is not None and nbytes < 1):
        raise InfermeterError(f"cache spec {spec!r}: limits must be positive")
    return CacheSpec(entries, nbytes)


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
    device: str = Field(
        "auto", description="auto | cpu | cuda | cuda:N | cuda:0,cuda:1,... (hf: one model spread over these GPUs)"
    )
    device_map: dict[str, str] | None = Field(
        None,
        description="hf, several devices: module name -> device (None: layers balanced over the devices)",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto = bfloat16 on CUDA, float32 on CPU"
    )
    attn_implementation: str | None = Field(None, description="sdpa | eager | ... (None: default)")
    kv_cache: Literal["dynamic", "static", "off"] = Field("dynamic", description="KV cache kind")
    compile: Literal["auto", "on", "off"] = Field(
        "auto", description="torch.compile: auto = transformers' default (static cache on CUDA)"
    )
    allow_offload: bool = Field(False, description="accept a model partly on CPU")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        # Configs and reports written before the rename say `cache:` for the KV cache.
        if isinstance(data, dict) and "cache" in data and "kv_cache" not in data:
            data = {("kv_cache" if k == "cache" else k): v for k, v in data.items()}
        return data

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
        parts = [p.strip() for p in v.split(",")]
        if len(parts) > 1 and all(p.startswith("cuda:") and p[5:].isdigit() for p in parts):
            if len(set(parts)) < len(parts):
                raise ValueError(f"device {v!r} lists a GPU twice")
            return ",".join(parts)
        raise ValueError(f"unknown device {v!r} (use auto, cpu, cuda, cuda:N or cuda:0,cuda:1,...)")


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

    kind: str = Field(
        "gsm8k",
        description="prompt source, any registered workload (`infermeter workloads`): datasets gsm8k, gpqa, "
        "easy-vqa, okvqa/vqav2 (your files), jsonl, csv; synthetic; shared-prefix, many-requests; vLLM's "
        "serving datasets sharegpt, multi-turn, hf-json, random, sonnet, trace (load)",
    )
    path: str | None = Field(
        None,
        description="dataset file: JSONL/CSV (jsonl, csv), the questions JSON (okvqa), a folder in easy-VQA "
        "layout (easy-vqa), another file in the packaged format (gsm8k, gpqa)",
    )
    annotations: str | None = Field(None, description="okvqa/vqav2: annotations JSON (None: no accuracy)")
    images: str | None = Field(None, description="okvqa/vqav2: folder holding the COCO images")
    image_pattern: str | None = Field(
        None, description="okvqa/vqav2 image file names (None: COCO_{subtype}_{image_id:012d}.jpg)"
    )
    limit: int = Field(8, ge=1, description="number of dataset items / synthetic prompts")
    sample: Literal["first", "random"] = Field(
        "first", description="which dataset items: the first `limit` in file order, or a seeded random sample"
    )
    sample_seed: int = Field(
        0, description="seed of sample=random and of GPQA option order (apart from `seed`, so the items stay put)"
    )
    skip_bad: bool = Field(False, description="skip (and count) bad dataset items instead of stopping at the first")
    prompt_len: int = Field(128, ge=1, description="synthetic prompt length in tokens")
    batch_size: int = Field(8, ge=1, description="requests per generate() call in the main pass")
    scorer: Literal["auto", "exact", "contains", "numeric", "choice", "vqa"] = Field(
        "auto",
        description="accuracy scorer (auto: numeric for GSM8K, choice for GPQA, vqa for VQA sets, contains for "
        "JSONL/CSV)",
    )
    chat: bool = Field(True, description="apply the tokenizer's chat template when it has one")
    lengths: str | None = Field(
        None,
        description="random: prompt_tokens=N,output_tokens=N; N fixed, a range 128-512, or a mean with "
        "_stdev/_min/_max (None: prompt_len and max_new_tokens)",
    )
    prefix_len: int = Field(200, ge=0, description="sonnet: tokens of the prefix every prompt shares")
    output_len: int | None = Field(
        None, ge=1, description="serving datasets: this output length for every request instead of the dataset's own"
    )
    columns: dict[str, str] = Field(
        {}, description="hf-json: column names, e.g. {prompt: question, output_len: n_out, reply: answer}"
    )
    repeat_ratio: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="fraction of requests that repeat an earlier one (seeded; None: every item once, in order)",
    )


class MeasureConfig(_Section):
    """How measurements are taken (docs/metrics.md)."""

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
    dataset_budget_s: float = Field(
        60.0, gt=0, description="run: time budget for repeating the dataset pass to reach `repeats` units (seconds)"
    )
    prompt_lens: list[int] = Field(
        [128, 512], description="context-load curve: TTFT at these prompt lengths ([] to skip)"
    )
    batch_sizes: list[int] = Field(
        [1, 2, 4, 8], description="batch-efficiency curve over these batch sizes ([] to skip)"
    )
    probe_prompt_len: int = Field(64, ge=1, description="prompt length of the batch curve")
    probe_output_len: int = Field(16, ge=2, description="forced output length of speed probes")
    rss_interval_s: float = Field(0.01, gt=0, description="process RSS / NVML sampling period")
    response_cache: str = Field(
        "none",
        description="response cache in front of the model in the main pass: none | lru:ENTRIES | lru:BYTES "
        "(64MB, 1GiB) | lru:ENTRIES,BYTES; deterministic requests only",
    )

    @field_validator("response_cache")
    @classmethod
    def _response_cache(cls, v: str) -> str:
        try:
            parse_cache_spec(v)
        except InfermeterError as err:
            raise ValueError(str(err)) from None
        return v

    @field_validator("prompt_lens", "batch_sizes")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(x < 1 for x in v):
            raise ValueError("values must be >= 1")
        return sorted(set(v))


_SECRET_HEADER = SECRET_NAME  # auth, api-key, token, cookie, secret, password, session, signature


class ServerConfig(_Section):
    """An OpenAI-compatible server (backend ``openai``): where it is and how to talk to it.

    The API key is never part of the config (configs are written into reports): it is read from the
    environment variable named by ``api_key_env``. Header values may reference environment
    variables as ``$NAME``; headers that carry credentials must do so.
    """

    base_url: str | None = Field(None, description="server URL, e.g. http://127.0.0.1:8000 (a trailing /v1 is fine)")
    api: Literal["chat", "completions"] = Field(
        "chat", description="chat: /v1/chat/completions; completions: /v1/completions"
    )
    served_model: str | None = Field(None, description="model name on the server (None: the first of /v1/models)")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (sent as Bearer)")
    headers: dict[str, str] = Field({}, description="extra request headers; values may be $ENV_VAR references")
    connect_timeout_s: float = Field(10.0, gt=0, description="TCP connect timeout per request (seconds)")
    read_timeout_s: float = Field(60.0, gt=0, description="longest wait for the next bytes of a response (seconds)")
    request_timeout_s: float | None = Field(
        None, gt=0, description="overall deadline per request in seconds (None: 60 s + 0.5 s per max_new_tokens)"
    )
    max_response_mb: float = Field(32.0, gt=0, description="largest response body read, in MB (larger: an error)")
    tokenizer: str = Field(
        "auto",
        description="client-side token counting: auto (model.name when local, else qwen) | qwen | HF folder",
    )
    force_fields: bool = Field(
        True, description="when the output length is forced, also send ignore_eos and min_tokens (vLLM, llama.cpp)"
    )
    extra_body: dict[str, Any] = Field({}, description="extra JSON fields merged into every request body")
    token_ids: bool = Field(
        False,
        description="completions API: send synthetic prompts as token ids, so the server processes exactly "
        "the asked length (text is re-tokenized); for servers that accept id prompts, such as vLLM",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must start with http:// or https:// and name a host")
        # user:password in the URL would be written into every report: it moves to the environment.
        return take_url_auth(v) if v is not None else v

    @field_validator("headers")
    @classmethod
    def _no_literal_secrets(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if _SECRET_HEADER.search(name) and not re.fullmatch(r"\$\{?[A-Za-z_]\w*\}?", value.strip()):
                # Configs are written into reports and the results database: credentials stay in the
                # environment. Not a ValueError: pydantic's message would quote the secret.
                raise InfermeterError(
                    f"invalid config: server.headers: {name!r} carries a credential: give it as $ENV_VAR, not literally"
                )
        return v


class EngineConfig(_Section):
    """Serving-engine knobs of the in-process vLLM backend (backend ``vllm``); None: vLLM's default.

    A server started outside infermeter takes the same knobs as its own command-line flags.
    """

    enable_prefix_caching: bool | None = Field(None, description="reuse KV blocks of shared prompt prefixes")
    max_num_seqs: int | None = Field(None, ge=1, description="continuous batching: most sequences per engine step")
    enable_chunked_prefill: bool | None = Field(None, description="split long prefills across engine steps")
    max_num_batched_tokens: int | None = Field(None, ge=1, description="token budget of one engine step")
    max_model_len: int | None = Field(2048, ge=16, description="longest prompt + output, sizes the KV cache")
    kv_cache_space_gb: float | None = Field(
        2.0, gt=0, description="KV cache in GiB (vLLM kv_cache_memory_bytes; servers on CPU: VLLM_CPU_KVCACHE_SPACE)"
    )
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1, description="GPU only: fraction vLLM may take")
    enforce_eager: bool | None = Field(None, description="skip CUDA graphs / torch.compile (faster start)")
    tensor_parallel_size: int | None = Field(None, ge=1, description="GPUs one model's layers are split across")
    pipeline_parallel_size: int | None = Field(None, ge=1, description="pipeline stages (GPUs) of one model")


class RunConfig(_Section):
    """One measured configuration."""

    backend: str = Field("hf", description="backend name (see `infermeter backends`)")
    seed: int = Field(0, description="seed for weights, synthetic prompts, sampling")
    output: str = Field("results", description="directory for reports")
    label: str | None = Field(None, description="a name for this run: shown by `history`, part of its folder name")
    model: ModelConfig = Field(default_factory=ModelConfig)
    generation: GenerationParams = Field(default_factory=GenerationParams)
    workload: WorkloadConfig = Field(default_factory=WorkloadConfig)
    measure: MeasureConfig = Field(default_factory=MeasureConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)


_SECTIONS = ("model", "generation", "workload", "measure", "server", "engine")


def _section_model(section: str) -> type[BaseModel]:
    """The model class of one of RunConfig's sections (``model``, ``generation``, ...)."""
    cls = RunConfig.model_fields[section].annotation
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise TypeError(f"RunConfig.{section} is not a section")
    return cls


def _field_index() -> dict[str, list[str]]:
    """Bare field name -> every dotted path it names (more than one: ambiguous)."""
    seen: dict[str, list[str]] = {}
    for name in RunConfig.model_fields:
        if name not in _SECTIONS:
            seen.setdefault(name, []).append(name)
    for section in _SECTIONS:
        for name in _section_model(section).model_fields:
            seen.setdefault(name, []).append(f"{section}.{name}")
    return seen


#: keys renamed since earlier versions: old -> new (old names keep working)
RENAMED = {"cache": "kv_cache", "model.cache": "model.kv_cache"}


def resolve_key(key: str) -> str:
    """Map ``top_p`` or ``generation.top_p`` to the dotted path, or raise a clear error."""
    key = RENAMED.get(key, key)
    if "." in key:
        section, _, name = key.partition(".")
        if section in _SECTIONS and name in _section_model(section).model_fields:
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


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    """A mapping whose keys are unique: with PyYAML's default a repeated key silently wins."""
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: the constructor below says so
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value with YAML rules (numbers, true/false, null, lists like [1,2])."""
    check_yaml(text, f"--set value {text[:40]!r}")
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
        parts.append(f"{loc}: {msg} (got {short_repr(e.get('input'))})" if loc else msg)
    return redact(f"invalid config{source}: " + "; ".join(parts))


def build_config(
    data: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None, source: str = ""
) -> RunConfig:
    """Validate a nested dict (+ overrides) into a RunConfig, or raise one readable line."""
    merged = apply_overrides(data or {}, overrides or {})
    try:
        cfg = RunConfig.model_validate(merged)
    except ValidationError as err:
        raise InfermeterError(_one_line(err, source)) from None
    check_config(cfg)  # absurd sizes fail here, before prompts or batches are built
    return cfg


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a nested dict, with a clear error when it is not one."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        check_yaml(text, str(p))
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
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
