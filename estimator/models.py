"""Models: an ordered list of named layers with their shapes, built in Python or from a description.

A `Model` is plain data (a tuple of `LayerCost`), so the roofline can cost it on any device. Build
one with `Builder` (the built-in zoo in `estimator.zoo` does), or from a TOML/JSON description
with `from_description`:

```toml
name = "lenet5"
input = [1, 32, 32]                 # one sample: (C, H, W) or (T, D)

[[layer]]
op = "conv2d"                       # the op's keyword arguments follow, as in estimator.layers
name = "conv1"
out_channels = 6
kernel = 5

[[layer]]
op = "relu"                         # input: the previous layer's output unless `input = "name"`
```

Residual blocks name their branches: ``input = "block1.conv1"`` reads an earlier layer's output,
and ``op = "add"`` with ``inputs = ["block1.bn2", "stem.pool"]`` joins two.

A model built with `Builder` methods or from a description also keeps its graph (`Model.nodes`: each
layer's op, arguments and the layers it reads), which is what `estimator.onnx_io.to_onnx` exports.
"""

from dataclasses import dataclass, field
from math import prod
from typing import Any, Callable, Mapping

from estimator import layers as L
from estimator.layers import LayerCost, Shape


class Tensor(tuple):
    """A shape that remembers the layer that produced it (``"input"`` for the model's input).

    `Builder` methods take and return these, so a model keeps its graph without any extra bookkeeping
    in the code that builds it. A slice or a hand-made tuple is a plain shape: a layer built from one
    has unknown inputs, and the model then has no graph (``Model.nodes is None``).
    """

    producer: str

    def __new__(cls, shape: Shape, producer: str) -> "Tensor":
        tensor = super().__new__(cls, shape)
        tensor.producer = producer
        return tensor


@dataclass(frozen=True)
class Node:
    """How one layer was built: its op (a description's op name), the layers it reads, and its arguments."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    """A network as an ordered tuple of layer costs for one sample (weights once)."""

    name: str
    input_shape: Shape
    layers: tuple[LayerCost, ...]
    description: str = ""
    reference: Mapping[str, Any] = field(default_factory=dict)  # published params/MACs and their source
    nodes: tuple[Node, ...] | None = None  # the graph, one node per layer, where it is known
    notes: tuple[str, ...] = ()  # what an import could not cost, and other caveats estimates repeat

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per sample (convolutions and matrix products)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def flops(self) -> int:
        """FLOPs per sample: 2 x MACs plus all non-MAC work."""
        return sum(layer.flops for layer in self.layers)

    def bytes(self, precision: str = "fp32", batch: int = 1) -> float:
        return sum(layer.bytes(precision, batch) for layer in self.layers)

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].output_shape if self.layers else self.input_shape


class Builder:
    """Appends layers and hands back their output shapes, so that models read like their code.

    >>> b = Builder("tiny", (3, 32, 32))
    >>> x = b.conv("conv", b.input, 8, 3, padding=1)
    >>> x = b.relu("relu", x)
    >>> b.build().params
    224
    """

    def __init__(self, name: str, input_shape: Shape):
        self.name, self.input = name, Tensor(tuple(input_shape), "input")
        self.layers: list[LayerCost] = []
        self.nodes: list[Node] | None = []
        self._names: set[str] = {"input"}

    def add_layer(self, layer: LayerCost, op: str | None = None, inputs: tuple[Shape | str, ...] | None = None,
                  **attrs: Any) -> Tensor:
        """Append `layer`. With `op` and `inputs` (shapes from earlier calls, or layer names) the graph
        keeps the node; a layer added without them (or read from a plain shape) leaves the graph unknown."""
        if layer.name in self._names:
            raise ValueError(f"{self.name}: two layers are named {layer.name!r}")
        self._names.add(layer.name)
        self.layers.append(layer)
        sources = None if inputs is None else tuple(x if isinstance(x, str) else getattr(x, "producer", None) for x in inputs)
        if self.nodes is not None and op is not None and sources is not None and None not in sources:
            self.nodes.append(Node(layer.name, op, sources, attrs))
        else:
            self.nodes = None
        return Tensor(layer.output_shape, layer.name)

    def build(self, description: str = "", reference: Mapping[str, Any] | None = None) -> Model:
        if not self.layers:
            raise ValueError(f"{self.name}: a model needs at least one layer")
        return Model(self.name, tuple(self.input), tuple(self.layers), description, dict(reference or {}),
                     nodes=tuple(self.nodes) if self.nodes is not None else None)

    # One method per op; each returns the output shape (a `Tensor`). Node ops are the description's op names.
    def conv(self, name: str, x: Shape, out_channels: int, kernel: int, **kw: Any) -> Tensor:
        return self.add_layer(L.conv2d(name, x, out_channels, kernel, **kw), "conv2d", (x,), out_channels=out_channels, kernel=kernel, **kw)

    def linear(self, name: str, x: Shape, out_features: int, **kw: Any) -> Tensor:
        return self.add_layer(L.linear(name, x, out_features, **kw), "linear", (x,), out_features=out_features, **kw)

    def matmul(self, name: str, a: Shape, b: Shape) -> Tensor:
        return self.add_layer(L.matmul(name, a, b), "matmul", (a, b))

    def bn(self, name: str, x: Shape) -> Tensor:
        return self.add_layer(L.batch_norm(name, x), "batch_norm", (x,))

    def layer_norm(self, name: str, x: Shape) -> Tensor:
        return self.add_layer(L.layer_norm(name, x), "layer_norm", (x,))

    def act(self, name: str, x: Shape, kind: str) -> Tensor:
        return self.add_layer(L.activation(name, x, kind), kind, (x,))

    def relu(self, name: str, x: Shape) -> Tensor:
        return self.act(name, x, "relu")

    def max_pool(self, name: str, x: Shape, kernel: int, **kw: Any) -> Tensor:
        return self.add_layer(L.pool2d(name, x, kernel, kind="max", **kw), "max_pool", (x,), kernel=kernel, **kw)

    def avg_pool(self, name: str, x: Shape, output_size: int | tuple[int, int] = 1) -> Tensor:
        return self.add_layer(L.adaptive_avg_pool2d(name, x, output_size), "adaptive_avg_pool", (x,), output_size=output_size)

    def add(self, name: str, a: Shape, b: Shape) -> Tensor:
        if a != b:
            raise ValueError(f"{self.name}.{name}: cannot add {a} and {b}")
        return self.add_layer(L.elementwise(name, a, 2, "add"), "add", (a, b))

    def scale(self, name: str, x: Shape, gate: Shape) -> Tensor:
        return self.add_layer(L.scale(name, x, gate), "scale", (x, gate))

    def softmax(self, name: str, x: Shape) -> Tensor:
        return self.add_layer(L.softmax(name, x), "softmax", (x,))

    def reshape(self, name: str, x: Shape, shape: Shape, *, copy: bool = True) -> Tensor:
        return self.add_layer(L.reshape(name, x, shape, copy=copy), "reshape", (x,), shape=tuple(shape), copy=copy)

    def flatten(self, name: str, x: Shape) -> Tensor:
        return self.add_layer(L.reshape(name, x, (prod(x),), copy=False), "flatten", (x,))

    def concat(self, name: str, shapes: list[Shape], axis: int = 0) -> Tensor:
        return self.add_layer(L.concat(name, shapes, axis), "concat", tuple(shapes), axis=axis)


# -- descriptions (TOML / JSON) -------------------------------------------------------------------
def _op(function: Callable[..., LayerCost], **fixed: Any) -> Callable[..., LayerCost]:
    return lambda name, x, **kw: function(name, x, **fixed, **kw)


OPS: dict[str, Callable[..., LayerCost]] = {
    "conv2d": L.conv2d, "linear": L.linear, "batch_norm": L.batch_norm, "layer_norm": L.layer_norm,
    "rms_norm": L.rms_norm, "softmax": L.softmax,
    **{kind: _op(L.activation, kind=kind) for kind in L.ACTIVATION_FLOPS},
    "max_pool": _op(L.pool2d, kind="max"), "avg_pool": _op(L.pool2d, kind="avg"),
    "adaptive_avg_pool": L.adaptive_avg_pool2d,
    "flatten": lambda name, x: L.reshape(name, x, (prod(x),), copy=False),
    "reshape": L.reshape,
}
"""Single-input ops of a description: op name -> cost function (name, input shape, **arguments)."""
MULTI_INPUT = ("add", "mul", "concat", "matmul")


class DescriptionError(ValueError):
    """A model description that cannot be built (unknown op, bad argument, mismatched shapes)."""


def from_description(data: Mapping[str, Any], where: str = "model") -> Model:
    """Build a `Model` from a parsed TOML/JSON description (format in this module's docstring)."""
    if not isinstance(data, Mapping):
        raise DescriptionError(f"{where}: a model description must be a table")
    name = data.get("name")
    shape = data.get("input")
    if not isinstance(name, str) or not name:
        raise DescriptionError(f"{where}: needs name = \"...\"")
    if not isinstance(shape, list) or not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise DescriptionError(f"{where}: input must be a list of positive integers, e.g. [3, 224, 224]")
    entries = data.get("layer", data.get("layers"))
    if not isinstance(entries, list) or not entries:
        raise DescriptionError(f"{where}: needs at least one [[layer]]")
    builder = Builder(name, tuple(shape))
    outputs: dict[str, Shape] = {"input": builder.input}
    current, current_name = builder.input, "input"
    for index, entry in enumerate(entries, 1):
        here = f"{where} layer {index}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("op"), str):
            raise DescriptionError(f"{here}: needs op = \"...\"")
        args = {k: v for k, v in entry.items() if k not in ("op", "name", "input", "inputs")}
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        strange = [k for k in args if not k.isidentifier()]
        if strange:
            raise DescriptionError(f"{where} layer {index}: unknown argument {strange[0]!r}")
        op, layer_name = entry["op"], str(entry.get("name", f"{entry['op']}{index}"))
        if not layer_name.isprintable() or not op.isprintable():
            raise DescriptionError(f"{where} layer {index}: op and name must be printable one-line text, got {op!r}, {layer_name!r}")
        here = f"{where} layer {index} ({layer_name})"
        try:
            if op in MULTI_INPUT:
                sources = entry.get("inputs")
                if not isinstance(sources, list) or len(sources) < 2 or not all(s in outputs for s in sources):
                    raise DescriptionError(f"{here}: {op} needs inputs = [names of earlier layers] (at least 2)")
                shapes = [outputs[s] for s in sources]
                reads = tuple(sources)
                if op == "concat":
                    layer = L.concat(layer_name, shapes, **args)
                elif op == "matmul":
                    layer = L.matmul(layer_name, shapes[0], shapes[1])
                else:
                    if any(s != shapes[0] for s in shapes):
                        raise DescriptionError(f"{here}: cannot {op} tensors of shapes {shapes}")
                    layer = L.elementwise(layer_name, shapes[0], len(shapes), op)
            elif op in OPS:
                source = entry.get("input")
                if source is not None and source not in outputs:
                    raise DescriptionError(f"{here}: input {source!r} is not an earlier layer")
                layer = OPS[op](layer_name, outputs[source] if source else current, **args)
                reads = (source or current_name,)
            else:
                known = sorted([*OPS, *MULTI_INPUT])
                raise DescriptionError(f"{here}: unknown op {op!r}; known: {', '.join(known)}")
            current = builder.add_layer(layer, op, reads, **args)
            current_name = layer_name
        except DescriptionError:
            raise
        except (TypeError, ValueError) as error:
            raise DescriptionError(f"{here}: {' '.join(str(error).split())}") from None
        outputs[layer_name] = current
    return builder.build(description=str(data.get("description", "")))


# -- inference fusion --------------------------------------------------------------------------------------
FUSION_HEADS = ("conv2d", "linear")
"""Layers an inference runtime fuses epilogues into: their kernels apply them before writing the output."""

FUSED_ACTIVATIONS = frozenset({"relu", "relu6", "sigmoid", "tanh", "hardsigmoid"})
"""Activations fused into a convolution's epilogue: ONNX Runtime's conv-activation fusion takes Relu,
Clip (ReLU6), Sigmoid, Tanh, HardSigmoid and LeakyRelu. SiLU and GELU are no single ONNX op before
opset 24 (x * Sigmoid(x), Erf patterns): runtimes fuse the pattern into a kernel of its own, which
stays a layer here."""

BATCH_NORM, ACTIVATION, RESIDUAL = 1, 2, 3
_NEXT_STAGE = {(0, BATCH_NORM): 1, (0, ACTIVATION): 2, (0, RESIDUAL): 3, (1, ACTIVATION): 2, (1, RESIDUAL): 3, (3, ACTIVATION): 4}
"""(stage the head has reached, epilogue) -> the stage after it: conv [-> batch norm] [-> residual add] [-> activation]."""


def _epilogue(op: str, activations: frozenset[str]) -> int:
    if op == "batch_norm":
        return BATCH_NORM
    if op in activations:
        return ACTIVATION
    return RESIDUAL if op == "add" else 0


def fuse(model: Model, activations: frozenset[str] = FUSED_ACTIVATIONS) -> Model:
    """The model as an optimising inference runtime runs it (ONNX Runtime, TensorRT and OpenVINO all do this).

    Into each convolution or linear layer whose output feeds one layer only, fuse what follows it, in
    this order: a **batch norm** (folded into the weights and bias: it costs nothing at run time), a
    **residual add** of another tensor (the kernel reads that tensor and writes the sum, so the branch
    output never goes to memory and back), an **activation** of `activations` (`FUSED_ACTIVATIONS`:
    ReLU, ReLU6, sigmoid, ..., applied as the output is written).

    A fused layer keeps the head's name, adds the epilogues' FLOPs and parameters, reads the residual
    operand, and names its parts in ``op`` ("conv2d+batch_norm+relu"). Parameters, MACs and FLOPs are
    unchanged; the intermediate tensors' memory traffic and the epilogues' kernel launches go. Needs the
    model's graph (`Model.nodes`): raises ValueError without one.
    """
    from dataclasses import replace

    if model.nodes is None:
        raise ValueError(f"{model.name} has no graph (Model.nodes), so its layers cannot be fused")
    layers = {l.name: l for l in model.layers}
    consumers: dict[str, int] = {}
    for node in model.nodes:
        for source in node.inputs:
            consumers[source] = consumers.get(source, 0) + 1
    order: list[str] = []
    nodes: dict[str, Node] = {}
    alias: dict[str, str] = {}  # a fused-away layer -> the fused layer that now produces its output
    stage: dict[str, int] = {}  # fusion head -> the stage it has reached
    for node in model.nodes:
        inputs = tuple(alias.get(i, i) for i in node.inputs)
        layer, kind = layers[node.name], _epilogue(node.op, activations)
        head = next((i for i in inputs if (stage.get(i), kind) in _NEXT_STAGE and consumers.get(i) == 1
                     and (kind != RESIDUAL or (len(inputs) == 2 and layers[i].output_shape == layer.output_shape))), None)
        if head is None:
            order.append(node.name)
            nodes[node.name] = Node(node.name, node.op, inputs, node.attrs)
            if layer.op in FUSION_HEADS:
                stage[node.name] = 0
            continue
        fused = layers[head]
        reads = prod(layer.output_shape) if kind == RESIDUAL else 0
        layers[head] = replace(fused, op=f"{fused.op}+{layer.op}", params=fused.params + layer.params,
                               extra_flops=fused.extra_flops + layer.extra_flops, input_elements=fused.input_elements + reads)
        if kind == RESIDUAL:
            other = tuple(i for i in inputs if i != head)
            nodes[head] = Node(head, nodes[head].op, nodes[head].inputs + other, nodes[head].attrs)
        stage[head] = _NEXT_STAGE[(stage[head], kind)]
        alias[node.name] = head
        consumers[head] = consumers.get(node.name, 0)
    return replace(model, layers=tuple(layers[name] for name in order), nodes=tuple(nodes[name] for name in order),
                   description=f"{model.description} (fused for inference)".strip())
