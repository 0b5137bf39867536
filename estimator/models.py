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
"""

from dataclasses import dataclass, field
from math import prod
from typing import Any, Callable, Mapping

from estimator import layers as L
from estimator.layers import LayerCost, Shape


@dataclass(frozen=True)
class Model:
    """A network as an ordered tuple of layer costs for one sample (weights once)."""

    name: str
    input_shape: Shape
    layers: tuple[LayerCost, ...]
    description: str = ""
    reference: Mapping[str, Any] = field(default_factory=dict)  # published params/MACs and their source

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
        self.name, self.input = name, tuple(input_shape)
        self.layers: list[LayerCost] = []
        self._names: set[str] = set()

    def add_layer(self, layer: LayerCost) -> Shape:
        if layer.name in self._names:
            raise ValueError(f"{self.name}: two layers are named {layer.name!r}")
        self._names.add(layer.name)
        self.layers.append(layer)
        return layer.output_shape

    def build(self, description: str = "", reference: Mapping[str, Any] | None = None) -> Model:
        if not self.layers:
            raise ValueError(f"{self.name}: a model needs at least one layer")
        return Model(self.name, self.input, tuple(self.layers), description, dict(reference or {}))

    # One method per op; each returns the output shape.
    def conv(self, name: str, x: Shape, out_channels: int, kernel: int, **kw: Any) -> Shape:
        return self.add_layer(L.conv2d(name, x, out_channels, kernel, **kw))

    def linear(self, name: str, x: Shape, out_features: int, **kw: Any) -> Shape:
        return self.add_layer(L.linear(name, x, out_features, **kw))

    def matmul(self, name: str, a: Shape, b: Shape) -> Shape:
        return self.add_layer(L.matmul(name, a, b))

    def bn(self, name: str, x: Shape) -> Shape:
        return self.add_layer(L.batch_norm(name, x))

    def layer_norm(self, name: str, x: Shape) -> Shape:
        return self.add_layer(L.layer_norm(name, x))

    def act(self, name: str, x: Shape, kind: str) -> Shape:
        return self.add_layer(L.activation(name, x, kind))

    def relu(self, name: str, x: Shape) -> Shape:
        return self.act(name, x, "relu")

    def max_pool(self, name: str, x: Shape, kernel: int, **kw: Any) -> Shape:
        return self.add_layer(L.pool2d(name, x, kernel, kind="max", **kw))

    def avg_pool(self, name: str, x: Shape, output_size: int | tuple[int, int] = 1) -> Shape:
        return self.add_layer(L.adaptive_avg_pool2d(name, x, output_size))

    def add(self, name: str, a: Shape, b: Shape) -> Shape:
        if a != b:
            raise ValueError(f"{self.name}.{name}: cannot add {a} and {b}")
        return self.add_layer(L.elementwise(name, a, 2, "add"))

    def scale(self, name: str, x: Shape, gate: Shape) -> Shape:
        return self.add_layer(L.scale(name, x, gate))

    def softmax(self, name: str, x: Shape) -> Shape:
        return self.add_layer(L.softmax(name, x))

    def reshape(self, name: str, x: Shape, shape: Shape, *, copy: bool = True) -> Shape:
        return self.add_layer(L.reshape(name, x, shape, copy=copy))

    def flatten(self, name: str, x: Shape) -> Shape:
        return self.reshape(name, x, (prod(x),), copy=False)

    def concat(self, name: str, shapes: list[Shape], axis: int = 0) -> Shape:
        return self.add_layer(L.concat(name, shapes, axis))


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
    current = builder.input
    for index, entry in enumerate(entries, 1):
        here = f"{where} layer {index}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("op"), str):
            raise DescriptionError(f"{here}: needs op = \"...\"")
        args = {k: v for k, v in entry.items() if k not in ("op", "name", "input", "inputs")}
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        op, layer_name = entry["op"], str(entry.get("name", f"{entry['op']}{index}"))
        here = f"{where} layer {index} ({layer_name})"
        try:
            if op in MULTI_INPUT:
                sources = entry.get("inputs")
                if not isinstance(sources, list) or len(sources) < 2 or not all(s in outputs for s in sources):
                    raise DescriptionError(f"{here}: {op} needs inputs = [names of earlier layers] (at least 2)")
                shapes = [outputs[s] for s in sources]
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
            else:
                known = sorted([*OPS, *MULTI_INPUT])
                raise DescriptionError(f"{here}: unknown op {op!r}; known: {', '.join(known)}")
            current = builder.add_layer(layer)
        except DescriptionError:
            raise
        except (TypeError, ValueError) as error:
            raise DescriptionError(f"{here}: {error}") from None
        outputs[layer_name] = current
    return builder.build(description=str(data.get("description", "")))
