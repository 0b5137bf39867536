"""Transformer configs: exact published parameter counts and the attention/MLP facts read from config.json."""

import json

import pytest

from estimator.transformer import ConfigError, TransformerConfig
from hwdb.resources import data_dir


def shipped(name: str) -> TransformerConfig:
    return TransformerConfig.from_hf(json.loads((data_dir() / "models" / f"{name}.json").read_text()), name)


# Published totals: the safetensors parameter counts on each model's Hugging Face page (BERT: BertModel,
# pooler included, as `AutoModel` loads it; GPT-2: tied LM head, learned positions).
PUBLISHED = {
    "gpt2": 124_439_808,
    "bert-base": 109_482_240,
    "llama-2-7b": 6_738_415_616,
    "llama-2-70b": 68_976_648_192,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "qwen2-7b": 7_615_616_512,
}


@pytest.mark.parametrize("name, params", PUBLISHED.items())
def test_parameter_counts_equal_the_published_totals(name, params):
    assert shipped(name).params == params


def test_llama_2_7b_parameters_by_tensor_group():
    parts = shipped("llama-2-7b").parameters()
    assert parts == {
        "embedding": 32_000 * 4096,
        "blocks": 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096),  # q k v o, gate up down, two RMS norms
        "final_norm": 4096,
        "lm_head": 32_000 * 4096,  # untied: counted apart from the embedding
    }


def test_gpt2_ties_its_head_and_learns_positions():
    c = shipped("gpt2")
    assert c.tied_embeddings and "lm_head" not in c.parameters()
    assert c.parameters()["positions"] == 1024 * 768
    assert c.intermediate_size == 3072 and c.mlp == "plain" and c.activation == "gelu_tanh"  # n_inner null -> 4 x 768


def test_attention_kinds_and_kv_widths():
    assert shipped("llama-2-7b").attention == "MHA"
    l3 = shipped("llama-3-8b")
    assert l3.attention == "GQA" and l3.kv_size == 8 * 128 and l3.q_size == 4096
    assert l3.kv_bytes_per_token(2) == 2 * 32 * 1024 * 2  # K and V x layers x KV width x FP16 = 128 KiB
    assert shipped("qwen2-7b").qkv_bias and not shipped("qwen2-7b").out_bias  # Qwen2: biased q/k/v, unbiased o
    mqa = TransformerConfig.from_hf({"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128,
                                     "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 1})
    assert mqa.attention == "MQA"


def test_mixture_of_experts_counts_active_and_total():
    c = shipped("mixtral-8x7b")
    assert (c.num_experts, c.experts_per_token) == (8, 2)
    assert c.active_params == 12_879_925_248  # Mistral's "12.9B active"
    assert c.params - c.active_params == 32 * 6 * 3 * 4096 * 14336  # six idle experts per block


def test_sliding_window_only_where_the_config_uses_it():
    assert shipped("mistral-7b").sliding_window == 4096
    assert shipped("qwen2-7b").sliding_window is None  # use_sliding_window: false
    assert shipped("mixtral-8x7b").sliding_window is None  # "sliding_window": null


def test_bert_is_a_bidirectional_encoder():
    c = shipped("bert-base")
    assert not c.causal and not c.is_decoder and c.pooler and c.embedding_norm and c.type_vocab_size == 2


@pytest.mark.parametrize("data, message", [
    ({"model_type": "t5"}, "not supported"),
    ({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 8}, "no 'vocab_size'"),
    ({"model_type": "llama", "vocab_size": "32000", "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1,
      "num_attention_heads": 8}, "must be an integer"),
    ({"model_type": "llama", "vocab_size": 10, "hidden_size": 60, "intermediate_size": 1, "num_hidden_layers": 1,
      "num_attention_heads": 8}, "not divisible"),
    ({"model_type": "llama", "vocab_size": 10, "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1,
      "num_attention_heads": 8, "num_key_value_heads": 3}, "evenly"),
    ({"model_type": "llama", "vocab_size": 10, "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1,
      "num_attention_heads": 8, "hidden_act": "swiglu9"}, "activation"),
    ([1, 2], "JSON object"),
])
def test_bad_configs_fail_in_one_line(data, message):
    with pytest.raises(ConfigError, match=message) as error:
        TransformerConfig.from_hf(data, "bad")
    assert "\n" not in str(error.value)
