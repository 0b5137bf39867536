"""Transformer inference on the roofline: prefill and decode, KV cache, per-tensor dtypes, memory fit and
tensor parallelism.

One engine with the CNN estimator: the linear layers and norms are costed by `estimator.layers`
(FLOPs = 2 x MACs + non-MAC work), and every kernel's time is the roofline of `estimator.roofline`:
``max(FLOPs / (peak x efficiency), bytes / (bandwidth x efficiency)) + overhead``, against the same
`Roof` (matrix peak, vector peak, bandwidth). What is new here is *which bytes move*:

* **Roles.** Each kernel's traffic is split into weights, activations in, activations out, KV-cache
  reads and KV-cache writes, each at its own dtype (`Dtypes`): ``weights="int4", kv="fp8",
  compute="fp16"`` stores block weights in 4 bits and the cache in 8, and multiplies on the FP16
  matrix engine after a dequantisation (2 vector FLOPs per weight element per call). Int4 weights
  make weight *traffic* 4x smaller, never the compute 4x faster. ``compute="fp8"``/``"int8"`` (W8A8)
  use those matrix engines.
* **Phases.** Prefill runs ``batch x prompt`` tokens at once and yields the first output token (the
  LM head runs on each sequence's last position only). Decode step ``k`` (1 ... generate - 1) feeds
  one token per sequence with ``n = prompt + k - 1`` entries already cached: it writes one KV entry
  and attends over ``n + 1`` keys (capped by a sliding window). Every step is costed, as numpy
  arrays over the steps, not a Python loop per token, so the KV reads grow step by step.
* **Attention.** Query heads set the FLOPs, KV heads the cache bytes (MHA, GQA, MQA alike). A fused
  (flash) kernel keeps scores on chip and, with a causal mask, skips the masked half (``P (P + 1) / 2``
  query-key pairs in prefill); a plain kernel computes the full ``P x P`` score matrix and writes it,
  softmaxes it in a second kernel and multiplies by V in a third. Softmax and scaling (6 FLOPs per
  score) run on the vector units; the two products on the matrix engine.
* **Kernels**, as a serving engine runs them: the residual add fused with the norm after it;
  rotary embedding in place on q and k; a cache-write kernel; the gated MLP's activation fused with
  its multiply. The first block's norm and the final norm are counted with the add too (2 of the
  ``2 L + 1`` norms; a few bytes per token).
* **Quantised tensors**: the block linear weights take ``Dtypes.weights`` (with their scales:
  `WEIGHT_SCALE_BYTES`); embeddings, norms and the LM head stay at the activation dtype, as GPTQ,
  AWQ and FP8 checkpoints keep them.
* **Tensor parallelism** over ``tp`` chips splits query heads, KV heads (replicated once ``tp`` exceeds
  them), MLP columns, experts' matrices and the vocabulary of the LM head; each block adds two
  all-reduces of the hidden state, ring time ``2 (tp - 1) / tp x bytes / per-direction link
  bandwidth`` on the scale-up link (NVLink, xGMI, ICI), or the host link (PCIe) when the device has
  none. Norms, residual adds and embeddings are replicated.
* **Mixture of experts**: each token runs ``experts_per_token`` experts; a step reads the weights of
  the experts its tokens touch, ``E (1 - (1 - k / E)^tokens)`` of ``E`` under uniform routing.
"""

from dataclasses import dataclass, field, replace
from math import ceil
from typing import Any

import numpy as np

from estimator import layers as L
from estimator.hardware import FigureUnavailable, Hardware
from estimator.roofline import Efficiency, EfficiencySpec, Roof
from estimator.transformer import TransformerConfig
from estimator.units import BYTES_PER_ELEMENT, INTEGER_PRECISIONS, PRECISIONS

WEIGHT_DTYPES = ("fp32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")
KV_DTYPES = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")
ACTIVATION_DTYPES = ("fp32", "bf16", "fp16")

WEIGHT_SCALE_BYTES = {"int4": 2 / 128, "fp4": 1 / 16, "fp6": 1 / 32}
"""Scale bytes per weight element of block-quantised formats: int4 as GPTQ/AWQ store it (groups of
128, one FP16 scale), FP4 as NVFP4 (blocks of 16, one FP8 scale), FP6 as OCP MX (blocks of 32, one
8-bit scale). Per-channel INT8/FP8 scales are a few bytes per row and are not counted."""

DEQUANT_FLOPS = 2
"""Vector FLOPs to dequantise one weight element (scale, and zero point or convert) per use."""

ROLES = ("weights", "act_in", "act_out", "kv_read", "kv_write")
"""Memory traffic by tensor role, in bytes."""


@dataclass(frozen=True)
class Dtypes:
    """Which precision each tensor role uses.

    compute: the matrix engine the linear layers run on. weights: storage of the blocks' linear
    weights (default: the compute precision; FP32 for TF32). activations: tensors between kernels,
    the attention products and the vector work (default: the compute precision when it is FP32,
    BF16 or FP16, else FP16). kv: the cache (default: the activation dtype).
    """

    compute: str = "fp16"
    weights: str | None = None
    activations: str | None = None
    kv: str | None = None

    def resolved(self) -> "Dtypes":
        if self.compute not in PRECISIONS:
            raise ValueError(f"unknown compute precision {self.compute!r}; choose from {', '.join(PRECISIONS)}")
        storage = "fp32" if self.compute == "tf32" else self.compute
        activations = self.activations or (storage if storage in ACTIVATION_DTYPES else "fp16")
        weights = self.weights or (storage if storage in WEIGHT_DTYPES else activations)
        kv = self.kv or activations
        for role, value, allowed in (("weights", weights, WEIGHT_DTYPES), ("kv", kv, KV_DTYPES), ("activations", activations, ACTIVATION_DTYPES)):
            if value not in allowed:
                raise ValueError(f"{role} dtype {value!r} is not supported; choose from {', '.join(allowed)}")
        if self.compute in INTEGER_PRECISIONS and weights != self.compute:
            raise ValueError(f"{self.compute.upper()} compute multiplies {self.compute.upper()} weights (W8A8/W4A4); got {weights} weights")
        if self.compute in ("fp8", "fp6", "fp4") and BYTES_PER_ELEMENT[weights] > BYTES_PER_ELEMENT[self.compute]:
            raise ValueError(f"an {self.compute.upper()} matrix engine needs {self.compute} or narrower weights, got {weights}")
        return Dtypes(self.compute, weights, activations, kv)

    @property
    def dequantises(self) -> bool:
        """Weights narrower than the matrix engine's inputs are dequantised before each product."""
        storage = "fp32" if self.compute == "tf32" else self.compute
        return self.compute not in INTEGER_PRECISIONS and BYTES_PER_ELEMENT[self.weights] < BYTES_PER_ELEMENT[storage]

    def describe(self) -> str:
        return f"{self.compute.upper()} compute, {self.weights.upper()} weights, {self.kv.upper()} KV, {self.activations.upper()} activations"


@dataclass(frozen=True)
class Workload:
    """What is run: batch x prompt tokens of prefill, then `generate` output tokens per sequence."""

    prompt: int = 512
    generate: int = 128
    batch: int = 1
    tp: int = 1
    attention: str = "flash"  # flash | plain
    causal: bool | None = None  # None: the model's own (decoders causal, encoders not)

    def __post_init__(self) -> None:
        for key, low in (("prompt", 1), ("generate", 0), ("batch", 1), ("tp", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key} must be an integer >= {low}, got {value!r}")
        if self.attention not in ("flash", "plain"):
            raise ValueError(f"attention kernel must be 'flash' or 'plain', got {self.attention!r}")


# -- kernels ----------------------------------------------------------------------------------------------
@dataclass
class Kernel:
    """One kernel of one block (``repeat`` = blocks) for one step; numeric fields are floats or arrays
    over the decode steps. Bytes by role; FLOPs on the kernel's engine plus vector work."""

    name: str
    op: str
    engine: str  # matrix | vector | memory | link
    precision: str  # of the engine (matrix: compute or activations; vector: activations)
    repeat: int = 1
    macs: Any = 0.0
    flops: Any = 0.0
    vector_flops: Any = 0.0
    weights: Any = 0.0
    act_in: Any = 0.0
    act_out: Any = 0.0
    kv_read: Any = 0.0
    kv_write: Any = 0.0
    link_bytes: Any = 0.0  # the tensor all-reduced over the chip-to-chip link


class _Plan:
    """The kernels of one step, built for a config, dtypes and workload."""

    def __init__(self, config: TransformerConfig, dtypes: Dtypes, workload: Workload):
        self.c, self.d, self.w = config, dtypes, workload
        self.tp = workload.tp
        c, tp = config, workload.tp
        if c.num_heads % tp:
            raise ValueError(f"tensor parallelism {tp} does not divide {c.name}'s {c.num_heads} attention heads")
        if c.num_kv_heads % tp and tp % c.num_kv_heads:
            raise ValueError(f"tensor parallelism {tp} and {c.name}'s {c.num_kv_heads} KV heads do not divide one another")
        if c.intermediate_size % tp:
            raise ValueError(f"tensor parallelism {tp} does not divide {c.name}'s MLP width {c.intermediate_size}")
        self.heads = c.num_heads // tp
        self.kv_heads = max(c.num_kv_heads // tp, 1)  # replicated once tp exceeds the KV heads
        self.A = BYTES_PER_ELEMENT[dtypes.activations]
        self.K = BYTES_PER_ELEMENT[dtypes.kv]
        self.W = BYTES_PER_ELEMENT[dtypes.weights] + WEIGHT_SCALE_BYTES.get(dtypes.weights, 0.0)
        self.causal = c.causal if workload.causal is None else workload.causal

    # building blocks -----------------------------------------------------------------------------------------
    def linear(self, name: str, tokens: int, fan_in: int, fan_out: int, *, bias: bool, quantised: bool = True, weight_rows: float = 1.0) -> Kernel:
        """A linear layer costed by `estimator.layers.linear`; ``weight_rows`` scales the weights read (experts touched)."""
        cost = L.linear(name, (tokens, fan_in), fan_out, bias=bias)
        matrix = fan_in * fan_out
        size = self.W if quantised else self.A
        precision = self.d.compute if quantised else self.d.activations
        dequant = DEQUANT_FLOPS * matrix * weight_rows if quantised and self.d.dequantises else 0.0
        return Kernel(name, "linear", L.MATRIX, precision, macs=cost.macs, flops=cost.flops, vector_flops=dequant,
                      weights=weight_rows * (matrix * size + (cost.params - matrix) * self.A),
                      act_in=cost.input_elements * self.A, act_out=cost.output_elements * self.A)

    def vector(self, name: str, op: str, cost: L.LayerCost, *, extra_in: float = 0, extra_out: float = 0, extra_flops: float = 0) -> Kernel:
        """An elementwise kernel from a layer cost, with fused inputs/outputs added (elements)."""
        return Kernel(name, op, L.VECTOR, self.d.activations, flops=cost.flops + extra_flops, weights=cost.weight_elements * self.A,
                      act_in=(cost.input_elements + extra_in) * self.A, act_out=(cost.output_elements + extra_out) * self.A)

    def add_norm(self, name: str, tokens: int, *, post: bool = False) -> Kernel:
        """Residual add fused with the norm: reads x and the residual; writes the normed x and (pre-norm)
        the new residual. Post-norm (BERT) writes only the normed sum, which is the next residual."""
        d = self.c.hidden_size
        norm = (L.rms_norm(name, (tokens, d)) if self.c.norm == "rms" else L.layer_norm(name, (tokens, d)))
        return self.vector(name, "add+" + norm.op, norm, extra_in=tokens * d, extra_out=0 if post else tokens * d, extra_flops=tokens * d)

    # one step ---------------------------------------------------------------------------------------------------
    def kernels(self, tokens_per_seq: int, cached: Any) -> list[Kernel]:
        """The kernels of a step in which each of ``batch`` sequences feeds ``tokens_per_seq`` tokens with
        ``cached`` entries already in the cache (a number, or an array over decode steps)."""
        c, w, tp = self.c, self.w, self.tp
        n_tok = w.batch * tokens_per_seq
        d, hd = c.hidden_size, c.head_dim
        blocks = c.num_layers
        out: list[Kernel] = []
        # embeddings: gather token rows (+ learned positions and token types), summed
        indexed = 1 + (c.type_vocab_size > 0)  # token ids (and token-type ids) are read; positions are computed
        tables = indexed + (c.position == "learned")
        embed = L.embedding("embed", n_tok, c.vocab_size, d)
        out.append(Kernel("embed", "embedding", L.MEMORY if tables == 1 else L.VECTOR, self.d.activations,
                          flops=(tables - 1) * n_tok * d, weights=tables * embed.gathered_elements * self.A,
                          act_in=indexed * embed.index_bytes, act_out=embed.output_elements * self.A))
        if c.embedding_norm:
            norm = L.layer_norm("embed_norm", (n_tok, d))
            out.append(self.vector("embed_norm", norm.op, norm))
        block: list[Kernel] = []
        post = c.post_norm
        if not post:
            block.append(self.add_norm("attn_norm", n_tok))
        q, kv = self.heads * hd, self.kv_heads * hd
        block.append(self.linear("qkv", n_tok, d, q + 2 * kv, bias=c.qkv_bias))
        if c.position == "rotary":
            rot = n_tok * (q + kv)
            block.append(Kernel("rotary", "rotary", L.VECTOR, self.d.activations, flops=3 * rot, act_in=rot * self.A, act_out=rot * self.A))
        if c.is_decoder:
            entries = n_tok * 2 * kv
            block.append(Kernel("kv_write", "cache_write", L.VECTOR if self.K != self.A else L.MEMORY, self.d.activations,
                                flops=entries if self.K != self.A else 0, act_in=entries * self.A, kv_write=entries * self.K))
        block.extend(self.attention(tokens_per_seq, cached))
        block.append(self.linear("o_proj", n_tok, q, d, bias=c.out_bias))
        if tp > 1:
            block.append(Kernel("attn_allreduce", "all_reduce", "link", self.d.activations, link_bytes=n_tok * d * self.A))
        block.append(self.add_norm("mlp_norm" if not post else "attn_add_norm", n_tok, post=post))
        block.extend(self.mlp(n_tok))
        if tp > 1:
            block.append(Kernel("mlp_allreduce", "all_reduce", "link", self.d.activations, link_bytes=n_tok * d * self.A))
        if post:
            block.append(self.add_norm("mlp_add_norm", n_tok, post=True))
        for kernel in block:
            kernel.repeat = blocks
        out.extend(block)
        last = w.batch  # the LM head and pooler see each sequence's last (or first) position
        if c.final_norm:
            out.append(self.add_norm("final_norm", n_tok))
        if c.lm_head:
            out.append(self.linear("lm_head", last, d, ceil(c.vocab_size / tp), bias=False, quantised=False))
        if c.pooler:
            out.append(self.linear("pooler", last, d, d, bias=True, quantised=False))
            tanh = L.activation("pooler_tanh", (last, d), "tanh")
            out.append(self.vector("pooler_tanh", "tanh", tanh))
        return out

    def attention(self, t: int, cached: Any) -> list[Kernel]:
        """Scores, softmax and the weighted sum of V for one block. Pairs = query-key products per head."""
        c, w = self.c, self.w
        hd, heads, B = c.head_dim, self.heads, w.batch
        window = c.sliding_window or np.inf
        cached = np.asarray(cached, dtype=np.float64)
        keys = np.minimum(cached + t, window)  # keys the last query sees (and entries a decode step reads)
        if t == 1:
            pairs = keys
            stored = keys
        else:  # prefill from an empty cache
            if self.causal:
                edge = min(t, window)
                pairs = np.asarray(edge * (edge + 1) / 2 + (t - edge) * edge)
            else:
                pairs = np.asarray(float(t * min(t, window)))
            stored = np.asarray(float(t))
        q_elems = B * t * heads * hd
        kv_bytes = B * stored * 2 * self.kv_heads * hd * self.K
        kv_dequant = B * stored * 2 * self.kv_heads * hd if self.K < self.A else 0.0
        encoder = not c.is_decoder  # K and V are plain activations, not a cache
        kv_in, kv_bytes = (kv_bytes, 0.0) if encoder else (0.0, kv_bytes)
        if w.attention == "flash":
            macs = B * heads * pairs * hd * 2  # QK^T and PV
            return [Kernel("attention", "flash_attention", L.MATRIX, self.d.activations, macs=macs, flops=2 * macs,
                           vector_flops=6 * B * heads * pairs + kv_dequant, act_in=q_elems * self.A + kv_in, act_out=q_elems * self.A, kv_read=kv_bytes)]
        full = keys * t if t == 1 else np.asarray(float(t * t))  # the plain kernel computes every score
        scores = B * heads * full
        macs = scores * hd
        half = kv_bytes / 2
        return [
            Kernel("scores", "matmul", L.MATRIX, self.d.activations, macs=macs, flops=2 * macs, vector_flops=kv_dequant / 2,
                   act_in=q_elems * self.A + kv_in / 2, act_out=scores * self.A, kv_read=half),
            Kernel("softmax", "softmax", L.VECTOR, self.d.activations, flops=6 * scores, act_in=scores * self.A, act_out=scores * self.A),
            Kernel("attn_v", "matmul", L.MATRIX, self.d.activations, macs=macs, flops=2 * macs, vector_flops=kv_dequant / 2,
                   act_in=scores * self.A + kv_in / 2, act_out=q_elems * self.A, kv_read=half),
        ]

    def mlp(self, n_tok: int) -> list[Kernel]:
        c, tp = self.c, self.tp
        d, width = c.hidden_size, c.intermediate_size // tp
        out: list[Kernel] = []
        routed, touched = n_tok, 1.0
        if c.num_experts:
            e, k = c.num_experts, c.experts_per_token
            router = self.linear("router", n_tok, d, e, bias=False, quantised=False)
            router.vector_flops = 6 * n_tok * e  # softmax and top-k over the experts
            out.append(router)
            routed, touched = n_tok * k, e * (1 - (1 - k / e) ** n_tok)
        up_width = 2 * width if c.mlp == "gated" else width
        out.append(self.linear("gate_up" if c.mlp == "gated" else "up", routed, d, up_width, bias=c.mlp_bias, weight_rows=touched))
        act = L.activation("act", (routed, width), c.activation)
        if c.mlp == "gated":
            out.append(self.vector("act_mul", c.activation + "*mul", act, extra_in=routed * width, extra_flops=routed * width))
        else:
            out.append(self.vector("act", c.activation, act))
        out.append(self.linear("down", routed, width, d, bias=c.mlp_bias, weight_rows=touched))
        if c.num_experts:
            out.append(Kernel("combine", "moe_combine", L.VECTOR, self.d.activations, flops=2 * routed * d,
                              act_in=routed * d * self.A, act_out=n_tok * d * self.A))
        return out


# -- results -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelEstimate:
    """One kernel over a phase: totals over its blocks and steps."""

    name: str
    op: str
    engine: str
    precision: str
    repeat: int
    macs: float
    flops: float  # engine FLOPs + vector FLOPs
    weights: float
    act_in: float
    act_out: float
    kv_read: float
    kv_write: float
    link_bytes: float
    compute_time_s: float
    memory_time_s: float
    link_time_s: float
    time_s: float
    bound: str  # compute | memory | interconnect | none
    peak: float = 0.0  # FLOP/s of the engine it runs on (0: data movement or a link)
    share: float = 0.0  # of its phase's time

    @property
    def bytes(self) -> float:
        """Memory traffic (all roles); link bytes are counted apart."""
        return self.weights + self.act_in + self.act_out + self.kv_read + self.kv_write

    @property
    def intensity(self) -> float:
        """FLOP per byte of memory traffic (NaN when it moves none)."""
        return self.flops / self.bytes if self.bytes else float("nan")

    @property
    def achieved(self) -> float:
        return self.flops / self.time_s if self.time_s else 0.0

    @property
    def utilization(self) -> float:
        return self.achieved / self.peak if self.peak and np.isfinite(self.peak) else 0.0


@dataclass(frozen=True)
class Phase:
    """Prefill (one step) or decode (one step per output token after the first)."""

    name: str
    steps: int
    tokens: int  # tokens processed over the phase, all sequences
    kernels: tuple[KernelEstimate, ...]
    step_time_s: np.ndarray  # per step
    kv_length: np.ndarray  # entries cached at the start of each step

    @property
    def time_s(self) -> float:
        return float(self.step_time_s.sum())

    @property
    def flops(self) -> float:
        return sum(k.flops for k in self.kernels)

    @property
    def macs(self) -> float:
        return sum(k.macs for k in self.kernels)

    @property
    def bytes(self) -> float:
        return sum(k.bytes for k in self.kernels)

    def bytes_by_role(self) -> dict[str, float]:
        return {role: sum(getattr(k, role) for k in self.kernels) for role in ROLES}

    def time_by_bound(self) -> dict[str, float]:
        shares: dict[str, float] = {}
        for k in self.kernels:
            shares[k.bound] = shares.get(k.bound, 0.0) + k.time_s
        return shares

    def roofline_view(self, estimate: "LLMEstimate") -> "PhaseView":
        """This phase's kernels as the layers of a roofline chart (`estimator.charts.roofline_chart`)."""
        return PhaseView(f"{estimate.model} {self.name}", estimate.device, estimate.dtypes.compute, estimate.workload.batch, self.kernels)

    def to_dict(self) -> dict:
        return {
            "steps": self.steps, "tokens": self.tokens, "time_s": self.time_s, "flops": self.flops, "macs": self.macs,
            "bytes": self.bytes, "bytes_by_role": self.bytes_by_role(), "time_by_bound_s": self.time_by_bound(),
            "kernels": [dict(k.__dict__, bytes=k.bytes, intensity=k.intensity, achieved=k.achieved, utilization=k.utilization) for k in self.kernels],
        }


@dataclass(frozen=True)
class PhaseView:
    """A phase shaped like an `estimator.roofline.Estimate` for charts: kernels as layers."""

    model: str
    device: str
    precision: str
    batch: int
    layers: tuple[KernelEstimate, ...]


@dataclass(frozen=True)
class MemoryFit:
    """Bytes one device holds: weights, the KV cache at its final length, and the peak activations."""

    weights: float
    kv_cache: float
    activations: float
    available: float | None  # device memory; None when the catalog lacks it
    kv_tokens: int  # cache entries per sequence at the end
    min_devices: int | None  # the fewest tensor-parallel devices that hold it (None: not within the head count)

    @property
    def total(self) -> float:
        return self.weights + self.kv_cache + self.activations

    @property
    def fits(self) -> bool | None:
        return None if self.available is None else self.total <= self.available

    @property
    def shortfall(self) -> float:
        return 0.0 if self.available is None else max(self.total - self.available, 0.0)

    def to_dict(self) -> dict:
        return {"weights": self.weights, "kv_cache": self.kv_cache, "activations": self.activations, "total": self.total,
                "available": self.available, "fits": self.fits, "shortfall": self.shortfall, "kv_tokens": self.kv_tokens,
                "min_devices": self.min_devices}


@dataclass(frozen=True)
class Link:
    """The link tensor parallelism's all-reduces use."""

    name: str
    kind: str  # scale-up | host
    bandwidth: float  # byte/s per direction


@dataclass(frozen=True)
class LLMEstimate:
    """A transformer on a device: prefill, decode, memory fit and the resource that limits it."""

    model: str
    device: str
    dtypes: Dtypes
    workload: Workload
    causal: bool
    prefill: Phase
    decode: Phase
    memory: MemoryFit
    roof: Roof  # at the compute precision
    link: Link | None
    params: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ttft_s(self) -> float:
        """Time to first token: the prefill, whose last position yields the first output token."""
        return self.prefill.time_s

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first: the mean decode step (None without decode steps)."""
        return self.decode.time_s / self.decode.steps if self.decode.steps else None

    @property
    def e2e_s(self) -> float:
        return self.prefill.time_s + self.decode.time_s

    @property
    def output_tokens(self) -> int:
        return self.workload.batch * self.workload.generate

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens per second over the whole request, all sequences."""
        return self.output_tokens / self.e2e_s if self.output_tokens else None

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Output tokens per second while decoding (batch / TPOT)."""
        return self.workload.batch / self.tpot_s if self.tpot_s else None

    @property
    def sequences_per_s(self) -> float:
        return self.workload.batch / self.e2e_s

    def time_by_bound(self) -> dict[str, float]:
        shares = self.prefill.time_by_bound()
        for key, value in self.decode.time_by_bound().items():
            shares[key] = shares.get(key, 0.0) + value
        return shares

    @property
    def limited_by(self) -> str:
        """capacity (it does not fit), else the bound with the largest share of end-to-end time."""
        if self.memory.fits is False:
            return "capacity"
        names = {"compute": "compute", "memory": "memory bandwidth", "interconnect": "interconnect"}
        shares = {names[k]: v for k, v in self.time_by_bound().items() if k in names}
        return max(shares, key=shares.get) if shares else "none"

    @property
    def prefill_mfu(self) -> float:
        """Prefill FLOPs / TTFT / the compute precision's matrix peak."""
        return self.prefill.flops / self.prefill.time_s / self.roof.matrix_peak

    def to_dict(self) -> dict:
        return {
            "model": self.model, "device": self.device, "params": self.params,
            "dtypes": self.dtypes.__dict__, "workload": dict(self.workload.__dict__, causal=self.causal),
            "ttft_s": self.ttft_s, "tpot_s": self.tpot_s, "e2e_s": self.e2e_s, "tokens_per_s": self.tokens_per_s,
            "decode_tokens_per_s": self.decode_tokens_per_s, "sequences_per_s": self.sequences_per_s,
            "limited_by": self.limited_by, "prefill_mfu": self.prefill_mfu,
            "matrix_peak": self.roof.matrix_peak, "bandwidth_byte_per_s": self.roof.bandwidth,
            "link": None if self.link is None else self.link.__dict__,
            "memory": self.memory.to_dict(), "prefill": self.prefill.to_dict(), "decode": self.decode.to_dict(),
            "decode_step_time_s": self.decode.step_time_s.tolist(), "notes": list(self.notes),
        }


# -- the estimate -----------------------------------------------------------------------------------------------
def _roofs(hardware: Hardware, dtypes: Dtypes, efficiency: EfficiencySpec, calibrated: bool | None = None) -> dict[str, Roof]:
    """The roofs of the compute and activation precisions. A calibrated device's kernels here have no GEMM
    shapes to look up, so they run at its calibration's scalars (`Calibration.summary`)."""
    roofs = {p: Roof.of(hardware, p, efficiency, calibrated) for p in dict.fromkeys((dtypes.compute, dtypes.activations))}
    for p, roof in roofs.items():
        if roof.calibration is not None:
            roofs[p] = replace(roof, efficiency=Efficiency(**roof.calibration.summary(p)))
    for roof in roofs.values():
        if roof.problem and not np.isnan(roof.bandwidth):
            hardware.peak(roof.precision)  # raises the PeakUnavailable with its reason
    if np.isnan(roofs[dtypes.compute].bandwidth):
        raise FigureUnavailable(f"{hardware.name}: memory bandwidth unknown (no public source gives it), so there is no memory roof")
    return roofs


def _link(hardware: Hardware) -> Link:
    for kind, name_key, bandwidth_key in (("scale-up", "scale_up_link", "scale_up_bandwidth"), ("host", "host_link", "host_link_bandwidth")):
        bandwidth = hardware.spec(bandwidth_key)
        if bandwidth:
            return Link(hardware.spec(name_key) or bandwidth_key.replace("_bandwidth", ""), kind, bandwidth)
    raise FigureUnavailable(f"{hardware.name}: no scale-up or host link bandwidth in the catalog, so tensor parallelism cannot be costed")


def _phase(name: str, plan: _Plan, tokens_per_seq: int, cached: np.ndarray, roofs: dict[str, Roof], activations: str, link: Link | None) -> Phase:
    """Cost every kernel at every step (arrays over steps) and total them."""
    steps = cached.size
    kernels = plan.kernels(tokens_per_seq, cached)
    vector_roof = roofs[activations]
    tp = plan.tp
    rows, step_time = [], np.zeros(steps)
    for k in kernels:
        roof = roofs[k.precision]
        eff = roof.efficiency

        def per_step(value: Any) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (steps,))

        engine_flops, vector_flops = per_step(k.flops), per_step(k.vector_flops)
        traffic = sum(per_step(getattr(k, role)) for role in ROLES)
        vector_peak = vector_roof.vector_peak if not np.isnan(vector_roof.vector_peak) else np.inf
        peak = roof.matrix_peak if k.engine == L.MATRIX else vector_peak if k.engine == L.VECTOR else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            compute = np.where(engine_flops > 0, engine_flops / (peak * eff.compute), 0.0) \
                + np.where(vector_flops > 0, vector_flops / (vector_peak * eff.compute), 0.0)
            memory = np.where(traffic > 0, traffic / (roof.bandwidth * eff.memory), 0.0)
        link_bytes = per_step(k.link_bytes)
        link_time = 2 * (tp - 1) / tp * link_bytes / link.bandwidth if link is not None and tp > 1 else np.zeros(steps)
        moves = (engine_flops + vector_flops + traffic + link_bytes) > 0
        time = (np.maximum(compute, memory) + link_time + np.where(moves, eff.overhead_s, 0.0)) * k.repeat
        step_time = step_time + time
        c_total, m_total, l_total = (float(x.sum() * k.repeat) for x in (compute, memory, link_time))
        bound = "interconnect" if l_total > 0 else "none" if not moves.any() else "compute" if c_total >= m_total else "memory"
        rows.append(KernelEstimate(
            name=k.name, op=k.op, engine=k.engine, precision=k.precision, repeat=k.repeat,
            macs=float(per_step(k.macs).sum() * k.repeat), flops=float((engine_flops + vector_flops).sum() * k.repeat),
            weights=float(per_step(k.weights).sum() * k.repeat), act_in=float(per_step(k.act_in).sum() * k.repeat),
            act_out=float(per_step(k.act_out).sum() * k.repeat), kv_read=float(per_step(k.kv_read).sum() * k.repeat),
            kv_write=float(per_step(k.kv_write).sum() * k.repeat), link_bytes=float(link_bytes.sum() * k.repeat),
            compute_time_s=c_total, memory_time_s=m_total, link_time_s=l_total, time_s=float(time.sum()), bound=bound,
            peak=float(peak) if np.isfinite(peak) else 0.0,
        ))
    total = float(step_time.sum())
    rows = [replace(row, share=row.time_s / total if total else 0.0) for row in rows]
    return Phase(name, steps, plan.w.batch * tokens_per_seq * steps, tuple(rows), step_time, cached)


def memory_fit(config: TransformerConfig, dtypes: Dtypes, workload: Workload, available: float | None) -> MemoryFit:
    """Weights + KV cache at the final length + peak activations on one of ``workload.tp`` devices, and the
    fewest tensor-parallel devices (dividing the heads) that hold it."""
    dtypes = dtypes.resolved()

    def need(tp: int) -> tuple[float, float, float, int]:
        plan = _Plan(config, dtypes, Workload(workload.prompt, workload.generate, workload.batch, tp, workload.attention, workload.causal))
        c, A = config, plan.A
        d, q, kv, width, e = c.hidden_size, c.q_size, c.kv_size, c.intermediate_size, c.experts
        kv_share = plan.kv_heads / c.num_kv_heads  # the share of K and V one device holds
        up = 2 * width if c.mlp == "gated" else width
        matrices = (2 * d * q + e * (up + width) * d) / tp + 2 * d * kv * kv_share  # quantised: q, o, MLPs / tp; k, v
        biases = ((q / tp + 2 * kv * kv_share) if c.qkv_bias else 0) + (d if c.out_bias else 0) + (e * (up / tp + d) if c.mlp_bias else 0)
        replicated = c.router_params() + 2 * c.norm_params()
        per_block = matrices * plan.W + (biases + replicated) * A
        parts = c.parameters()
        vocab_split = (parts.get("embedding", 0) + parts.get("lm_head", 0)) / tp
        others = sum(parts.get(key, 0) for key in ("positions", "token_types", "embedding_norm", "final_norm", "pooler"))
        weights = c.num_layers * per_block + (vocab_split + others) * A
        tokens = workload.prompt + (workload.generate if c.is_decoder else 0)
        kept = int(min(tokens, c.sliding_window or tokens))
        cache = workload.batch * kept * 2 * c.num_layers * plan.kv_heads * c.head_dim * plan.K if c.is_decoder else 0.0
        largest = max(float(np.max(k.act_in + k.act_out)) for k in plan.kernels(workload.prompt, np.zeros(1)))
        activations = largest + workload.batch * workload.prompt * d * A  # + the residual stream alongside
        return weights, cache, activations, kept

    weights, kv, activations, kept = need(workload.tp)
    minimum = None
    if available:
        for tp in range(1, config.num_heads + 1):
            if config.num_heads % tp or (config.num_kv_heads % tp and tp % config.num_kv_heads) or config.intermediate_size % tp:
                continue
            if sum(need(tp)[:3]) <= available:
                minimum = tp
                break
    return MemoryFit(weights, kv, activations, available, kept, minimum)


def estimate_llm(config: TransformerConfig, hardware: Hardware, dtypes: Dtypes | None = None, workload: Workload | None = None,
                 efficiency: EfficiencySpec = None, calibrated: bool | None = None) -> LLMEstimate:
    """Prefill, decode and memory fit of `config` on `hardware` (per device of a tensor-parallel group).

    Raises:
        PeakUnavailable: the device lacks the compute (or activation) precision's peak.
        FigureUnavailable: the catalog lacks the memory bandwidth, or the link bandwidth tensor parallelism needs.
        ValueError: bad dtypes or workload, or a tensor-parallel size that does not divide the heads.
    """
    dtypes = (dtypes or Dtypes()).resolved()
    workload = workload or Workload(generate=128 if config.is_decoder else 0)
    if not config.is_decoder and workload.generate:
        raise ValueError(f"{config.name} is an encoder: it does not generate tokens (use generate 0)")
    notes = []
    if workload.prompt + workload.generate > config.max_positions:
        if config.position == "learned":
            raise ValueError(f"{config.name} has {config.max_positions} learned positions; prompt + generate = {workload.prompt + workload.generate}")
        notes.append(f"prompt + generate ({workload.prompt + workload.generate}) exceeds {config.name}'s {config.max_positions}-token context")
    plan = _Plan(config, dtypes, workload)  # a tensor-parallel size that does not divide the heads is bad input, before any figure
    roofs = _roofs(hardware, dtypes, efficiency, calibrated)
    if roofs[dtypes.compute].calibration is not None:
        notes.append("calibrated: kernels run at the calibration's reference-GEMM efficiency, DRAM bandwidth and per-kernel overhead")
    link = _link(hardware) if workload.tp > 1 else None
    prefill = _phase("prefill", plan, workload.prompt, np.zeros(1), roofs, dtypes.activations, link)
    cached = workload.prompt + np.arange(max(workload.generate - 1, 0), dtype=np.float64)
    decode = _phase("decode", plan, 1, cached, roofs, dtypes.activations, link)
    memory = memory_fit(config, dtypes, workload, hardware.memory_bytes)
    vector = roofs[dtypes.activations]
    if vector.vector_precision is None:
        notes.append(f"{hardware.name} has no vector-unit figure: elementwise kernels are costed by memory traffic only")
    elif vector.vector_precision != dtypes.activations:
        notes.append(f"no {dtypes.activations.upper()} vector figure: elementwise kernels use the FP32 vector rate")
    if dtypes.dequantises:
        notes.append(f"{dtypes.weights.upper()} weights are dequantised to {dtypes.compute.upper()} ({DEQUANT_FLOPS} vector FLOPs per weight per use)")
    return LLMEstimate(config.name, hardware.name, dtypes, workload, plan.causal, prefill, decode, memory,
                       roofs[dtypes.compute], link, config.params, tuple(notes))
