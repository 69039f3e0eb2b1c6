"""Redaction (full text first, then cut), printable server text, and the input bounds."""

from __future__ import annotations

import pytest

from infermeter.config import build_config, load_yaml
from infermeter.core import redact
from infermeter.core.limits import check_rate, checked_usage, non_stream_reason
from infermeter.errors import InfermeterError

KEY = "sk-" + "a1b2c3d4" * 20  # 163 characters


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch):
    monkeypatch.setattr(redact, "_registered", set())
    monkeypatch.delenv(redact.URL_AUTH_ENV, raising=False)


def test_a_key_crossing_the_cut_is_masked_whole_before_the_cut():
    redact.register(KEY)
    text = "x" * 100 + " key=" + KEY + " tail"
    out = redact.clean(text, 120)
    assert KEY[:8] not in out and "***" in out and len(out) <= 120


def test_keys_from_credential_named_environment_variables_are_known(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-123456789")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a credential name
    assert redact.redact("a tok-123456789 b") == "a *** b"
    assert "false-but-long" not in redact.known()


def test_json_escaped_secret_is_masked_too():
    redact.register('pa"ss/word\\x')
    assert "pa" not in redact.redact('{"e": "pa\\"ss/word\\\\x"}').replace('"e"', "")


def test_printable_removes_escapes_and_controls():
    text = "a\x1b[2J\x1b]52;c;ZXZpbA==\x07b\x00c\u2028d\ud800e\x9b31mf"
    assert redact.printable(text) == "abcdef"
    assert redact.for_console("[/] [bold]x") == "\\[/] \\[bold]x"


def test_url_credentials_move_out_of_the_config():
    cfg = build_config({"server": {"base_url": "http://alice:hunter2-pw@127.0.0.1:9/v1"}})
    assert cfg.server.base_url == "http://127.0.0.1:9/v1"
    assert redact.url_auth_for("http://127.0.0.1:9/v1/chat/completions") == ("alice", "hunter2-pw")
    assert redact.url_auth_for("http://127.0.0.1:10/v1") is None
    assert redact.redact("echo alice:hunter2-pw and hunter2-pw") == "echo *** and ***"
    assert redact.mask_url("http://u:p@h:1/x") == "http://***@h:1/x"


def test_literal_secret_in_a_custom_auth_header_is_refused():
    with pytest.raises(InfermeterError, match="X-Custom-Auth") as err:
        build_config({"server": {"headers": {"X-Custom-Auth": "literal-secret"}}})
    assert "literal-secret" not in str(err.value)
    build_config({"server": {"headers": {"X-Custom-Auth": "$MY_VAR", "X-Trace": "plain"}}})


@pytest.mark.parametrize(
    ("key", "value", "flag"),
    [
        ("workload.batch_size", 100_000_000, "--batch-size"),
        ("generation.max_new_tokens", 1_000_000_000, "--max-new-tokens"),
        ("workload.prompt_len", 10**9, "--prompt-len"),
    ],
)
def test_absurd_sizes_fail_before_anything_is_built(key, value, flag):
    with pytest.raises(InfermeterError, match=flag):
        build_config({}, {key: value})


def test_rates_must_be_finite_and_bounded():
    for bad in (float("inf"), float("nan"), 0.0, 1e12):
        with pytest.raises(InfermeterError):
            check_rate(bad, "--profile")
    check_rate(5.0, "--profile")


def test_billion_laughs_yaml_is_refused_quickly(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines))
    with pytest.raises(InfermeterError, match="aliases"):
        load_yaml(tmp_path / "bomb.yaml")


def test_a_huge_yaml_and_duplicate_keys_are_refused(tmp_path):
    (tmp_path / "big.yaml").write_text("seed: 1\n" + "# pad\n" * 300_000)
    with pytest.raises(InfermeterError, match="too large"):
        load_yaml(tmp_path / "big.yaml")
    (tmp_path / "dup.yaml").write_text("seed: 1\nseed: 2\n")
    with pytest.raises(InfermeterError, match="duplicate key 'seed'"):
        load_yaml(tmp_path / "dup.yaml")


def test_an_invalid_value_is_quoted_briefly():
    with pytest.raises(InfermeterError) as err:
        build_config({"seed": [list(range(1000))] * 1000})
    assert len(str(err.value)) < 400


@pytest.mark.parametrize(
    ("reported", "retok", "used", "flagged"),
    [(8, 8, 8, False), (5_000_000, 8, 8, True), (-3, 8, 8, True), ("many", 8, 8, True), (None, 8, None, False),
     (True, 8, 8, True), (40, 8, 40, False)],
)  # fmt: skip
def test_usage_is_checked_against_the_text(reported, retok, used, flagged):
    n, why = checked_usage(reported, retok, 8)
    assert n == used and bool(why) == flagged


def test_non_stream_answers_are_named():
    assert "one JSON body" in non_stream_reason([b'  {"choices": []}'])
    assert "HTML" in non_stream_reason([b"<!DOCTYPE html><html>"])
    assert non_stream_reason([b"data: {"]) is None
