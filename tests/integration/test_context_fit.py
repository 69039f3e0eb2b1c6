"""Prompts longer than the model's context fail before anything is built or sent: one line, exit 2.

A real tiny-qwen3 checkpoint whose config says 64 positions: a prompt that fits is measured, one
that does not is refused by run, compare, sweep (no run folder is made), and by load against the
null server reporting ``max_model_len`` (no request reaches it).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

QUIET = ("--quiet", "--prompt-lens", "", "--batch-sizes", "", "--limit", "2", "--batch-size", "2")


@pytest.fixture(scope="module")
def ctx64(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-qwen3 saved as a HF folder, its context cut to 64 positions."""
    import torch

    from infermeter.models.presets import build_model, get_preset
    from infermeter.models.tokenizer import qwen_tokenizer

    folder = tmp_path_factory.mktemp("models") / "tiny-ctx64"
    build_model(get_preset("tiny-qwen3"), dtype=torch.float32, device="cpu", seed=3).save_pretrained(folder)
    qwen_tokenizer().save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 64}))
    return folder


def _refused(proc, *words: str) -> None:  # noqa: ANN001
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert all(w in lines[0] for w in ("context of 64 tokens", *words)), lines[0]


def test_run_measures_a_prompt_that_fits_and_refuses_one_that_does_not(ctx64: Path, tmp_path: Path) -> None:
    model = ("--model", str(ctx64), "--workload", "synthetic", "--max-new-tokens", "8", *QUIET)
    ok = run_cli("run", *model, "--prompt-len", "16", "--output", "fits", tmp=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert len(list((tmp_path / "fits").iterdir())) == 1

    proc = run_cli("run", *model, "--prompt-len", "60", "--output", "refused", tmp=tmp_path)
    _refused(proc, "--prompt-len 60 + 8 new tokens = 68")
    assert not (tmp_path / "refused").exists()  # refused before a run folder was made


def test_dataset_prompts_are_counted(ctx64: Path, tmp_path: Path) -> None:
    args = ("--model", str(ctx64), "--workload", "gsm8k", "--limit", "5", "--max-new-tokens", "16", "--output", "out")
    proc = run_cli("run", "--quiet", "--prompt-lens", "", "--batch-sizes", "", *args, tmp=tmp_path)
    _refused(proc, "3 of 5 gsm8k prompts", "gsm8k-0")
    assert not (tmp_path / "out").exists()


def test_compare_and_sweep_refuse_before_any_worker(ctx64: Path, tmp_path: Path) -> None:
    base = ("--model", str(ctx64), "--workload", "synthetic", "--prompt-len", "32", "--max-new-tokens", "8")
    proc = run_cli("compare", *base, "--quiet", "--output", "cmp", "--variant", "short:max_new_tokens=8",
                   "--variant", "long:max_new_tokens=40", tmp=tmp_path)  # fmt: skip
    _refused(proc, "variant long: --prompt-len 32 + 40")
    assert not (tmp_path / "cmp").exists()

    proc = run_cli(
        "sweep",
        *base[:4],
        "--max-new-tokens",
        "8",
        *QUIET,
        "--output",
        "swp",
        "--set",
        "prompt_len=16,60",
        tmp=tmp_path,
    )
    _refused(proc, "1 of 2 sweep points", "point prompt_len=60")
    assert not (tmp_path / "swp").exists()


def test_load_refuses_before_a_request_reaches_the_server(null_server, tmp_path: Path) -> None:  # noqa: ANN001
    srv = null_server("--tokens", "8", "--pace-ms", "0", "--max-model-len", "64")
    common = ("load", "--quiet", "--base-url", srv.url, "--workload", "synthetic", "--max-requests", "4")
    proc = run_cli(*common, "--prompt-len", "60", "--max-new-tokens", "8", "--output", "refused", tmp=tmp_path)
    _refused(proc, "--prompt-len 60 + 8", "max_model_len")
    with urllib.request.urlopen(f"{srv.url}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    served = [ln for ln in lines if ln.startswith("vllm:request_success_total{")]
    assert served and served[0].endswith(" 0.0"), served  # only /v1/models was asked
    assert not (tmp_path / "refused").exists()
    ok = run_cli(*common, "--prompt-len", "16", "--max-new-tokens", "8", "--output", "fits", tmp=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
