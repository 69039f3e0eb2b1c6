"""Configuration: defaults, --set overrides, validation messages, YAML files, value parsing."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from infermeter import config as config_mod
from infermeter.config import (
    DEFAULT_MODEL,
    RunConfig,
    apply_overrides,
    build_config,
    load_yaml,
    parse_value,
    resolve_key,
)
from infermeter.errors import InfermeterError


def test_defaults_are_valid():
    cfg = build_config()
    assert cfg == RunConfig()
    assert cfg.model.name == DEFAULT_MODEL
    assert cfg.model.device == "auto"
    assert cfg.generation.top_p == 1.0
    assert cfg.generation.num_beams == 1
    assert cfg.workload.kind == "gsm8k"
    assert cfg.measure.batch_sizes == [1, 2, 4, 8]


@pytest.mark.parametrize("key", ["top_p", "generation.top_p"])
def test_bare_and_dotted_keys(key):
    assert resolve_key(key) == "generation.top_p"
    assert build_config(overrides={key: 0.9}).generation.top_p == 0.9


def test_bare_keys_of_every_section():
    cfg = build_config(overrides={"seed": 7, "device": "cuda:1", "num_beams": 4, "kind": "synthetic", "repeats": 5})
    assert cfg.seed == 7
    assert cfg.model.device == "cuda:1"
    assert cfg.generation.num_beams == 4
    assert cfg.workload.kind == "synthetic"
    assert cfg.measure.repeats == 5


def test_every_bare_field_name_resolves():
    # No field name is currently shared by two sections, so every one works bare.
    for section in ("model", "generation", "workload", "measure"):
        for name in RunConfig.model_fields[section].annotation.model_fields:
            assert resolve_key(name) == f"{section}.{name}"


def test_overrides_merge_into_yaml_data_without_mutating_it():
    data = {"generation": {"top_p": 0.5, "num_beams": 2}, "seed": 1}
    cfg = build_config(data, {"top_p": 0.8, "seed": 3})
    assert cfg.generation.top_p == 0.8
    assert cfg.generation.num_beams == 2  # the rest of the section is kept
    assert cfg.seed == 3
    assert data == {"generation": {"top_p": 0.5, "num_beams": 2}, "seed": 1}
    assert apply_overrides({}, {"max_new_tokens": 4}) == {"generation": {"max_new_tokens": 4}}


@pytest.mark.parametrize("key", ["top_q", "generation.top_q", "sampling.top_p", "generation", "top_p.x", ""])
def test_unknown_key(key):
    with pytest.raises(InfermeterError) as err:
        resolve_key(key)
    msg = str(err.value)
    assert msg == f"unknown config key {key!r} (see `infermeter run --help` for the keys)"
    with pytest.raises(InfermeterError, match="unknown config key"):
        build_config(overrides={key: 1})


def test_ambiguous_bare_key_is_refused(monkeypatch):
    # Two sections sharing a field name: the bare name must not silently pick one of them.
    class A(BaseModel):
        x: int = 0
        only_a: int = 0

    class B(BaseModel):
        x: int = 0

    class Fake(BaseModel):
        a: A = A()
        b: B = B()

    monkeypatch.setattr(config_mod, "RunConfig", Fake)
    monkeypatch.setattr(config_mod, "_SECTIONS", ("a", "b"))
    assert resolve_key("only_a") == "a.only_a"
    assert resolve_key("a.x") == "a.x"
    assert resolve_key("b.x") == "b.x"
    with pytest.raises(InfermeterError, match="'x'"):
        resolve_key("x")


def _one_line_error(**overrides) -> str:
    with pytest.raises(InfermeterError) as err:
        build_config(overrides=overrides)
    msg = str(err.value)
    assert "\n" not in msg
    assert type(err.value) is InfermeterError
    return msg


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"num_beams": 0}, "generation.num_beams"),
        ({"num_beams": -2}, "generation.num_beams"),
        ({"top_p": 0}, "generation.top_p"),
        ({"top_p": 1.5}, "generation.top_p"),
        ({"temperature": -0.1}, "generation.temperature"),
        ({"max_new_tokens": 0}, "generation.max_new_tokens"),
        ({"device": "gpu"}, "model.device"),
        ({"device": "cuda:"}, "model.device"),
        ({"device": "cuda:x"}, "model.device"),
        ({"dtype": "float8"}, "model.dtype"),
        ({"batch_size": -1}, "workload.batch_size"),
        ({"batch_sizes": [1, -4]}, "measure.batch_sizes"),
        ({"batch_sizes": [0]}, "measure.batch_sizes"),
        ({"prompt_lens": [-128]}, "measure.prompt_lens"),
    ],
)
def test_bad_values_give_one_line_naming_the_field(overrides, field):
    msg = _one_line_error(**overrides)
    assert msg.startswith(f"invalid config: {field}: ")
    value = next(iter(overrides.values()))
    assert f"(got {value!r})" in msg


def test_bad_value_messages():
    assert "unknown device 'gpu' (use auto, cpu, cuda, cuda:N or cuda:0,cuda:1,...)" in _one_line_error(device="gpu")
    assert "'bfloat16'" in _one_line_error(dtype="float8")  # the allowed values are listed
    assert "values must be >= 1" in _one_line_error(batch_sizes=[-1])


def test_valid_edge_values():
    cfg = build_config(overrides={"top_p": 1, "temperature": 0, "device": "cuda:0", "batch_sizes": [4, 1, 4]})
    assert cfg.generation.top_p == 1.0
    assert cfg.generation.temperature == 0.0
    assert cfg.measure.batch_sizes == [1, 4]  # sorted, duplicates dropped


def test_several_problems_stay_on_one_line():
    with pytest.raises(InfermeterError) as err:
        build_config(overrides={"num_beams": 0, "top_p": 2})
    msg = str(err.value)
    assert "\n" not in msg
    assert "generation.num_beams" in msg and "generation.top_p" in msg


def test_source_is_named_and_unknown_yaml_field_refused():
    with pytest.raises(InfermeterError) as err:
        build_config({"generation": {"top_q": 0.5}}, source=" in my.yaml")
    msg = str(err.value)
    assert msg.startswith("invalid config in my.yaml: generation.top_q: ")
    assert "\n" not in msg


def test_assignment_is_validated():
    cfg = build_config()
    with pytest.raises(ValueError):
        cfg.generation.top_p = 0


# -- YAML files --------------------------------------------------------------------------------


def test_load_yaml(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text("model:\n  device: cpu\ngeneration:\n  top_p: 0.9\nseed: 3\n", encoding="utf-8")
    data = load_yaml(p)
    assert data == {"model": {"device": "cpu"}, "generation": {"top_p": 0.9}, "seed": 3}
    cfg = build_config(data, {"num_beams": 2})
    assert (cfg.model.device, cfg.generation.top_p, cfg.generation.num_beams, cfg.seed) == ("cpu", 0.9, 2, 3)


def test_load_empty_yaml(tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("# nothing yet\n", encoding="utf-8")
    assert load_yaml(p) == {}


def test_missing_yaml_file(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(InfermeterError) as err:
        load_yaml(p)
    assert str(err.value) == f"config file not found: {p}"


def test_malformed_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("model:\n  name: x\n   device: cpu\n", encoding="utf-8")  # line 3 over-indented
    with pytest.raises(InfermeterError) as err:
        load_yaml(p)
    msg = str(err.value)
    assert msg.startswith(f"malformed YAML in {p} line 3: ")
    assert "\n" not in msg


def test_malformed_yaml_unclosed_bracket(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("measure:\n  batch_sizes: [1, 2\nseed: 1\n", encoding="utf-8")
    with pytest.raises(InfermeterError, match=r"malformed YAML in .*bad\.yaml line \d+: "):
        load_yaml(p)


def test_yaml_list_instead_of_mapping(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("- top_p: 0.5\n- seed: 1\n", encoding="utf-8")
    with pytest.raises(InfermeterError) as err:
        load_yaml(p)
    assert str(err.value) == f"config file {p} must hold a mapping of keys, not list"


# -- --set values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("0.5", 0.5),
        ("true", True),
        ("false", False),
        ("[1,2]", [1, 2]),
        ("null", None),
        ("abc", "abc"),
        ("cuda:0", "cuda:0"),
        ("[1,", "[1,"),  # not valid YAML: kept as text
    ],
)
def test_parse_value(text, value):
    got = parse_value(text)
    assert got == value
    assert type(got) is type(value)
