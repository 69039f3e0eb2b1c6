"""Bad input: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration


def _fails(tmp: Path, *args: str) -> str:
    proc = run_cli("run", "--quiet", "--output", str(tmp / "results"), *args, tmp=tmp)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("infermeter: error: "), proc.stderr
    return lines[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--num-beams", "0"), "num_beams"),
        (("--top-p", "1.5"), "top_p"),
        (("--top-p", "0"), "top_p"),
        (("--temperature", "-1"), "temperature"),
        (("--max-new-tokens", "0"), "max_new_tokens"),
        (("--set", "no_such_key=1"), "unknown config key"),
        (("--device", "tpu"), "device"),
    ],
)
def test_invalid_parameters(tmp_path: Path, args, expected) -> None:
    assert expected in _fails(tmp_path, *args)


def test_unknown_model(tmp_path: Path) -> None:
    line = _fails(tmp_path, "--model", "no-such-model-anywhere")
    assert "unknown model" in line and "qwen3-1.7b" in line


def test_missing_gguf(tmp_path: Path) -> None:
    assert "GGUF file not found" in _fails(tmp_path, "--model", str(tmp_path / "missing.gguf"))


def test_cuda_without_gpu(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert "no CUDA GPU" in _fails(tmp_path, "--model", "tiny-qwen3", "--device", "cuda")


def test_malformed_jsonl_names_the_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"prompt": "ok", "answer": "1"}\n{"prompt": "broken"\n')
    assert f"{data}:2" in _fails(tmp_path, "--dataset", str(data))


def test_empty_dataset(tmp_path: Path) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_text("\n")
    assert "no items" in _fails(tmp_path, "--dataset", str(data))


def test_malformed_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("generation:\n  top_p: [\n")
    assert "malformed YAML" in _fails(tmp_path, "--config", str(cfg))
