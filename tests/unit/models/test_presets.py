import pytest
import torch

from infermeter.models.presets import PRESETS, build_model, get_preset
from infermeter.models.tokenizer import qwen_tokenizer

PUBLISHED_SIZES = {
    "qwen3-0.6b": 0.596e9,
    "qwen3-1.7b": 1.72e9,
    "qwen3-4b": 4.02e9,
    "qwen3-8b": 8.19e9,
    "llama-3.2-1b": 1.236e9,
    "qwen2.5-vl-3b": 3.75e9,  # the hub's count, vision tower included
    "qwen2.5-vl-7b": 8.29e9,
}


@pytest.mark.parametrize(("name", "size"), PUBLISHED_SIZES.items())
def test_param_count_matches_published_size(name, size):
    assert get_preset(name).param_count() == pytest.approx(size, rel=0.01)


@pytest.mark.parametrize("name", PRESETS)
def test_param_count_matches_the_architecture(name):
    config = get_preset(name).build_config()
    with torch.device("meta"):  # shapes only: no memory, no init
        model = get_preset(name).model_class().from_config(config)
    assert get_preset(name).param_count() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", PRESETS)
def test_build_config(name):
    preset = get_preset(name)
    config = preset.build_config()
    assert config.model_type == preset.model_type
    assert config.dtype == torch.bfloat16
    text = config.get_text_config()
    assert text.vocab_size == preset.vocab_size
    assert text.num_attention_heads % text.num_key_value_heads == 0


def test_rope_settings():
    qwen = get_preset("qwen3-8b").build_config()
    assert qwen.rope_parameters == {"rope_type": "default", "rope_theta": 1000000.0}
    assert set(qwen.layer_types) == {"full_attention"}
    llama = get_preset("llama-3.2-1b").build_config()
    assert llama.rope_parameters["rope_type"] == "llama3"
    assert llama.rope_parameters["rope_theta"] == 500000.0
    assert llama.rope_parameters["factor"] == 32.0
    assert llama.rope_parameters["original_max_position_embeddings"] == 8192


def test_unknown_preset_lists_names():
    with pytest.raises(KeyError, match="qwen3-0.6b.*tiny-qwen3"):
        get_preset("gpt-5")


def _tiny(seed):
    return build_model(get_preset("tiny-qwen3"), dtype=torch.float32, device="cpu", seed=seed)


def test_tiny_is_initialized_and_deterministic():
    a, b, c = _tiny(0), _tiny(0), _tiny(1)
    assert not a.training
    weights = a.state_dict()
    assert all(w.device.type == "cpu" and torch.isfinite(w).all() for w in weights.values())
    assert weights["model.layers.0.self_attn.q_proj.weight"].std() > 0.01
    assert all(torch.equal(w, b.state_dict()[k]) for k, w in weights.items())
    embed = "model.embed_tokens.weight"
    assert not torch.equal(weights[embed], c.state_dict()[embed])


def test_tiny_generates_with_the_qwen_tokenizer():
    tok = qwen_tokenizer()
    model = _tiny(0)
    assert model.generation_config.eos_token_id == [151645, 151643]
    assert model.generation_config.pad_token_id == 151643
    prompts = [
        [{"role": "user", "content": "Hi"}],
        [{"role": "user", "content": "你好，请介绍一下你自己。"}],
    ]
    inputs = tok.apply_chat_template(
        prompts, add_generation_prompt=True, padding=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False)
    assert out.shape == (2, inputs["input_ids"].shape[1] + 5)
    assert isinstance(tok.decode(out[0]), str)
