"""The tokenizers-only client tokenizer counts, draws and templates exactly as the transformers one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infermeter.models.light_tokenizer import light_folder, light_qwen
from infermeter.models.tokenizer import qwen_tokenizer

TEXTS = ["Hello, world!", "Janet’s ducks lay 16 eggs per day.\n\n#### 18", "<think>x</think> 日本語 🙂", ""]


def test_light_qwen_matches_the_transformers_build():
    light, full = light_qwen(), qwen_tokenizer()
    for text in TEXTS:
        assert light(text)["input_ids"] == full(text, add_special_tokens=False)["input_ids"]
    assert light(TEXTS)["input_ids"] == full(TEXTS, add_special_tokens=False)["input_ids"]
    assert len(light) == len(full)
    # Synthetic prompts draw from the vocabulary minus these: the same ordinary ids either way.
    assert set(light.all_special_ids) | set(light.added_tokens_decoder) == set(full.all_special_ids) | set(
        full.added_tokens_decoder
    )
    ids = full("round trip")["input_ids"]
    assert light.decode(ids) == full.decode(ids)
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    full_ids = full.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False)
    assert light.apply_chat_template(msgs) == list(full_ids)


def test_light_folder_reads_a_hf_tokenizer_folder(tmp_path: Path):
    qwen_tokenizer().save_pretrained(tmp_path)
    tok = light_folder(tmp_path)
    assert tok is not None and tok("Hello, world!")["input_ids"] == light_qwen()("Hello, world!")["input_ids"]
    assert tok.chat_template  # from tokenizer_config.json or chat_template.jinja
    assert light_folder(tmp_path / "absent") is None


def test_the_load_client_imports_neither_torch_nor_transformers():
    """`load`'s client path (tokenizer, prompts, request body) without a local model."""
    code = (
        "import sys\n"
        "from infermeter.backends.openai import client_tokenizer\n"
        "from infermeter.config import build_config\n"
        "from infermeter.scenarios.load_options import parse_percentiles\n"
        "import infermeter.api, infermeter.cli.load, infermeter.scenarios.load_prompts\n"
        "tok, name = client_tokenizer('qwen', 'served-model')\n"
        "build_config({'backend': 'openai', 'server': {'base_url': 'http://127.0.0.1:1'}})\n"
        "print(name, [m for m in ('torch', 'transformers') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "qwen (qwen-tokenizer) []"


@pytest.mark.parametrize("spec", ["nonexistent-folder"])
def test_unknown_tokenizer_is_one_clear_error(spec):
    from infermeter.backends.openai import client_tokenizer
    from infermeter.errors import InfermeterError

    with pytest.raises(InfermeterError, match="--tokenizer 'nonexistent-folder' is not qwen"):
        client_tokenizer(spec, "served")
