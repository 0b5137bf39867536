"""ONNX import: every supported op against the layer formulas, the built-in round trip, dims, what is not costed."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from estimator import layers as L  # noqa: E402
from estimator.models import fuse  # noqa: E402
from estimator.onnx_io import OnnxImportError, encoder_onnx, from_onnx, to_onnx  # noqa: E402
from estimator.zoo import ZOO  # noqa: E402
from hwdb.workloads import load_model  # noqa: E402


def graph(nodes, inputs, initializers=(), opset=20):
    """A model of `nodes` with float inputs {name: shape} and numpy initializers {name: array}."""
    model = helper.make_model(
        helper.make_graph(nodes, "t", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
                          [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.asarray(a), n) for n, a in dict(initializers).items()]),
        opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    return model


def only(model, **dims):
    m = from_onnx(model, dims)
    assert len(m.layers) == 1, [l.name for l in m.layers]
    return m.layers[0]


def same_cost(got, want):
    fields = ("params", "macs", "extra_flops", "input_elements", "output_elements", "weight_elements", "gathered_elements", "index_bytes")
    assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
    assert got.op == want.op and got.engine == want.engine


W = np.zeros


def test_conv_groups_stride_and_bias():
    model = graph([helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], group=4)],
                  {"x": ["batch", 16, 32, 32]}, {"w": W((32, 4, 3, 3), np.float32), "b": W(32, np.float32)})
    same_cost(only(model), L.conv2d("c", (16, 32, 32), 32, 3, stride=2, padding=1, groups=4, bias=True))


def test_conv_asymmetric_pads_costs_the_padded_window_and_reads_the_real_input():
    # SAME_UPPER on 7x7 with a 2x2 kernel: pads 0 before, 1 after -> 7x7 out
    model = graph([helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER")], {"x": [1, 3, 7, 7]}, {"w": W((8, 3, 2, 2), np.float32)})
    cost = only(model)
    assert cost.output_shape == (8, 7, 7)
    assert cost.macs == 2 * 2 * 3 * 8 * 7 * 7 and cost.input_elements == 3 * 7 * 7


def test_depthwise_conv():
    model = graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], group=32)], {"x": [1, 32, 56, 56]},
                  {"w": W((32, 1, 3, 3), np.float32)})
    cost = only(model)
    same_cost(cost, L.conv2d("c", (32, 56, 56), 32, 3, padding=1, groups=32, bias=False))
    assert cost.gemm == (56 * 56, 1, 9)


def test_gemm_and_matmul_with_weights_are_linear():
    gemm = graph([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], {"x": ["N", 512]}, {"w": W((1000, 512), np.float32), "b": W(1000, np.float32)})
    same_cost(only(gemm), L.linear("fc", (512,), 1000))
    matmul = graph([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": ["N", 128, 256]}, {"w": W((256, 64), np.float32)})
    same_cost(only(matmul), L.linear("fc", (128, 256), 64, bias=False))


def test_matmul_plus_bias_is_one_linear_layer():
    model = graph([helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
                  {"x": ["N", 128, 256]}, {"w": W((256, 64), np.float32), "b": W(64, np.float32)})
    same_cost(only(model), L.linear("fc", (128, 256), 64, bias=True))


def test_matmul_of_two_activations_with_broadcast():
    model = graph([helper.make_node("MatMul", ["q", "k"], ["s"])], {"q": [1, 12, 197, 64], "k": [1, 12, 64, 197]})
    same_cost(only(model), L.matmul("s", (12, 197, 64), (12, 64, 197)))
    broadcast = graph([helper.make_node("MatMul", ["a", "b"], ["c"])], {"a": [1, 4, 16, 8], "b": [1, 8, 16]})
    cost = only(broadcast)
    assert cost.macs == 4 * 16 * 8 * 16 and cost.input_elements == 4 * 16 * 8 + 8 * 16


def test_norms():
    bn = graph([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], {"x": ["N", 64, 28, 28]},
               {k: W(64, np.float32) for k in "sbmv"})
    same_cost(only(bn), L.batch_norm("bn", (64, 28, 28)))
    ln = graph([helper.make_node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-1)], {"x": ["N", 197, 768]},
               {"s": W(768, np.float32), "b": W(768, np.float32)})
    same_cost(only(ln), L.layer_norm("ln", (197, 768)))


@pytest.mark.parametrize(("op", "attrs", "kind"), [
    ("Relu", {}, "relu"), ("Sigmoid", {}, "sigmoid"), ("Tanh", {}, "tanh"), ("HardSwish", {}, "hardswish"),
    ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, "hardsigmoid"), ("Gelu", {}, "gelu"), ("Gelu", {"approximate": "tanh"}, "gelu_tanh"),
])
def test_activations(op, attrs, kind):
    same_cost(only(graph([helper.make_node(op, ["x"], ["y"], **attrs)], {"x": ["N", 64, 14, 14]})), L.activation("a", (64, 14, 14), kind))


def test_clip_0_6_is_relu6_and_x_times_sigmoid_x_is_silu():
    clip = graph([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"x": ["N", 96, 7, 7]},
                 {"lo": np.array(0.0, np.float32), "hi": np.array(6.0, np.float32)})
    same_cost(only(clip), L.activation("a", (96, 7, 7), "relu6"))
    silu = graph([helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])], {"x": ["N", 32, 112, 112]})
    same_cost(only(silu), L.activation("a", (32, 112, 112), "silu"))


def test_unary_math_and_cast():
    same_cost(only(graph([helper.make_node("Erf", ["x"], ["y"])], {"x": ["N", 128, 3072]})), L.unary("e", (128, 3072), "erf", 1))
    cost = only(graph([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)], {"x": ["N", 10]}))
    assert cost.flops == 0 and cost.bytes("fp32") == 2 * 10 * 4


def test_binary_ops_same_shape_broadcast_and_learned_operands():
    same_cost(only(graph([helper.make_node("Add", ["a", "b"], ["y"])], {"a": ["N", 256, 56, 56], "b": ["N", 256, 56, 56]})),
              L.elementwise("add", (256, 56, 56), 2, "add"))
    gate = only(graph([helper.make_node("Mul", ["x", "g"], ["y"])], {"x": ["N", 96, 28, 28], "g": ["N", 96, 1, 1]}))
    same_cost(gate, L.scale("s", (96, 28, 28), (96, 1, 1)))
    positions = only(graph([helper.make_node("Add", ["x", "p"], ["y"])], {"x": ["N", 197, 768]}, {"p": W((1, 197, 768), np.float32)}))
    assert positions.params == 197 * 768 and positions.weight_elements == 197 * 768 and positions.input_elements == 197 * 768
    scalar = only(graph([helper.make_node("Div", ["x", "s"], ["y"])], {"x": ["N", 12, 64, 64]}, {"s": np.array(8.0, np.float32)}))
    assert scalar.params == 0 and scalar.flops == 12 * 64 * 64  # a scalar constant is not a parameter


def test_pools():
    maxpool = graph([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], {"x": ["N", 64, 112, 112]})
    same_cost(only(maxpool), L.pool2d("p", (64, 112, 112), 3, stride=2, padding=1))
    avg = graph([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], {"x": ["N", 16, 8, 8]})
    same_cost(only(avg), L.pool2d("p", (16, 8, 8), 2, kind="avg"))
    gap = graph([helper.make_node("GlobalAveragePool", ["x"], ["y"])], {"x": ["N", 2048, 7, 7]})
    same_cost(only(gap), L.adaptive_avg_pool2d("g", (2048, 7, 7)))
    gmp = only(graph([helper.make_node("GlobalMaxPool", ["x"], ["y"])], {"x": ["N", 8, 4, 4]}))
    assert gmp.flops == 8 * 15 and gmp.output_shape == (8, 1, 1)


def test_softmax_reduction_views_and_copies():
    same_cost(only(graph([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], {"x": ["N", 12, 197, 197]})), L.softmax("s", (12, 197, 197)))
    mean = only(graph([helper.make_node("ReduceMean", ["x"], ["y"], axes=[-1], keepdims=1)], {"x": ["N", 197, 768]}, opset=13))
    assert mean.flops == 197 * 768 and mean.output_elements == 197
    flat = only(graph([helper.make_node("Flatten", ["x"], ["y"], axis=1)], {"x": ["N", 2048, 1, 1]}))
    assert flat.bytes("fp32") == 0 and flat.output_shape == (2048,)
    transpose = only(graph([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])], {"x": ["N", 197, 12, 64]}))
    assert transpose.flops == 0 and transpose.bytes("fp32") == 2 * 197 * 12 * 64 * 4
    concat = only(graph([helper.make_node("Concat", ["a", "b"], ["y"], axis=1)], {"a": ["N", 1, 768], "b": ["N", 196, 768]}))
    same_cost(concat, L.copy("c", (197, 768), 197 * 768, op="concat"))


def test_embedding_gather():
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"])], "t",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 16])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(W((1000, 64), np.float32), "table")]), opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    same_cost(only(model), L.embedding("e", 16, 1000, 64))


def test_an_op_without_a_formula_is_listed_once_per_type_never_silently_zero():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("CumSum", ["a", "axis"], ["b"]),
             helper.make_node("CumSum", ["b", "axis"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    m = from_onnx(graph(nodes, {"x": ["N", 10]}, {"axis": np.array(1, np.int64)}))
    assert [l.op for l in m.layers] == ["relu", "relu"]
    assert m.notes == ("not costed: 2 x CumSum (no layer formula for it; counted as zero time)",)


def test_dims_batch_and_errors():
    model = graph([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": ["batch", "sequence", 64]}, {"w": W((64, 32), np.float32)})
    with pytest.raises(OnnxImportError, match=r"set the graph's dynamic dimensions: sequence \(x dimension 1\)"):
        from_onnx(model)
    with pytest.raises(OnnxImportError, match="no dynamic dimension named tokens"):
        from_onnx(model, {"sequence": 8, "tokens": 3})
    per_sample = from_onnx(model, {"sequence": 128})
    assert per_sample.layers[0].macs == 128 * 64 * 32 and per_sample.reference["batch_symbol"] == "batch"
    # the batch given too: costed at 4, divided back to one sample
    assert from_onnx(model, {"sequence": 128, "batch": 4}).layers[0].macs == 128 * 64 * 32
    fixed = graph([helper.make_node("Relu", ["x"], ["y"])], {"x": [8, 100]})
    assert from_onnx(fixed).layers[0].extra_flops == 100 and "fixed batch of 8" in from_onnx(fixed).description
    with pytest.raises(OnnxImportError, match="not an ONNX model"):
        from_onnx(b"\x00\xffnot a protobuf at all")


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "alexnet"])
def test_a_builtin_model_exported_and_imported_back_costs_the_same(name):
    model = ZOO[name]()
    back = from_onnx(to_onnx(model, weights="zeros"))
    assert (back.params, back.macs, back.bytes("fp32"), back.bytes("fp16", 8)) == (model.params, model.macs, model.bytes("fp32"), model.bytes("fp16", 8))
    assert [l.macs for l in back.layers] == [l.macs for l in model.layers]
    assert back.notes == ()
    assert [l.op for l in fuse(back).layers] == [l.op for l in fuse(model).layers]  # the graph survives the round trip too


def test_lenet_description_round_trip(tmp_path):
    model = load_model("lenet5")
    path = tmp_path / "lenet5.onnx"
    onnx.save(to_onnx(model), path)
    back = load_model(str(path))
    assert (back.params, back.macs, back.bytes()) == (61_706, 416_520, model.bytes())


def test_a_model_without_a_graph_cannot_be_exported():
    with pytest.raises(ValueError, match="no graph"):
        to_onnx(ZOO["vit_b_16"]())


def test_encoder_costs_by_hand():
    m = from_onnx(encoder_onnx())
    # embeddings 8192 x 256 + positions 128 x 256 + norm 512; per layer 4 x (256 x 256 + 256) + 2 x 512 + FFN
    per_layer = 4 * (256 * 256 + 256) + 2 * 512 + (256 * 1024 + 1024) + (1024 * 256 + 256)
    assert m.params == 8192 * 256 + 128 * 256 + 512 + 4 * per_layer == 5_289_472
    # per layer: Q, K, V, output (128 x 256 x 256 each), FFN (128 x 256 x 1024 twice), scores and context (4 x 128 x 128 x 64 each)
    assert m.macs == 4 * (4 * 128 * 256 * 256 + 2 * 128 * 256 * 1024 + 2 * 4 * 128 * 128 * 64) == 436_207_616
    assert {l.op for l in m.layers} >= {"embedding", "linear", "matmul", "softmax", "layer_norm", "gelu", "transpose", "reshape", "add", "div"}
    assert m.notes == ()
