"""Over HTTP, exact-length synthetic prompts: token ids over /v1/completions, the server's count recorded."""

from __future__ import annotations

import json

import pytest

from .conftest import run_cli

pytestmark = pytest.mark.integration

ARGS = ("run", "--backend", "openai", "--workload", "synthetic", "--limit", "4", "--api", "completions",
        "--set", "tokenizer=qwen", "--prompt-len", "32", "--max-new-tokens", "4", "--prompt-lens", "",
        "--batch-sizes", "", "--set", "measure.max_repeats=1", "--json", "--output", "results")  # fmt: skip


def test_token_ids_reach_the_server_at_the_asked_length(tmp_path, null_server):
    srv = null_server("--tokens", "4", "--pace-ms", "1")
    proc = run_cli(*ARGS, "--base-url", srv.url, "--set", "server.token_ids=true", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(proc.stdout)
    main = [r for r in rep["records"] if r["phase"] == "dataset"]
    # the null server counts the ids it was sent: 100% of prompts at exactly the asked length
    assert main and all(r["prompt_tokens"] == 32 == r["extra"]["client_prompt_tokens"] for r in main)
    assert rep["metrics"]["requests"]["prompt_token_mismatch"] is None


def test_text_prompts_are_recounted_by_the_server_and_warned(tmp_path, null_server):
    srv = null_server("--tokens", "4", "--pace-ms", "1")
    proc = run_cli(*ARGS, "--base-url", srv.url, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(proc.stdout)
    main = [r for r in rep["records"] if r["phase"] == "dataset"]
    # text is re-tokenized by the server (the null server counts words): its count is recorded
    assert any(r["prompt_tokens"] != r["extra"]["client_prompt_tokens"] for r in main)
    assert any("the server counted other prompt lengths" in w for w in rep["warnings"])
