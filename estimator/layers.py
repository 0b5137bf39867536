"""Layer costs: parameters, MACs, FLOPs and memory traffic of one layer, one small pure formula per op.

Every cost is **per sample** (batch size 1) except the weights, which a batch reads once: the
roofline multiplies activations by the batch size and adds the weights once. Shapes exclude the
batch dimension: images are ``(C, H, W)``, token sequences ``(T, D)``.

Counting conventions, stated once and used everywhere:

* **FLOPs = 2 x MACs** (`estimator.units.FLOPS_PER_MAC`): a multiply-accumulate is a multiply and an
  add. ``macs`` counts the multiply-accumulates of convolutions and matrix products; everything
  else (bias adds, normalisation arithmetic, activations, pooling, softmax, residual adds) is
  counted separately in ``extra_flops``, so ``flops = 2 * macs + extra_flops``.
* The chapter's conv formula ``(2 K^2 Cin + 1) Hout Wout Cout`` is exactly ``flops`` of a bias conv:
  2 FLOPs per MAC plus one bias add per output element. Its "standard/group/depthwise conv FLOPs"
  and "FC FLOPs" formulas count MACs (the chapter's slip): they equal ``macs`` here.
* Comparisons (max), exp, erf, tanh, rsqrt and divisions count as one FLOP each. This is a counting
  convention for the roofline, not a claim that special functions run at the FMA rate.
* Bytes are elements x bytes per element of the precision (`estimator.units.BYTES_PER_ELEMENT`):
  ``bytes_read`` = activations in (+ weights), ``bytes_written`` = activations out; each layer
  reads its inputs from and writes its outputs to device memory (no fusion), the chapter's memory
  access cost (内存访问代价). Embedding indices are int64 (8 bytes) whatever the precision.
* Inference: batch norm reads its four per-channel vectors (weight, bias, running mean and variance);
  dropout and stochastic depth are identities and cost nothing.
"""

from dataclasses import dataclass, replace
from math import prod

from estimator.units import BYTES_PER_ELEMENT, FLOPS_PER_MAC

Shape = tuple[int, ...]

MATRIX, VECTOR, MEMORY = "matrix", "vector", "memory"
"""Which engine runs a layer: matrix units (conv, matmul), vector units (everything elementwise), or
none (data movement only: concat, reshape)."""

INDEX_BYTES = 8
"""Embedding indices are int64 in PyTorch and ONNX."""

ACTIVATION_FLOPS = {
    "relu": 1,  # max(x, 0)
    "relu6": 2,  # min(max(x, 0), 6)
    "sigmoid": 4,  # 1 / (1 + exp(-x)): negate, exp, add, divide
    "tanh": 1,
    "silu": 5,  # x * sigmoid(x)
    "hardsigmoid": 4,  # min(max(x + 3, 0), 6) / 6
    "hardswish": 5,  # x * hardsigmoid(x)
    "gelu": 5,  # x * 0.5 * (1 + erf(x / sqrt 2)): divide, erf, add, multiply, multiply (PyTorch's exact GELU)
    "gelu_tanh": 9,  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
}
"""FLOPs per element of each activation function, by the conventions above."""


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer for one sample, with its weights read once per batch.

    ``input_elements``/``output_elements`` are activations per sample; ``weight_elements`` are
    read once per batch (the whole tensor); ``gathered_elements`` are weight rows read per sample
    (embedding lookups); ``index_bytes`` are per-sample reads of a fixed size (int64 indices).
    ``gemm`` is the shape of a matrix layer as the GEMM ``(M x K) @ (K x N)`` its kernel runs (a
    convolution: Hout Wout output pixels x Cout/g filters x Cin/g Kh Kw, once per group), which a
    calibration uses to pick the efficiency of a product that size (`estimator.calibration`).
    """

    name: str
    op: str
    engine: str  # MATRIX, VECTOR or MEMORY
    params: int = 0
    macs: int = 0
    extra_flops: int = 0
    input_elements: int = 0
    output_elements: int = 0
    weight_elements: int = 0
    gathered_elements: int = 0
    index_bytes: int = 0
    output_shape: Shape = ()
    gemm: tuple[int, int, int] | None = None  # (M, N, K) of each matrix product, per sample (see below)
    gemm_stacks_batch: bool = True  # a batch stacks its samples' rows into M (conv, linear), else runs more products (matmul)

    @property
    def flops(self) -> int:
        """FLOPs for one sample: 2 x MACs plus the non-MAC work."""
        return FLOPS_PER_MAC * self.macs + self.extra_flops

    def bytes_read(self, precision: str = "fp32", batch: int = 1) -> float:
        """Activations in for `batch` samples plus the weights once, at `precision`."""
        size = BYTES_PER_ELEMENT[precision]
        per_sample = (self.input_elements + self.gathered_elements) * size + self.index_bytes
        return batch * per_sample + self.weight_elements * size

    def bytes_written(self, precision: str = "fp32", batch: int = 1) -> float:
        return batch * self.output_elements * BYTES_PER_ELEMENT[precision]

    def bytes(self, precision: str = "fp32", batch: int = 1) -> float:
        """Memory traffic: bytes read plus bytes written (the chapter's MAC, 内存访问代价)."""
        return self.bytes_read(precision, batch) + self.bytes_written(precision, batch)

    def renamed(self, name: str) -> "LayerCost":
        return replace(self, name=name)


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """A size given once (3) or per axis ((3, 5)), as an (h, w) pair of integers."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"expected an integer or a pair of integers, got {value!r}")
    return pair


def _positive(**values: int) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1``, as PyTorch computes it.

    >>> conv_output_size(224, 7, stride=2, padding=3)
    112
    """
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out <= 0:
        raise ValueError(f"a {kernel}x{kernel} kernel (dilation {dilation}, padding {padding}) does not fit an input of size {size}")
    return out


def conv2d(
    name: str, input_shape: Shape, out_channels: int, kernel: int | tuple[int, int], *,
    stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1,
    groups: int = 1, bias: bool = True,
) -> LayerCost:
    """2-D convolution of a ``(Cin, H, W)`` input.

    * params = ``Kh Kw (Cin / g) Cout`` (+ ``Cout`` bias): standard ``Kh Kw Cin Cout``, group
      ``Kh Kw Cin Cout / g``, depthwise (``g = Cin = Cout``) ``Kh Kw Cout``: the chapter's three cases.
    * MACs = ``Kh Kw (Cin / g) Cout Hout Wout``.
    * FLOPs = 2 MACs + ``Cout Hout Wout`` bias adds, i.e. ``(2 K^2 Cin + 1) Hout Wout Cout`` for g = 1.
    * bytes: input ``Cin H W`` + weights in, output ``Cout Hout Wout`` out (elements).

    >>> c = conv2d("c", (3, 224, 224), 64, 7, stride=2, padding=3, bias=False)
    >>> c.params, c.macs, c.output_shape
    (9408, 118013952, (64, 112, 112))
    """
    if len(input_shape) != 3:
        raise ValueError(f"{name}: conv2d needs a (C, H, W) input, got {input_shape}")
    cin, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    _positive(out_channels=out_channels, kernel=kh * kw, stride=sh * sw, dilation=dh * dw, groups=groups)
    if cin % groups or out_channels % groups:
        raise ValueError(f"{name}: groups={groups} must divide in_channels={cin} and out_channels={out_channels}")
    hout, wout = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    weights = kh * kw * (cin // groups) * out_channels
    outputs = out_channels * hout * wout
    params = weights + (out_channels if bias else 0)
    return LayerCost(
        name=name, op="conv2d", engine=MATRIX, params=params, macs=weights * hout * wout,
        extra_flops=outputs if bias else 0, input_elements=cin * h * w, output_elements=outputs,
        weight_elements=params, output_shape=(out_channels, hout, wout),
        gemm=(hout * wout, out_channels // groups, cin // groups * kh * kw),
    )


def linear(name: str, input_shape: Shape, out_features: int, *, bias: bool = True) -> LayerCost:
    """Fully connected layer on the last dimension of a ``(..., Cin)`` input.

    params = ``Cin Cout`` (+ ``Cout``); MACs = ``rows Cin Cout`` where rows is the product of the
    leading dimensions (1 for a vector, T for a sequence); FLOPs = 2 MACs + ``rows Cout`` bias adds.
    The chapter's "FC FLOPs = Cin x Cout" is this MAC count.

    >>> fc = linear("fc", (2048,), 1000)
    >>> fc.params, fc.macs, fc.flops
    (2049000, 2048000, 4097000)
    """
    _positive(out_features=out_features)
    if not input_shape:
        raise ValueError(f"{name}: linear needs an input with a feature dimension")
    cin, rows = input_shape[-1], prod(input_shape[:-1])
    params = cin * out_features + (out_features if bias else 0)
    return LayerCost(
        name=name, op="linear", engine=MATRIX, params=params, macs=rows * cin * out_features,
        extra_flops=rows * out_features if bias else 0, input_elements=rows * cin,
        output_elements=rows * out_features, weight_elements=params, output_shape=(*input_shape[:-1], out_features),
        gemm=(rows, out_features, cin),
    )


def matmul(name: str, a_shape: Shape, b_shape: Shape) -> LayerCost:
    """Matrix product of two activations, ``(..., M, K) @ (..., K, N)``, batched over leading dims.

    MACs = ``batch M K N``; bytes: both operands in, ``batch M N`` out. No parameters (a product
    with a weight matrix is `linear`).

    >>> matmul("qk", (12, 197, 64), (12, 64, 197)).macs
    29805312
    """
    if len(a_shape) < 2 or len(b_shape) < 2 or a_shape[:-2] != b_shape[:-2] or a_shape[-1] != b_shape[-2]:
        raise ValueError(f"{name}: cannot multiply {a_shape} by {b_shape}")
    batch, (m, k), n = prod(a_shape[:-2]), a_shape[-2:], b_shape[-1]
    return LayerCost(
        name=name, op="matmul", engine=MATRIX, macs=batch * m * k * n,
        input_elements=prod(a_shape) + prod(b_shape), output_elements=batch * m * n, output_shape=(*a_shape[:-2], m, n),
        gemm=(m, n, k), gemm_stacks_batch=False,
    )


def embedding(name: str, tokens: int, num_embeddings: int, dim: int) -> LayerCost:
    """Table lookup: params ``num dim``; reads ``tokens`` int64 indices and ``tokens dim`` table
    entries per sample (never the whole table); writes ``tokens dim``; no FLOPs.

    >>> e = embedding("wte", 1024, 50257, 768)
    >>> e.params, e.flops, e.bytes("fp16")
    (38597376, 0, 3153920.0)
    """
    _positive(tokens=tokens, num_embeddings=num_embeddings, dim=dim)
    return LayerCost(
        name=name, op="embedding", engine=MEMORY, params=num_embeddings * dim, gathered_elements=tokens * dim,
        index_bytes=tokens * INDEX_BYTES, output_elements=tokens * dim, output_shape=(tokens, dim),
    )


def batch_norm(name: str, input_shape: Shape) -> LayerCost:
    """Inference batch norm over channels (dim 0): ``y = x a + b`` with ``a, b`` per channel.

    params = ``2 C`` (weight, bias; the running mean and variance are buffers, read but not
    counted as parameters); FLOPs = 2 per element; reads the input and ``4 C`` vectors.

    >>> batch_norm("bn", (64, 112, 112)).params
    128
    """
    channels, elements = input_shape[0], prod(input_shape)
    return LayerCost(
        name=name, op="batch_norm", engine=VECTOR, params=2 * channels, extra_flops=2 * elements,
        input_elements=elements, output_elements=elements, weight_elements=4 * channels, output_shape=input_shape,
    )


def layer_norm(name: str, input_shape: Shape, *, affine: bool = True) -> LayerCost:
    """Layer norm over the last dimension D, per row: mean (D adds), variance (D subtracts, multiplies
    and adds), 1 divide + 1 rsqrt, normalise (D subtracts and multiplies), affine (D multiplies and
    adds): ``8 D + 2`` FLOPs per row (``6 D + 2`` without affine). params = ``2 D``.

    >>> layer_norm("ln", (197, 768)).extra_flops
    1210762
    """
    d, rows = input_shape[-1], prod(input_shape[:-1])
    elements = d * rows
    return LayerCost(
        name=name, op="layer_norm", engine=VECTOR, params=2 * d if affine else 0,
        extra_flops=rows * ((8 if affine else 6) * d + 2), input_elements=elements, output_elements=elements,
        weight_elements=2 * d if affine else 0, output_shape=input_shape,
    )


def rms_norm(name: str, input_shape: Shape) -> LayerCost:
    """RMS norm over the last dimension D, per row: squares and sum (2 D), 1 divide + 1 rsqrt,
    scale by rstd and weight (2 D): ``4 D + 2`` FLOPs per row. params = ``D``.

    >>> rms_norm("norm", (1, 4096)).extra_flops
    16386
    """
    d, rows = input_shape[-1], prod(input_shape[:-1])
    return LayerCost(
        name=name, op="rms_norm", engine=VECTOR, params=d, extra_flops=rows * (4 * d + 2),
        input_elements=d * rows, output_elements=d * rows, weight_elements=d, output_shape=input_shape,
    )


def softmax(name: str, input_shape: Shape) -> LayerCost:
    """Softmax over the last dimension D, per row: max (D), subtract (D), exp (D), sum (D), divide
    (D): ``5 D`` FLOPs per row.

    >>> softmax("attn", (12, 197, 197)).extra_flops
    2328540
    """
    elements = prod(input_shape)
    return LayerCost(
        name=name, op="softmax", engine=VECTOR, extra_flops=5 * elements,
        input_elements=elements, output_elements=elements, output_shape=input_shape,
    )


def activation(name: str, input_shape: Shape, kind: str = "relu") -> LayerCost:
    """Elementwise activation: `ACTIVATION_FLOPS` [kind] FLOPs per element.

    >>> activation("relu", (64, 112, 112)).extra_flops
    802816
    """
    if kind not in ACTIVATION_FLOPS:
        raise ValueError(f"{name}: unknown activation {kind!r}; choose from {', '.join(ACTIVATION_FLOPS)}")
    elements = prod(input_shape)
    return LayerCost(
        name=name, op=kind, engine=VECTOR, extra_flops=ACTIVATION_FLOPS[kind] * elements,
        input_elements=elements, output_elements=elements, output_shape=input_shape,
    )


def pool2d(
    name: str, input_shape: Shape, kernel: int | tuple[int, int], *, stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0, kind: str = "max", ceil_mode: bool = False,
) -> LayerCost:
    """Max or average pooling of a ``(C, H, W)`` input. Per output element: max pooling ``Kh Kw - 1``
    comparisons; average pooling ``Kh Kw - 1`` adds and 1 divide (``Kh Kw`` FLOPs).

    >>> pool2d("pool", (64, 112, 112), 3, stride=2, padding=1).output_shape
    (64, 56, 56)
    """
    if kind not in ("max", "avg"):
        raise ValueError(f"{name}: pooling kind must be 'max' or 'avg'")
    c, h, w = input_shape
    (kh, kw), (ph, pw) = _pair(kernel), _pair(padding)
    sh, sw = _pair(stride if stride is not None else kernel)
    _positive(kernel=kh * kw, stride=sh * sw)

    def size(n: int, k: int, s: int, p: int) -> int:
        span = n + 2 * p - k
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= n + p:  # PyTorch: the last window must start inside the input
            out -= 1
        if out <= 0:
            raise ValueError(f"{name}: a {k}-wide pooling window does not fit an input of size {n}")
        return out

    hout, wout = size(h, kh, sh, ph), size(w, kw, sw, pw)
    outputs = c * hout * wout
    per_output = kh * kw - 1 if kind == "max" else kh * kw
    return LayerCost(
        name=name, op=f"{kind}_pool", engine=VECTOR, extra_flops=per_output * outputs,
        input_elements=c * h * w, output_elements=outputs, output_shape=(c, hout, wout),
    )


def adaptive_avg_pool2d(name: str, input_shape: Shape, output_size: int | tuple[int, int] = 1) -> LayerCost:
    """Adaptive average pooling to ``(Ho, Wo)`` (global pooling for 1): every input element is
    added once and each output divided once, ``C H W + C Ho Wo`` FLOPs. (PyTorch's windows overlap
    when H is not a multiple of Ho; this counts each input element once.)

    >>> adaptive_avg_pool2d("avgpool", (2048, 7, 7)).extra_flops
    102400
    """
    c, h, w = input_shape
    ho, wo = _pair(output_size)
    _positive(output_height=ho, output_width=wo)
    outputs = c * ho * wo
    return LayerCost(
        name=name, op="avg_pool", engine=VECTOR, extra_flops=c * h * w + outputs,
        input_elements=c * h * w, output_elements=outputs, output_shape=(c, ho, wo),
    )


ELEMENTWISE_KINDS = ("add", "sub", "mul", "div", "pow", "max", "min", "mod", "equal", "less", "greater", "and", "or", "where")
"""Binary (and Where's ternary) elementwise ops: each output element costs one FLOP per operand beyond the first."""


def elementwise(name: str, input_shape: Shape, inputs: int = 2, kind: str = "add") -> LayerCost:
    """Elementwise op (`ELEMENTWISE_KINDS`: add, mul, ...) of `inputs` same-shaped tensors (broadcast
    operands count at their own size through `scale`): ``(inputs - 1)`` FLOPs per output element.

    >>> elementwise("add", (256, 56, 56)).bytes("fp32")
    9633792.0
    """
    if kind not in ELEMENTWISE_KINDS:
        raise ValueError(f"{name}: elementwise kind must be one of {', '.join(ELEMENTWISE_KINDS)}")
    _positive(inputs=inputs)
    elements = prod(input_shape)
    return LayerCost(
        name=name, op=kind, engine=VECTOR, extra_flops=(inputs - 1) * elements,
        input_elements=inputs * elements, output_elements=elements, output_shape=input_shape,
    )


def scale(name: str, input_shape: Shape, scale_shape: Shape, kind: str = "mul") -> LayerCost:
    """Multiply (or add, ...: `kind`) by a broadcast tensor (squeeze-and-excitation gates: ``(C, H, W) x
    (C, 1, 1)``): one FLOP per output element; reads the input and the (smaller) operand once."""
    elements = prod(input_shape)
    return LayerCost(
        name=name, op=kind, engine=VECTOR, extra_flops=elements,
        input_elements=elements + prod(scale_shape), output_elements=elements, output_shape=input_shape,
    )


def unary(name: str, input_shape: Shape, op: str, flops_per_element: int = 1) -> LayerCost:
    """Elementwise math on one tensor that is not an activation (exp, erf, sqrt, reciprocal, a cast):
    `flops_per_element` FLOPs per element (1 for a transcendental by the conventions above, 0 for a
    cast); reads and writes every element.

    >>> unary("erf", (197, 3072), "erf").extra_flops
    605184
    """
    if flops_per_element < 0:
        raise ValueError(f"{name}: FLOPs per element must be >= 0")
    elements = prod(input_shape)
    return LayerCost(
        name=name, op=op, engine=VECTOR, extra_flops=flops_per_element * elements,
        input_elements=elements, output_elements=elements, output_shape=input_shape,
    )


def reduce(name: str, input_shape: Shape, output_shape: Shape, op: str = "reduce_sum") -> LayerCost:
    """A reduction (sum, mean, max, ...) of `input_shape` down to `output_shape`: one FLOP per input
    element (an add or a comparison), reads the input, writes the output.

    >>> reduce("mean", (197, 768), (197, 1)).extra_flops
    151296
    """
    return LayerCost(
        name=name, op=op, engine=VECTOR, extra_flops=prod(input_shape),
        input_elements=prod(input_shape), output_elements=prod(output_shape), output_shape=tuple(output_shape),
    )


def copy(name: str, output_shape: Shape, input_elements: int | None = None, op: str = "copy") -> LayerCost:
    """Data movement with no arithmetic (transpose, slice, pad, gather of activations): reads
    `input_elements` (default: as many as it writes) and writes `output_shape`; bytes only."""
    elements = prod(output_shape)
    return LayerCost(name=name, op=op, engine=MEMORY, input_elements=elements if input_elements is None else input_elements,
                     output_elements=elements, output_shape=tuple(output_shape))


def concat(name: str, shapes: list[Shape], axis: int = 0) -> LayerCost:
    """Concatenation: a copy (bytes only, no FLOPs)."""
    if not shapes or any(len(s) != len(shapes[0]) for s in shapes):
        raise ValueError(f"{name}: concat needs tensors of the same rank")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    elements = sum(prod(s) for s in shapes)
    return LayerCost(name=name, op="concat", engine=MEMORY, input_elements=elements, output_elements=elements, output_shape=tuple(out))


def reshape(name: str, input_shape: Shape, output_shape: Shape, *, copy: bool = True) -> LayerCost:
    """Reshape/transpose: bytes only. ``copy=False`` is a view (flatten of a contiguous tensor), free."""
    if prod(input_shape) != prod(output_shape):
        raise ValueError(f"{name}: cannot reshape {input_shape} ({prod(input_shape)} elements) to {output_shape}")
    elements = prod(input_shape) if copy else 0
    return LayerCost(name=name, op="reshape", engine=MEMORY, input_elements=elements, output_elements=elements, output_shape=output_shape)


def parameter(name: str, shape: Shape, *, added_to: Shape | None = None) -> LayerCost:
    """Learned tensors used directly (a class token, a position embedding): ``prod(shape)`` params;
    with `added_to`, the add to an activation of that shape (1 FLOP per element)."""
    if added_to is None:
        return LayerCost(name=name, op="parameter", engine=MEMORY, params=prod(shape), weight_elements=prod(shape), output_shape=shape)
    elements = prod(added_to)
    return LayerCost(
        name=name, op="add", engine=VECTOR, params=prod(shape), extra_flops=elements, input_elements=elements,
        output_elements=elements, weight_elements=prod(shape), output_shape=added_to,
    )
