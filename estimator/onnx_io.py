"""ONNX graphs in and out: a graph's layers become layer costs, and a built-in model becomes a graph.

`from_onnx` reads a graph with ONNX shape inference and maps every node to the layer formulas of
`estimator.layers` (the same formulas the built-in models use), so an imported network is costed
exactly as one described by hand:

=============================================  ==========================================================
ONNX                                           cost
=============================================  ==========================================================
Conv                                           `conv2d` (groups, strides, dilations, pads; asymmetric pads too)
Gemm; MatMul with a constant 2-D operand       `linear` (a following Add of a constant bias vector joins it)
MatMul of two activations                      `matmul` (attention's Q K^T and P V)
BatchNormalization, LayerNormalization         `batch_norm`, `layer_norm`
Relu, Sigmoid, Tanh, Gelu, HardSigmoid,        `activation` (``x * Sigmoid(x)`` is one SiLU, as PyTorch
HardSwish, Swish, Clip(0, 6)                   exports it)
Erf, Exp, Log, Sqrt, Reciprocal, Neg, Abs,     `unary` (1 FLOP per element; Cast 0)
Cast, LeakyRelu, ...
Add, Sub, Mul, Div, Pow, Max, Min, ...         `elementwise` (same shapes) or `scale` (broadcast)
MaxPool, AveragePool, GlobalAveragePool,       `pool2d`, `adaptive_avg_pool2d`
GlobalMaxPool
Softmax, ReduceMean/Sum/Max/...                `softmax`, `reduce`
Reshape, Flatten, Squeeze, Unsqueeze,          free views (`reshape` with copy=False)
Identity, Dropout
Transpose, Concat, Slice, Split, Gather,       copies (bytes only)
Pad, Expand, Tile, Resize
Gather of a constant table                     `embedding`
=============================================  ==========================================================

Nodes computed from constants and shapes alone (Shape, Constant, the arithmetic on shapes that feeds
Reshape) cost nothing: runtimes fold them when the session starts. Any other op is listed in
`Model.notes`, one line per op type with its count, and is **not** counted as zero silently.

Batch: the first graph input's leading dimension is the batch. A symbolic one (``batch``, ``N``) is
set to 1 and the estimate's batch size scales activations, as for every model; a fixed one (a graph
exported at batch 8) is costed at 8 and divided back to one sample. Other symbolic dimensions
(``sequence``) must be given (``dims={"sequence": 128}``).

`to_onnx` writes a model built with `estimator.models.Builder` (the CNN zoo, a description) as an
ONNX graph with random or zero weights, which `from_onnx` reads back to the same parameters, MACs
and bytes. Both import the ``onnx`` package only when called (the ``onnx`` extra).
"""

from collections import Counter
from dataclasses import replace
from math import prod
from typing import Any, Mapping

from estimator import layers as L
from estimator.layers import LayerCost
from estimator.models import Model, Node

OPSET = 20
"""The opset `to_onnx` writes (Gelu is opset 20); onnxruntime 1.17 and newer run it."""


class OnnxImportError(ValueError):
    """A graph that cannot be read or costed: not ONNX, a dynamic dimension left unset, a failed shape inference."""


def _onnx():
    try:
        import onnx
    except ImportError:
        raise OnnxImportError("reading ONNX graphs needs the onnx package: pip install 'hwdb[onnx]'") from None
    return onnx


# -- import -------------------------------------------------------------------------------------------
FREE_VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"}
COPIES = {"Transpose", "Slice", "Split", "Pad", "Expand", "Tile", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth"}
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
               "Swish": "silu"}
UNARY_FLOPS = {"Erf": 1, "Exp": 1, "Log": 1, "Sqrt": 1, "Reciprocal": 1, "Neg": 1, "Abs": 1, "Floor": 1, "Ceil": 1,
               "Round": 1, "Sign": 1, "Not": 1, "Sin": 1, "Cos": 1, "IsNaN": 1, "LeakyRelu": 2, "Elu": 3, "Selu": 4,
               "Softplus": 3, "Softsign": 3, "Mish": 6, "Cast": 0}
"""FLOPs per element of ONNX's unary math ops, by the conventions of `estimator.layers` (transcendentals 1)."""
BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "max", "Min": "min",
          "Mod": "mod", "Equal": "equal", "Less": "less", "Greater": "greater", "And": "and", "Or": "or", "Where": "where"}
REDUCTIONS = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare", "ArgMax", "ArgMin"}


class _Graph:
    """Shapes, constants and consumers of an inferred graph, at the batch it is costed at."""

    def __init__(self, graph, onnx) -> None:
        from onnx import numpy_helper

        self.shapes: dict[str, tuple[int, ...] | None] = {}
        for info in [*graph.input, *graph.value_info, *graph.output]:
            dims = info.type.tensor_type.shape.dim
            known = info.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims)
            self.shapes[info.name] = tuple(d.dim_value for d in dims) if known else None
        self.initializers = {t.name: t for t in graph.initializer}
        for name, tensor in self.initializers.items():
            self.shapes[name] = tuple(tensor.dims)
        self.values = {}  # small constant tensors whose values matter (Clip bounds, a bias vector's shape)
        for name, tensor in self.initializers.items():
            if prod(tensor.dims) <= 16:
                self.values[name] = numpy_helper.to_array(tensor)
        self.constant: set[str] = set(self.initializers)  # weights, Constant outputs and what is computed from them
        self.meta: set[str] = set()  # shape arithmetic: Shape outputs and what is computed from them
        self.consumers: Counter[str] = Counter(i for node in graph.node for i in node.input if i)
        for node in graph.node:
            inputs = [i for i in node.input if i]
            if node.op_type == "Constant":
                self.constant.update(node.output)
                for attribute in node.attribute:
                    if attribute.name == "value":
                        tensor = attribute.t
                        self.shapes[node.output[0]] = tuple(tensor.dims)
                        if prod(tensor.dims) <= 16:
                            self.values[node.output[0]] = numpy_helper.to_array(tensor)
            elif node.op_type in ("Shape", "Size"):
                self.meta.update(node.output)
            elif inputs and all(i in self.constant or i in self.meta for i in inputs):
                if not any(i in self.meta for i in inputs):
                    self.constant.update(node.output)
                elif not any(i in self.constant and prod(self.shapes.get(i) or (0,)) > 64 for i in inputs):
                    self.meta.update(node.output)
                # else: shape arithmetic that reads a large constant (position ids gathering a table) is run-time work

    def is_activation(self, name: str) -> bool:
        return bool(name) and name not in self.constant and name not in self.meta

    def shape(self, name: str) -> tuple[int, ...]:
        shape = self.shapes.get(name)
        if shape is None:
            raise KeyError(name)
        return shape


def _attrs(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _spatial_pads(attrs: Mapping[str, Any], kernel: tuple[int, int], strides: tuple[int, int], dilations: tuple[int, int],
                  size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(begin, end) pads per spatial axis, from ``pads`` or ``auto_pad`` (SAME_UPPER/SAME_LOWER)."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
            out = -(-n // s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
            small, large = total // 2, total - total // 2
            pads.append((small, large) if auto == "SAME_UPPER" else (large, small))
        return pads[0], pads[1]
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    return (pads[0], pads[2]), (pads[1], pads[3])


def _padded_window(cost_of, input_shape: tuple[int, int, int], pads) -> LayerCost:
    """A conv/pool cost with asymmetric pads: costed on the input padded to a symmetric-free shape, then the
    input read set back to the real input (MACs and outputs depend only on the output size)."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return cost_of(input_shape, (top, left))
    c, h, w = input_shape
    cost = cost_of((c, h + top + bottom, w + left + right), (0, 0))
    return replace(cost, input_elements=c * h * w)


def _times(cost: LayerCost, n: int) -> LayerCost:
    """A per-sample cost for `n` samples (the leading batch of an NCHW tensor)."""
    if n == 1:
        return cost
    gemm = cost.gemm
    if gemm is not None and cost.gemm_stacks_batch:
        gemm = (gemm[0] * n, gemm[1], gemm[2])
    return replace(cost, macs=cost.macs * n, extra_flops=cost.extra_flops * n, input_elements=cost.input_elements * n,
                   output_elements=cost.output_elements * n, gathered_elements=cost.gathered_elements * n,
                   index_bytes=cost.index_bytes * n, gemm=gemm)


def _per_sample(cost: LayerCost, batch: int) -> LayerCost:
    """A cost at the graph's batch divided back to one sample (weights stay: a batch reads them once)."""
    if batch == 1:
        return cost
    fields = ("macs", "extra_flops", "input_elements", "output_elements", "gathered_elements", "index_bytes")
    values = {f: getattr(cost, f) for f in fields}
    gemm = cost.gemm
    if gemm is not None and cost.gemm_stacks_batch:
        values["gemm_rows"] = gemm[0]
    if any(v % batch for v in values.values()):
        raise OnnxImportError(f"{cost.name}: its work does not divide by the graph's batch of {batch}; "
                              "export the graph with a dynamic batch axis")
    if "gemm_rows" in values:
        gemm = (values.pop("gemm_rows") // batch, gemm[1], gemm[2])
    return replace(cost, gemm=gemm, **{f: v // batch for f, v in values.items()})


class _Uncostable(Exception):
    """An op (or an op's use) that no layer formula covers; its label is what `Model.notes` lists."""


class _Importer:
    """Costs the nodes of an inferred graph, after two passes that join what PyTorch's exporter splits:
    ``x * Sigmoid(x)`` is one SiLU, and ``MatMul(x, W) + b`` (a Linear on a 3-D input) is one linear layer."""

    def __init__(self, graph: _Graph, nodes) -> None:
        self.g = graph
        self.producer = {o: n for n in nodes for o in n.output}
        consumers: dict[str, list] = {}
        for n in nodes:
            for i in n.input:
                consumers.setdefault(i, []).append(n)
        self.skip: set[str] = set()  # outputs of nodes folded into a neighbour
        self.silu: set[str] = set()  # outputs of Mul nodes that are a SiLU
        self.bias: dict[str, str] = {}  # MatMul output -> the bias Add output that joins it
        for n in nodes:
            if n.op_type == "Mul" and len(n.input) == 2 and all(graph.is_activation(i) for i in n.input):
                for i, other in (tuple(n.input), tuple(reversed(n.input))):
                    p = self.producer.get(i)
                    if p is not None and p.op_type == "Sigmoid" and p.input[0] == other and graph.consumers[i] == 1:
                        self.skip.add(i)
                        self.silu.add(n.output[0])
                        break
            if n.op_type == "MatMul" and n.input[1] in graph.constant and graph.consumers[n.output[0]] == 1:
                weight = graph.shapes.get(n.input[1])
                for add in consumers.get(n.output[0], ()):
                    other = [i for i in add.input if i != n.output[0]]
                    if add.op_type == "Add" and weight and len(weight) == 2 and len(other) == 1 and other[0] in graph.constant \
                            and graph.shapes.get(other[0]) in ((weight[1],), (1, weight[1])):
                        self.bias[n.output[0]] = add.output[0]
                        self.skip.add(add.output[0])

    def cost(self, node, name: str) -> LayerCost:
        """The node's cost at the graph's batch (a free view costs nothing).

        Raises:
            _Uncostable: an op (or a use of it) no layer formula covers.
            KeyError: a tensor whose shape inference left unknown.
        """
        g, op, a = self.g, node.op_type, _attrs(node)
        out = g.shape(node.output[0])
        if op == "Conv":
            x, w = g.shape(node.input[0]), g.shape(node.input[1])
            if len(x) != 4 or node.input[1] not in g.constant:
                raise _Uncostable(f"{op} (not 2-D, or computed weights)")
            kernel = tuple(w[2:])
            strides, dilations = tuple(a.get("strides", [1, 1])), tuple(a.get("dilations", [1, 1]))
            bias = len(node.input) > 2 and bool(node.input[2])
            pads = _spatial_pads(a, kernel, strides, dilations, x[2:])
            cost = _padded_window(lambda shape, padding: L.conv2d(
                name, shape, w[0], kernel, stride=strides, padding=padding, dilation=dilations, groups=a.get("group", 1), bias=bias), x[1:], pads)
            return _times(cost, x[0])
        if op == "Gemm":
            if a.get("transA", 0) or node.input[1] not in g.constant:
                raise _Uncostable(f"{op} (transposed input or computed weights)")
            w = g.shape(node.input[1])
            return L.linear(name, g.shape(node.input[0]), w[0] if a.get("transB", 0) else w[1], bias=len(node.input) > 2 and bool(node.input[2]))
        if op == "MatMul":
            x, y = g.shape(node.input[0]), g.shape(node.input[1])
            if node.input[1] in g.constant and len(y) == 2:
                return L.linear(name, x, y[1], bias=node.output[0] in self.bias)
            if len(x) < 2 or len(y) < 2:
                raise _Uncostable(f"{op} (a vector operand)")
            lead = tuple(max(p, q) for p, q in zip((1,) * (len(y) - len(x)) + x[:-2], (1,) * (len(x) - len(y)) + y[:-2], strict=True))
            return replace(L.matmul(name, lead + x[-2:], lead + y[-2:]), input_elements=prod(x) + prod(y))
        if op == "BatchNormalization":
            x = g.shape(node.input[0])
            return _times(L.batch_norm(name, x[1:]), x[0])
        if op == "LayerNormalization":
            x = g.shape(node.input[0])
            axis = a.get("axis", -1) % len(x)
            cost = replace(L.layer_norm(name, (prod(x[:axis]), prod(x[axis:]))), output_shape=out)
            if len(node.input) < 3 or not node.input[2]:  # a scale and no bias
                cost = replace(cost, params=cost.params // 2, weight_elements=cost.weight_elements // 2)
            return cost
        if op == "Gelu":
            approximate = a.get("approximate", b"none")
            approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
            return L.activation(name, g.shape(node.input[0]), "gelu_tanh" if approximate == "tanh" else "gelu")
        if op == "Clip":
            if self._clip_bounds(node) == (0.0, 6.0):
                return L.activation(name, g.shape(node.input[0]), "relu6")
            return L.unary(name, g.shape(node.input[0]), "clip", 2)
        if op in ACTIVATIONS:
            return L.activation(name, g.shape(node.input[0]), ACTIVATIONS[op])
        if op in UNARY_FLOPS:
            return L.unary(name, g.shape(node.input[0]), op.lower(), UNARY_FLOPS[op])
        if op in BINARY:
            if node.output[0] in self.silu:
                return L.activation(name, out, "silu")
            return self._binary(node, name, out)
        if op in ("MaxPool", "AveragePool"):
            x = g.shape(node.input[0])
            if len(x) != 4 or tuple(a.get("dilations", (1, 1))) != (1, 1):
                raise _Uncostable(f"{op} (not 2-D, or dilated)")
            kernel, strides = tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1]))
            pads = _spatial_pads(a, kernel, strides, (1, 1), x[2:])
            kind = "max" if op == "MaxPool" else "avg"
            cost = _padded_window(lambda shape, padding: L.pool2d(
                name, shape, kernel, stride=strides, padding=padding, kind=kind, ceil_mode=bool(a.get("ceil_mode", 0))), x[1:], pads)
            return _times(cost, x[0])
        if op == "GlobalAveragePool":
            x = g.shape(node.input[0])
            return _times(L.adaptive_avg_pool2d(name, x[1:], 1), x[0])
        if op == "GlobalMaxPool":
            x = g.shape(node.input[0])
            return _times(L.pool2d(name, x[1:], (x[2], x[3]), kind="max"), x[0])
        if op in ("Softmax", "LogSoftmax"):
            return L.softmax(name, g.shape(node.input[0]))
        if op in REDUCTIONS:
            return L.reduce(name, g.shape(node.input[0]), out, op=op.lower())
        if op in FREE_VIEWS:
            return L.reshape(name, g.shape(node.input[0]), out, copy=False)
        if op == "Gather" and node.input[0] in g.constant and len(g.shape(node.input[0])) == 2 and a.get("axis", 0) == 0:
            table = g.shape(node.input[0])
            return replace(L.embedding(name, max(1, prod(out) // table[1]), table[0], table[1]), output_shape=out)
        if op == "Concat":
            return L.copy(name, out, sum(prod(g.shape(i)) for i in node.input if i), op="concat")
        if op in COPIES or op == "Gather":
            # Slicing ops read what they write; a transpose or pad reads its whole input.
            reads = prod(out) if op in ("Slice", "Split", "Expand", "Tile", "Resize", "Upsample", "Gather") else prod(g.shape(node.input[0]))
            return L.copy(name, out, reads, op=op.lower())
        raise _Uncostable(op)

    def _clip_bounds(self, node) -> tuple[float, float] | None:
        a = _attrs(node)
        if "min" in a or "max" in a:  # opset < 11 keeps the bounds as attributes
            return float(a.get("min", float("-inf"))), float(a.get("max", float("inf")))
        bounds = []
        for index in (1, 2):
            value = self.g.values.get(node.input[index]) if len(node.input) > index else None
            bounds.append(float(value) if value is not None and value.size == 1 else None)
        return None if None in bounds else (bounds[0], bounds[1])

    def _binary(self, node, name: str, out: tuple[int, ...]) -> LayerCost:
        """Two (or three, for Where) operands: `elementwise` when they are same-shaped activations, else a
        broadcast (`scale`) that reads each activation and constant once: constants over one element are
        parameters (a bias, a learned scale), scalars are not."""
        g, kind = self.g, BINARY[node.op_type]
        inputs = [i for i in node.input if i]
        if all(g.is_activation(i) and g.shape(i) == out for i in inputs) and kind in L.ELEMENTWISE_KINDS:
            return L.elementwise(name, out, len(inputs), kind)
        shapes = {i: g.shape(i) if g.is_activation(i) or g.shapes.get(i) is not None else out for i in inputs}
        smaller = min(shapes.values(), key=prod)
        cost = L.scale(name, out, smaller, kind=kind)
        constant = [prod(s) for i, s in shapes.items() if i in g.constant]
        return replace(cost, input_elements=sum(prod(s) for i, s in shapes.items() if i not in g.constant),
                       weight_elements=sum(constant), params=sum(n for n in constant if n > 1))


def _set_dims(model, dims: Mapping[str, int]) -> tuple[int, set[str], str | None]:
    """Fix every graph input's symbolic dimensions (the batch to 1 unless given); return (batch, dims used,
    the batch's symbol if it has one)."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if not inputs:
        raise OnnxImportError("the graph has no inputs")
    used, missing = set(), []
    batch_symbol = None
    for position, info in enumerate(inputs):
        for axis, dim in enumerate(info.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            symbol = dim.dim_param or f"{info.name}[{axis}]"
            if symbol in dims:
                value = dims[symbol]
                used.add(symbol)
            elif position == 0 and axis == 0 or symbol == batch_symbol:
                value = 1
            else:
                missing.append(f"{symbol} ({info.name} dimension {axis})")
                continue
            if position == 0 and axis == 0:
                batch_symbol = symbol
            dim.Clear()
            dim.dim_value = int(value)
    if missing:
        raise OnnxImportError(f"set the graph's dynamic dimensions: {', '.join(dict.fromkeys(missing))} (e.g. --dim NAME=128)")
    first = inputs[0].type.tensor_type.shape.dim
    return (first[0].dim_value if len(first) else 1), used, batch_symbol


def from_onnx(model, dims: Mapping[str, int] | None = None, *, name: str | None = None) -> Model:
    """Layer costs of an ONNX graph (a ``ModelProto``, or the bytes of one) for one sample.

    `dims` sets symbolic dimensions by name; a graph's symbolic batch is costed at 1 (give the batch to
    the estimate instead). The batch symbol may be given too, to cost a batch: that batch then
    divides back to per-sample costs.

    Raises:
        OnnxImportError: not a graph, an unset dynamic dimension, or shapes that inference cannot fix.
    """
    onnx = _onnx()
    dims = dict(dims or {})
    for key, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OnnxImportError(f"dimension {key} must be a positive integer, got {value!r}")
    try:
        if isinstance(model, (bytes, bytearray)):
            model = onnx.load_model_from_string(bytes(model))
        else:
            copy = onnx.ModelProto()
            copy.CopyFrom(model)
            model = copy
    except Exception as error:  # protobuf's DecodeError and friends
        raise OnnxImportError(f"not an ONNX model: {error}") from None
    if not model.graph.node:
        raise OnnxImportError("not an ONNX model (the graph has no nodes)")
    batch, used, batch_symbol = _set_dims(model, dims)
    unused = set(dims) - used
    if unused:
        raise OnnxImportError(f"the graph has no dynamic dimension named {', '.join(sorted(unused))}")
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as error:  # onnx raises InferenceError, ValidationError, RuntimeError...
        raise OnnxImportError(f"shape inference failed: {' '.join(str(error).split())[:300]}") from None
    graph = _Graph(inferred.graph, onnx)
    nodes = list(inferred.graph.node)
    importer = _Importer(graph, nodes)
    layers: list[LayerCost] = []
    graph_nodes: list[Node] = []
    uncosted: Counter[str] = Counter()
    seen: set[str] = set()
    made_by = {i.name: "input" for i in inferred.graph.input if i.name not in graph.initializers}  # tensor -> layer
    for matmul, add in importer.bias.items():
        made_by.setdefault(add, matmul)  # resolved to the linear layer's name once it is costed
    for index, node in enumerate(nodes):
        if not graph.is_activation(node.output[0]) or node.output[0] in importer.skip:
            continue  # folded when the session starts, shape arithmetic, or joined to a neighbour
        layer_name = node.name or f"{node.op_type.lower()}_{index}"
        while layer_name in seen:
            layer_name += "_"
        seen.add(layer_name)
        try:
            cost = importer.cost(node, layer_name)
        except _Uncostable as error:
            uncosted[str(error)] += 1
            continue
        except KeyError:
            uncosted[f"{node.op_type} (shape unknown after inference)"] += 1
            continue
        except ValueError as error:
            raise OnnxImportError(f"node {layer_name} ({node.op_type}): {error}") from None
        cost = _per_sample(cost, batch)
        out = graph.shapes.get(node.output[0])
        if out:
            cost = replace(cost, output_shape=tuple(out[1:]) if len(out) > 1 and out[0] == batch else tuple(out))
        layers.append(cost)
        reads = tuple(dict.fromkeys(made_by[i] for i in node.input if i in made_by and graph.is_activation(i)))
        graph_nodes.append(Node(layer_name, cost.op, reads))
        for output in node.output:
            made_by[output] = layer_name
        if node.output[0] in importer.bias:
            made_by[importer.bias[node.output[0]]] = layer_name
    if not layers:
        raise OnnxImportError("no node of the graph could be costed")
    notes = tuple(f"not costed: {count} x {op} (no layer formula for it; counted as zero time)" for op, count in sorted(uncosted.items()))
    first = [i for i in inferred.graph.input if i.name not in graph.initializers][0]
    shape = tuple(d.dim_value for d in first.type.tensor_type.shape.dim)
    title = name or inferred.graph.name or "onnx"
    described = f"ONNX graph ({len(inferred.graph.node)} nodes, opset {max((o.version for o in inferred.opset_import if o.domain in ('', 'ai.onnx')), default=0)})"
    if batch != 1:
        described += f"; costed at its fixed batch of {batch}, per sample"
    reference = {"batch_symbol": batch_symbol} if batch_symbol else {}
    return Model(title, shape[1:] if len(shape) > 1 else shape, tuple(layers), described, reference, tuple(graph_nodes), notes)


# -- export -------------------------------------------------------------------------------------------
def to_onnx(model: Model, *, weights: str = "random", seed: int = 0):
    """The ONNX graph of a model built with `estimator.models.Builder` (its `nodes`), batch dimension ``batch``.

    `weights` is ``"random"`` (He-scaled normal, so activations stay finite through a deep network) or
    ``"zeros"``. Raises ValueError for a model without a graph (ViT-B/16 is built from slices) or an
    op with no ONNX counterpart here.
    """
    onnx = _onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    if model.nodes is None:
        raise ValueError(f"{model.name} has no graph to export (built from plain shapes)")
    rng = np.random.default_rng(seed)
    layers = {layer.name: layer for layer in model.layers}
    shapes = {"input": tuple(model.input_shape)}
    nodes, initializers = [], []

    def weight(tensor_name: str, shape, fan_in: int | None = None, fill: float | None = None) -> str:
        if fill is not None:
            array = np.full(shape, fill, dtype=np.float32)
        elif weights == "zeros":
            array = np.zeros(shape, dtype=np.float32)
        else:
            array = (rng.standard_normal(shape) * np.sqrt(2.0 / max(1, fan_in or 1))).astype(np.float32)
        initializers.append(numpy_helper.from_array(array, tensor_name))
        return tensor_name

    def node(op_type: str, inputs, output: str, **attributes) -> None:
        nodes.append(helper.make_node(op_type, list(inputs), [output], name=output, **attributes))

    for n in model.nodes:
        layer, x = layers[n.name], n.inputs[0] if n.inputs else None
        a = dict(n.attrs)
        shape_in = shapes[x] if x else None
        if n.op == "conv2d":
            cin = shape_in[0]
            kh, kw = L._pair(a["kernel"])
            groups = a.get("groups", 1)
            (sh, sw), (ph, pw), (dh, dw) = L._pair(a.get("stride", 1)), L._pair(a.get("padding", 0)), L._pair(a.get("dilation", 1))
            inputs = [x, weight(f"{n.name}.weight", (a["out_channels"], cin // groups, kh, kw), cin // groups * kh * kw)]
            if a.get("bias", True):
                inputs.append(weight(f"{n.name}.bias", (a["out_channels"],), fill=0.0))
            node("Conv", inputs, n.name, kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw], dilations=[dh, dw], group=groups)
        elif n.op == "linear":
            features, cin = a["out_features"], shape_in[-1]
            w = weight(f"{n.name}.weight", (features, cin), cin)
            if len(shape_in) == 1:
                inputs = [x, w] + ([weight(f"{n.name}.bias", (features,), fill=0.0)] if a.get("bias", True) else [])
                node("Gemm", inputs, n.name, transB=1)
            else:
                transposed = f"{n.name}.weight_t"
                initializers[-1] = numpy_helper.from_array(numpy_helper.to_array(initializers[-1]).T.copy(), transposed)
                if a.get("bias", True):
                    node("MatMul", [x, transposed], f"{n.name}.matmul")
                    node("Add", [f"{n.name}.matmul", weight(f"{n.name}.bias", (features,), fill=0.0)], n.name)
                else:
                    node("MatMul", [x, transposed], n.name)
        elif n.op == "matmul":
            node("MatMul", n.inputs, n.name)
        elif n.op == "batch_norm":
            c = shape_in[0]
            node("BatchNormalization", [x, weight(f"{n.name}.weight", (c,), fill=1.0), weight(f"{n.name}.bias", (c,), fill=0.0),
                                        weight(f"{n.name}.running_mean", (c,), fill=0.0), weight(f"{n.name}.running_var", (c,), fill=1.0)],
                 n.name, epsilon=1e-5)
        elif n.op == "layer_norm":
            d = shape_in[-1]
            node("LayerNormalization", [x, weight(f"{n.name}.weight", (d,), fill=1.0), weight(f"{n.name}.bias", (d,), fill=0.0)], n.name, axis=-1)
        elif n.op in ("relu", "sigmoid", "tanh"):
            node(n.op.capitalize(), [x], n.name)
        elif n.op == "relu6":
            node("Clip", [x, weight(f"{n.name}.min", (), fill=0.0), weight(f"{n.name}.max", (), fill=6.0)], n.name)
        elif n.op == "silu":
            node("Sigmoid", [x], f"{n.name}.sigmoid")
            node("Mul", [x, f"{n.name}.sigmoid"], n.name)
        elif n.op == "hardsigmoid":
            node("HardSigmoid", [x], n.name, alpha=1 / 6, beta=0.5)
        elif n.op == "hardswish":
            node("HardSwish", [x], n.name)
        elif n.op in ("gelu", "gelu_tanh"):
            node("Gelu", [x], n.name, approximate="tanh" if n.op == "gelu_tanh" else "none")
        elif n.op in ("max_pool", "avg_pool"):
            kh, kw = L._pair(a["kernel"])
            sh, sw = L._pair(a.get("stride") or a["kernel"])
            ph, pw = L._pair(a.get("padding", 0))
            node("MaxPool" if n.op == "max_pool" else "AveragePool", [x], n.name, kernel_shape=[kh, kw], strides=[sh, sw],
                 pads=[ph, pw, ph, pw], ceil_mode=int(bool(a.get("ceil_mode", False))))
        elif n.op == "adaptive_avg_pool":
            ho, wo = L._pair(a.get("output_size", 1))
            _, h, w = shape_in
            if (ho, wo) == (1, 1):
                node("GlobalAveragePool", [x], n.name)
            elif h % ho == 0 and w % wo == 0:
                node("AveragePool", [x], n.name, kernel_shape=[h // ho, w // wo], strides=[h // ho, w // wo])
            else:
                raise ValueError(f"{n.name}: adaptive pooling of {h}x{w} to {ho}x{wo} has no fixed-window ONNX form")
        elif n.op in ("add", "mul"):
            node(n.op.capitalize(), n.inputs, n.name)
        elif n.op == "scale":
            node("Mul", n.inputs, n.name)
        elif n.op == "softmax":
            node("Softmax", [x], n.name, axis=-1)
        elif n.op == "flatten":
            node("Flatten", [x], n.name, axis=1)
        elif n.op == "reshape" and not a.get("copy", True):
            target = f"{n.name}.shape"
            initializers.append(numpy_helper.from_array(np.array([-1, *a["shape"]], dtype=np.int64), target))
            node("Reshape", [x, target], n.name)
        elif n.op == "concat":
            node("Concat", n.inputs, n.name, axis=a.get("axis", 0) + 1)
        else:
            raise ValueError(f"{n.name}: no ONNX export for op {n.op!r}")
        shapes[n.name] = tuple(layer.output_shape)
    last = model.nodes[-1].name
    graph = helper.make_graph(
        nodes, model.name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *model.input_shape])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, ["batch", *shapes[last]])],
        initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hwdb")
    proto.ir_version = 9  # onnxruntime 1.17+ reads IR 9
    onnx.checker.check_model(proto)
    return proto


def encoder_onnx(*, sequence: int = 128, layers: int = 4, width: int = 256, heads: int = 4, ffn: int = 1024, vocab: int = 8192,
                 seed: int = 0):
    """A BERT-style encoder as PyTorch's exporter writes one (random weights), input ``input_ids`` of shape
    (batch, `sequence`): embedding gather plus learned positions, then per layer Q/K/V projections (MatMul + Add),
    heads split by Reshape/Transpose, ``Q K^T / sqrt(d)``, Softmax, ``P V``, heads merged, output
    projection, residual add and LayerNormalization, GELU feed-forward, residual and LayerNormalization.

    It exercises the importer's attention path and gives bench/accuracy.py a transformer to time.
    """
    onnx = _onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    if width % heads:
        raise ValueError("width must be a multiple of heads")
    rng = np.random.default_rng(seed)
    head = width // heads
    nodes, inits = [], []

    def const(name: str, array) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(name: str, shape, scale: float | None = None) -> str:
        fan_in = shape[0] if len(shape) > 1 else 1
        return const(name, (rng.standard_normal(shape) * (scale if scale is not None else fan_in ** -0.5)).astype(np.float32))

    def node(op: str, inputs, name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name

    def linear(x: str, name: str, cin: int, cout: int) -> str:
        y = node("MatMul", [x, weight(f"{name}.weight", (cin, cout))], f"{name}.matmul")
        return node("Add", [y, const(f"{name}.bias", np.zeros(cout, np.float32))], name)

    def layer_norm(x: str, name: str) -> str:
        return node("LayerNormalization", [x, const(f"{name}.weight", np.ones(width, np.float32)), const(f"{name}.bias", np.zeros(width, np.float32))],
                    name, axis=-1, epsilon=1e-12)

    split = const("split_heads_shape", np.array([0, 0, heads, head], dtype=np.int64))
    merge = const("merge_heads_shape", np.array([0, 0, width], dtype=np.int64))
    scale = const("attention_scale", np.array(head ** 0.5, dtype=np.float32))
    x = node("Gather", [weight("embeddings.word", (vocab, width), 0.02), "input_ids"], "embeddings.gather")
    x = node("Add", [x, weight("embeddings.position", (sequence, width), 0.02)], "embeddings.add")
    x = layer_norm(x, "embeddings.norm")
    for i in range(layers):
        p = f"layer{i}"
        q, k, v = (node("Transpose", [node("Reshape", [linear(x, f"{p}.attention.{n}", width, width), split], f"{p}.attention.{n}.split")],
                        f"{p}.attention.{n}.heads", perm=[0, 2, 3, 1] if n == "key" else [0, 2, 1, 3]) for n in ("query", "key", "value"))
        scores = node("Div", [node("MatMul", [q, k], f"{p}.attention.scores"), scale], f"{p}.attention.scaled")
        probs = node("Softmax", [scores], f"{p}.attention.softmax", axis=-1)
        context = node("MatMul", [probs, v], f"{p}.attention.context")
        context = node("Reshape", [node("Transpose", [context], f"{p}.attention.merge", perm=[0, 2, 1, 3]), merge], f"{p}.attention.merged")
        x = layer_norm(node("Add", [linear(context, f"{p}.attention.output", width, width), x], f"{p}.attention.residual"), f"{p}.attention.norm")
        y = node("Gelu", [linear(x, f"{p}.ffn.up", width, ffn)], f"{p}.ffn.gelu")
        x = layer_norm(node("Add", [linear(y, f"{p}.ffn.down", ffn, width), x], f"{p}.ffn.residual"), f"{p}.ffn.norm")
    graph = helper.make_graph(nodes, f"encoder-{layers}x{width}",
                              [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", sequence])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", sequence, width])], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hwdb")
    proto.ir_version = 9
    onnx.checker.check_model(proto)
    return proto
