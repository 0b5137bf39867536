"""Transformer architectures from a Hugging Face style ``config.json``, with exact parameter counts.

`TransformerConfig.from_hf` reads the keys Hugging Face writes for GPT-2, BERT, Llama (1-3),
Mistral, Mixtral and Qwen2, and keeps every fact the cost model needs:

* **attention**: query heads (FLOPs), key/value heads (KV-cache bytes: MHA when equal, GQA when
  fewer, MQA at one), head size, q/k/v/o biases, rotary or learned positions, sliding window;
* **MLP**: gated (``down(act(gate(x)) * up(x))``, Llama) or plain (``down(act(up(x)))``, GPT-2,
  BERT) with the config's real intermediate size (never a hard-coded 4h), and mixture-of-experts
  (``num_local_experts`` total, ``num_experts_per_tok`` active);
* **norms** (RMS or LayerNorm with bias), the LM head, tied embeddings, BERT's token types,
  embedding LayerNorm and pooler.

`TransformerConfig.parameters` counts every tensor, so totals equal the published ones exactly:

>>> c = TransformerConfig.from_hf({"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096,
...     "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32}, "llama-2-7b")
>>> f"{c.params:,}"
'6,738,415,616'
"""

from dataclasses import dataclass, field
from typing import Any, Mapping

from estimator.layers import ACTIVATION_FLOPS

FAMILIES = ("gpt2", "bert", "llama", "mistral", "mixtral", "qwen2")
"""``model_type`` values this module reads."""

_ACTIVATIONS = {
    "silu": "silu", "swish": "silu", "gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh", "relu": "relu", "tanh": "tanh",
}
"""Hugging Face activation names -> `estimator.layers.ACTIVATION_FLOPS` keys."""


class ConfigError(ValueError):
    """A config that is not a transformer this module can cost (one line)."""


@dataclass(frozen=True)
class TransformerConfig:
    """A transformer's architecture: everything that sets its parameters, FLOPs and bytes."""

    name: str
    family: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    max_positions: int
    norm: str = "rms"  # rms | layer (LayerNorm has a bias)
    mlp: str = "gated"  # gated | plain
    activation: str = "silu"
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    position: str = "rotary"  # rotary | learned
    type_vocab_size: int = 0  # BERT's token-type table
    embedding_norm: bool = False  # BERT normalises the embeddings
    post_norm: bool = False  # BERT normalises after each residual add; the others before each sublayer
    final_norm: bool = True  # pre-norm models normalise the last hidden state
    lm_head: bool = True
    tied_embeddings: bool = False
    pooler: bool = False  # BERT's pooler: dense + tanh on the first token
    causal: bool = True  # decoders mask future tokens; encoders (BERT) attend both ways
    num_experts: int = 0  # 0: a dense MLP
    experts_per_token: int = 0
    sliding_window: int | None = None  # keys a query attends to at most (Mistral)
    source: str | None = None
    reference: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in ("vocab_size", "hidden_size", "intermediate_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "max_positions"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{self.name}: {key} must be a positive integer, got {value!r}")
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(f"{self.name}: {self.num_heads} query heads cannot share {self.num_kv_heads} key/value heads evenly")
        if self.activation not in ACTIVATION_FLOPS:
            raise ConfigError(f"{self.name}: unknown activation {self.activation!r}")
        if self.num_experts and not 0 < self.experts_per_token <= self.num_experts:
            raise ConfigError(f"{self.name}: experts per token must be between 1 and {self.num_experts}")
        if self.sliding_window is not None and self.sliding_window <= 0:
            raise ConfigError(f"{self.name}: sliding_window must be positive")

    # -- shape facts ---------------------------------------------------------------------------------
    @property
    def attention(self) -> str:
        """MHA, GQA or MQA."""
        if self.num_kv_heads == self.num_heads:
            return "MHA"
        return "MQA" if self.num_kv_heads == 1 else "GQA"

    @property
    def q_size(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        """Width of K (and of V) per token: KV heads x head size."""
        return self.num_kv_heads * self.head_dim

    @property
    def is_decoder(self) -> bool:
        return self.lm_head

    @property
    def experts(self) -> int:
        """MLPs per block (1 for a dense model)."""
        return self.num_experts or 1

    @property
    def active_experts(self) -> int:
        return self.experts_per_token or 1

    def kv_bytes_per_token(self, bytes_per_element: float) -> float:
        """KV-cache bytes one token adds across all blocks: 2 (K and V) x layers x KV heads x head size."""
        return 2 * self.num_layers * self.kv_size * bytes_per_element

    # -- parameters -------------------------------------------------------------------------------------
    def norm_params(self) -> int:
        return self.hidden_size * (2 if self.norm == "layer" else 1)

    def attention_params(self) -> dict[str, int]:
        d, q, kv = self.hidden_size, self.q_size, self.kv_size
        return {
            "q": d * q + (q if self.qkv_bias else 0),
            "k": d * kv + (kv if self.qkv_bias else 0),
            "v": d * kv + (kv if self.qkv_bias else 0),
            "o": q * d + (d if self.out_bias else 0),
        }

    def expert_params(self) -> int:
        """One MLP (one expert): gated 3 d I, plain 2 d I, plus biases."""
        d, i = self.hidden_size, self.intermediate_size
        if self.mlp == "gated":
            return 3 * d * i + ((2 * i + d) if self.mlp_bias else 0)
        return 2 * d * i + ((i + d) if self.mlp_bias else 0)

    def router_params(self) -> int:
        return self.hidden_size * self.num_experts if self.num_experts else 0

    def block_params(self) -> int:
        return sum(self.attention_params().values()) + self.experts * self.expert_params() + self.router_params() + 2 * self.norm_params()

    def parameters(self) -> dict[str, int]:
        """Parameters by tensor group; the values sum to `params`."""
        d = self.hidden_size
        parts = {
            "embedding": self.vocab_size * d,
            "positions": self.max_positions * d if self.position == "learned" else 0,
            "token_types": self.type_vocab_size * d,
            "embedding_norm": self.norm_params() if self.embedding_norm else 0,
            "blocks": self.num_layers * self.block_params(),
            "final_norm": self.norm_params() if self.final_norm else 0,
            "lm_head": self.vocab_size * d if self.lm_head and not self.tied_embeddings else 0,
            "pooler": d * d + d if self.pooler else 0,
        }
        return {key: value for key, value in parts.items() if value}

    @property
    def params(self) -> int:
        return sum(self.parameters().values())

    @property
    def active_params(self) -> int:
        """Parameters one token uses: all but the experts it is not routed to."""
        return self.params - self.num_layers * (self.experts - self.active_experts) * self.expert_params()

    # -- reading configs ----------------------------------------------------------------------------------
    @classmethod
    def from_hf(cls, data: Mapping[str, Any], name: str = "model") -> "TransformerConfig":
        """A config from a Hugging Face ``config.json`` mapping.

        Raises:
            ConfigError: an unknown ``model_type`` or a missing or malformed key, in one line.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{name}: a config must be a JSON object")
        family = data.get("model_type")
        if family not in FAMILIES:
            raise ConfigError(f"{name}: model_type {family!r} is not supported; supported: {', '.join(FAMILIES)}")

        def get(key: str, default: Any = ..., kind: type = int) -> Any:
            value = data.get(key, default)
            if value is ...:
                raise ConfigError(f"{name}: config.json has no {key!r}")
            if value is None and default is None:
                return None
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{name}: {key} must be an integer, got {value!r}")
            if kind is bool and not isinstance(value, bool):
                raise ConfigError(f"{name}: {key} must be true or false, got {value!r}")
            if kind is str and not isinstance(value, str):
                raise ConfigError(f"{name}: {key} must be a string, got {value!r}")
            return value

        def activation(key: str, default: str) -> str:
            raw = get(key, default, str)
            if raw not in _ACTIVATIONS:
                raise ConfigError(f"{name}: activation {raw!r} is not supported; supported: {', '.join(_ACTIVATIONS)}")
            return _ACTIVATIONS[raw]

        common = {"name": name, "family": family, "source": data.get("_source") if isinstance(data.get("_source"), str) else None,
                  "reference": {k[1:]: v for k, v in data.items() if k.startswith("_") and k != "_source"}}
        if family == "gpt2":
            d, heads = get("n_embd"), get("n_head")
            return cls(
                **common, vocab_size=get("vocab_size"), hidden_size=d, intermediate_size=get("n_inner", None) or 4 * d,
                num_layers=get("n_layer"), num_heads=heads, num_kv_heads=heads, head_dim=_head_dim(name, d, heads),
                max_positions=get("n_positions"), norm="layer", mlp="plain", activation=activation("activation_function", "gelu_new"),
                qkv_bias=True, out_bias=True, mlp_bias=True, position="learned", tied_embeddings=get("tie_word_embeddings", True, bool),
            )
        d, heads = get("hidden_size"), get("num_attention_heads")
        if family == "bert":
            return cls(
                **common, vocab_size=get("vocab_size"), hidden_size=d, intermediate_size=get("intermediate_size"),
                num_layers=get("num_hidden_layers"), num_heads=heads, num_kv_heads=heads, head_dim=_head_dim(name, d, heads),
                max_positions=get("max_position_embeddings"), norm="layer", mlp="plain", activation=activation("hidden_act", "gelu"),
                qkv_bias=True, out_bias=True, mlp_bias=True, position="learned", type_vocab_size=get("type_vocab_size", 2),
                embedding_norm=True, post_norm=True, final_norm=False, lm_head=False, pooler=True, causal=False,
            )
        window = None
        if family == "mistral" or (family == "mixtral" and data.get("sliding_window")) or (family == "qwen2" and get("use_sliding_window", False, bool)):
            window = get("sliding_window", None)
        head_dim = get("head_dim", None) or _head_dim(name, d, heads)
        return cls(
            **common, vocab_size=get("vocab_size"), hidden_size=d, intermediate_size=get("intermediate_size"),
            num_layers=get("num_hidden_layers"), num_heads=heads, num_kv_heads=get("num_key_value_heads", None) or heads,
            head_dim=head_dim, max_positions=get("max_position_embeddings", 4096), norm="rms", mlp="gated",
            activation=activation("hidden_act", "silu"),
            qkv_bias=family == "qwen2" or get("attention_bias", False, bool), out_bias=get("attention_bias", False, bool),
            mlp_bias=get("mlp_bias", False, bool), position="rotary", tied_embeddings=get("tie_word_embeddings", False, bool),
            num_experts=get("num_local_experts", 0) if family == "mixtral" else 0,
            experts_per_token=get("num_experts_per_tok", 2) if family == "mixtral" else 0, sliding_window=window,
        )

    def describe(self) -> str:
        moe = f", {self.num_experts} experts ({self.experts_per_token} active)" if self.num_experts else ""
        window = f", sliding window {self.sliding_window}" if self.sliding_window else ""
        return (f"{self.family}: {self.num_layers} layers, d={self.hidden_size}, {self.num_heads} heads "
                f"({self.attention}, {self.num_kv_heads} KV), {self.mlp} MLP {self.intermediate_size}{moe}{window}, "
                f"vocab {self.vocab_size}")


def _head_dim(name: str, hidden: int, heads: int) -> int:
    if heads <= 0 or hidden % heads:
        raise ConfigError(f"{name}: hidden size {hidden} is not divisible by {heads} heads")
    return hidden // heads
