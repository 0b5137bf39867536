"""Layer costs against hand-computed values, including the chapter's formulas (推理参数, 典型结构对比)."""

import pytest

from estimator import layers as L
from estimator.units import BYTES_PER_ELEMENT


def test_standard_conv_matches_the_chapter():
    # Params = kh kw cin cout; its "FLOPs" = kh kw cin cout H W is the MAC count.
    conv = L.conv2d("c", (64, 56, 56), 128, 3, padding=1, bias=False)
    assert conv.params == 3 * 3 * 64 * 128 == 73_728
    assert conv.macs == 3 * 3 * 64 * 128 * 56 * 56 == 231_211_008
    assert conv.flops == 2 * conv.macs


def test_conv_with_bias_is_the_chapters_formula():
    # FLOPs = (2 K^2 Cin + 1) Hout Wout Cout, the 1 being the bias add.
    conv = L.conv2d("c", (3, 32, 32), 16, 5, stride=1, padding=2, bias=True)
    assert conv.output_shape == (16, 32, 32)
    assert conv.flops == (2 * 5 * 5 * 3 + 1) * 32 * 32 * 16 == 2_473_984
    assert conv.params == 5 * 5 * 3 * 16 + 16


def test_group_conv_matches_the_chapter():
    conv = L.conv2d("g", (64, 28, 28), 128, 3, padding=1, groups=4, bias=False)
    assert conv.params == 3 * 3 * 64 * 128 // 4 == 18_432
    assert conv.macs == 3 * 3 * 64 * 128 * 28 * 28 // 4


def test_depthwise_conv_matches_the_chapter():
    conv = L.conv2d("dw", (32, 112, 112), 32, 3, padding=1, groups=32, bias=False)
    assert conv.params == 3 * 3 * 32 == 288  # kh kw cout
    assert conv.macs == 3 * 3 * 32 * 112 * 112  # kh kw cout H W


def test_conv_stride_padding_dilation():
    conv = L.conv2d("c", (16, 65, 65), 8, 3, stride=2, padding=2, dilation=2, bias=False)
    # (65 + 4 - 2*2 - 1) // 2 + 1 = 33
    assert conv.output_shape == (8, 33, 33)
    assert conv.macs == 9 * 16 * 8 * 33 * 33


def test_conv_bytes_at_each_precision():
    conv = L.conv2d("c", (3, 224, 224), 64, 7, stride=2, padding=3, bias=False)
    elements = 3 * 224 * 224 + 64 * 112 * 112 + 9408
    for precision, size in (("fp32", 4), ("tf32", 4), ("bf16", 2), ("fp16", 2), ("fp8", 1), ("int8", 1), ("int4", 0.5)):
        assert conv.bytes(precision) == elements * size
    # A batch reads the weights once: 8 samples of activations, one copy of the weights.
    assert conv.bytes("fp16", batch=8) == (8 * (3 * 224 * 224 + 64 * 112 * 112) + 9408) * 2


def test_conv_rejects_impossible_shapes():
    with pytest.raises(ValueError, match="groups"):
        L.conv2d("c", (6, 8, 8), 4, 3, groups=4)
    with pytest.raises(ValueError, match="does not fit"):
        L.conv2d("c", (3, 2, 2), 4, 5)
    with pytest.raises(ValueError, match="positive"):
        L.conv2d("c", (3, 8, 8), 0, 3)


def test_linear_matches_the_chapter():
    fc = L.linear("fc", (4096,), 1000, bias=False)
    assert fc.params == fc.macs == 4096 * 1000  # the chapter: Params = FLOPs(=MACs) = cin cout
    with_bias = L.linear("fc", (4096,), 1000)
    assert with_bias.params == 4096 * 1000 + 1000
    assert with_bias.flops == 2 * 4096 * 1000 + 1000


def test_linear_on_a_sequence():
    fc = L.linear("qkv", (197, 768), 2304)
    assert fc.macs == 197 * 768 * 2304
    assert fc.output_shape == (197, 2304)
    assert fc.input_elements == 197 * 768 and fc.weight_elements == 768 * 2304 + 2304


def test_batched_matmul():
    mm = L.matmul("qk", (12, 197, 64), (12, 64, 197))
    assert mm.macs == 12 * 197 * 64 * 197
    assert mm.params == 0 and mm.weight_elements == 0
    assert mm.input_elements == 2 * 12 * 197 * 64 and mm.output_elements == 12 * 197 * 197
    with pytest.raises(ValueError, match="cannot multiply"):
        L.matmul("bad", (2, 3), (4, 5))


def test_embedding_reads_rows_not_the_table():
    emb = L.embedding("wte", 8, 50257, 768)
    assert emb.params == 50257 * 768
    assert emb.flops == 0
    assert emb.bytes("fp32") == 8 * 8 + 8 * 768 * 4 + 8 * 768 * 4  # int64 indices, rows read, rows written


def test_batch_norm():
    bn = L.batch_norm("bn", (64, 56, 56))
    assert bn.params == 128
    assert bn.flops == 2 * 64 * 56 * 56
    assert bn.weight_elements == 4 * 64


def test_layer_and_rms_norm():
    assert L.layer_norm("ln", (10, 768)).flops == 10 * (8 * 768 + 2)
    assert L.layer_norm("ln", (10, 768)).params == 2 * 768
    assert L.layer_norm("ln", (10, 768), affine=False).flops == 10 * (6 * 768 + 2)
    assert L.rms_norm("rms", (3, 4096)).flops == 3 * (4 * 4096 + 2)
    assert L.rms_norm("rms", (3, 4096)).params == 4096


def test_softmax_and_activations():
    assert L.softmax("s", (12, 197, 197)).flops == 5 * 12 * 197 * 197
    assert L.activation("r", (10, 10), "relu").flops == 100
    assert L.activation("g", (10, 10), "gelu").flops == 500
    assert L.activation("s", (10, 10), "silu").flops == 500
    with pytest.raises(ValueError, match="unknown activation"):
        L.activation("x", (1,), "swishy")


def test_pooling():
    pool = L.pool2d("p", (64, 112, 112), 3, stride=2, padding=1)
    assert pool.output_shape == (64, 56, 56)
    assert pool.flops == 8 * 64 * 56 * 56  # 9 - 1 comparisons per output
    avg = L.pool2d("a", (16, 8, 8), 2, kind="avg")
    assert avg.output_shape == (16, 4, 4) and avg.flops == 4 * 16 * 4 * 4
    ceil = L.pool2d("c", (1, 5, 5), 2, stride=2, ceil_mode=True)
    assert ceil.output_shape == (1, 3, 3)
    glob = L.adaptive_avg_pool2d("g", (2048, 7, 7))
    assert glob.output_shape == (2048, 1, 1) and glob.flops == 2048 * 49 + 2048


def test_elementwise_concat_reshape():
    add = L.elementwise("add", (256, 56, 56))
    assert add.flops == 256 * 56 * 56
    assert add.bytes("fp16") == 3 * 256 * 56 * 56 * 2  # two in, one out
    cat = L.concat("cat", [(1, 768), (196, 768)])
    assert cat.output_shape == (197, 768) and cat.flops == 0 and cat.bytes("fp32") == 2 * 197 * 768 * 4
    view = L.reshape("flat", (2048, 1, 1), (2048,), copy=False)
    assert view.bytes("fp32") == 0 and view.flops == 0
    with pytest.raises(ValueError, match="cannot reshape"):
        L.reshape("bad", (2, 3), (7,))


def test_every_precision_has_a_size():
    assert BYTES_PER_ELEMENT["fp32"] == BYTES_PER_ELEMENT["tf32"] == 4
    assert BYTES_PER_ELEMENT["bf16"] == BYTES_PER_ELEMENT["fp16"] == 2
    assert BYTES_PER_ELEMENT["fp8"] == BYTES_PER_ELEMENT["int8"] == 1
    assert BYTES_PER_ELEMENT["int4"] == BYTES_PER_ELEMENT["fp4"] == 0.5
