"""Prompts that cannot fit the model's context window are refused before anything is built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infermeter.config import build_config
from infermeter.errors import InfermeterError
from infermeter.models.tokenizer import _tokenizer_json
from infermeter.scenarios.context_fit import FitChecker, check_fit, check_points, context_window, fixed_demands


@pytest.fixture
def small_model(tmp_path: Path) -> Path:
    """A model folder whose config says 64 positions, with the Qwen tokenizer (nothing is loaded)."""
    folder = tmp_path / "ctx64"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3", "max_position_embeddings": 64}))
    (folder / "tokenizer.json").write_bytes(_tokenizer_json().read_bytes())
    return folder


def _cfg(model: Path, **over):  # noqa: ANN202
    base = {"model.name": str(model), "prompt_lens": [], "batch_sizes": [], "max_new_tokens": 16}
    return build_config({}, {**base, **over})


def test_window_comes_from_the_model_and_the_engine(small_model: Path) -> None:
    w = context_window(_cfg(small_model))
    assert w is not None and w.tokens == 64 and "max_position_embeddings" in w.source
    w = context_window(_cfg(small_model, backend="vllm", max_model_len=32))
    assert w is not None and (w.tokens, w.source) == (32, "engine.max_model_len")
    assert context_window(_cfg(Path("no-such-model"))) is None  # unknown: nothing is refused


def test_synthetic_prompt_plus_output_must_fit(small_model: Path) -> None:
    check_fit(_cfg(small_model, kind="synthetic", prompt_len=48), "run")  # 48 + 16 = 64 fits exactly
    with pytest.raises(InfermeterError, match=r"--prompt-len 49 \+ 16 new tokens = 65 exceeds .* context of 64"):
        check_fit(_cfg(small_model, kind="synthetic", prompt_len=49), "run")


def test_run_curves_are_checked_only_for_run(small_model: Path) -> None:
    cfg = _cfg(small_model, kind="synthetic", prompt_len=8, prompt_lens=[16, 128])
    assert [d[0] for d in fixed_demands(cfg, "run")] == ["--prompt-len", "--prompt-lens"]
    with pytest.raises(InfermeterError, match="--prompt-lens 128"):
        check_fit(cfg, "run")
    check_fit(cfg, "compare")  # compare sends no context-load curve


def test_dataset_prompts_too_long_are_counted(small_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "items.jsonl"
    lines = [{"prompt": "hi", "answer": "x"}] * 3 + [{"prompt": "word " * 200, "answer": "x"}] * 2
    data.write_text("\n".join(json.dumps(x) for x in lines))
    cfg = _cfg(small_model, kind="jsonl", path=str(data), limit=5)
    with pytest.raises(InfermeterError, match=r"^2 of 5 jsonl prompts .* context of 64 tokens") as err:
        check_fit(cfg, "run")
    assert "\n" not in str(err.value)
    check_fit(_cfg(small_model, kind="jsonl", path=str(data), limit=3), "run")  # the three short ones fit


def test_short_prompts_pass_on_their_byte_count_without_a_tokenizer(small_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"prompt": "short", "answer": "x"}))
    big = _cfg(small_model, kind="jsonl", path=str(data), limit=1)
    (small_model / "config.json").write_text(json.dumps({"max_position_embeddings": 4096}))
    checker = FitChecker()
    checker.check(big, "run")
    assert checker.tokenizers == {}  # 5 bytes + the template margin fit: nothing was tokenized


def test_a_sweep_names_how_many_points_do_not_fit(small_model: Path) -> None:
    points = [(f"prompt_len={n}", _cfg(small_model, kind="synthetic", prompt_len=n)) for n in (16, 32, 60)]
    with pytest.raises(InfermeterError, match=r"^1 of 3 sweep points .*point prompt_len=60: --prompt-len 60"):
        check_points(points)
    check_points(points[:2])
