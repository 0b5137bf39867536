"""Models keep their graph; inference fusion folds batch norms and fuses epilogues, by hand."""

import pytest

from estimator import layers as L
from estimator.models import Builder, Node, fuse, from_description
from estimator.zoo import ZOO


def test_builder_records_each_layer_and_what_it_reads():
    model = ZOO["resnet18"]()
    assert len(model.nodes) == len(model.layers) == 69
    nodes = {n.name: n for n in model.nodes}
    assert nodes["conv1.conv"] == Node("conv1.conv", "conv2d", ("input",), {"out_channels": 64, "kernel": 7, "stride": 2, "padding": 3, "groups": 1, "bias": False})
    assert nodes["layer1.0.add"].inputs == ("layer1.0.2.bn", "maxpool")  # the residual branch and the shortcut
    assert ZOO["vit_b_16"]().nodes is None  # built from slices of shapes: no graph


def test_a_description_keeps_its_graph():
    model = from_description({"name": "d", "input": [3, 8, 8], "layer": [
        {"op": "conv2d", "name": "c", "out_channels": 4, "kernel": 3, "padding": 1},
        {"op": "relu", "name": "r"},
        {"op": "add", "name": "a", "inputs": ["r", "c"]},
    ]})
    assert [(n.name, n.inputs) for n in model.nodes] == [("c", ("input",)), ("r", ("c",)), ("a", ("r", "c"))]


def test_conv_bn_relu_fuse_into_one_layer_by_hand():
    b = Builder("block", (64, 56, 56))
    x = b.conv("conv", b.input, 64, 3, padding=1, bias=False)
    x = b.relu("relu", b.bn("bn", x))
    model = b.build()
    fused = fuse(model)
    (layer,) = fused.layers
    conv, bn, relu = model.layers
    assert layer.op == "conv2d+batch_norm+relu" and layer.name == "conv"
    assert (fused.params, fused.macs, fused.flops) == (model.params, model.macs, model.flops)
    # what is left to move: the conv's input, weights and output, once
    assert layer.bytes("fp32") == conv.bytes("fp32") and fused.bytes("fp32") == model.bytes("fp32") - bn.bytes("fp32") - relu.bytes("fp32")


def test_residual_add_reads_the_shortcut_and_the_relu_after_it_fuses_too():
    model = ZOO["resnet18"]()
    fused = fuse(model)
    assert len(fused.layers) == 24
    ops = [l.op for l in fused.layers]
    assert ops.count("conv2d+batch_norm+add+relu") == 8 and ops.count("conv2d+batch_norm") == 3  # downsample shortcuts
    layer = next(l for l in fused.layers if l.name == "layer1.0.2.conv")
    plain = next(l for l in model.layers if l.name == "layer1.0.2.conv")
    assert layer.input_elements == plain.input_elements + 64 * 56 * 56  # + the shortcut it adds


def test_silu_stays_a_layer_and_the_fusable_set_is_a_parameter():
    model = ZOO["efficientnet_b0"]()
    fused = fuse(model)
    assert "silu" in [l.op for l in fused.layers] and not any(l.op.endswith("+silu") for l in fused.layers)
    everything = fuse(model, activations=frozenset(L.ACTIVATION_FLOPS))
    assert any(l.op == "conv2d+batch_norm+silu" for l in everything.layers) and len(everything.layers) < len(fused.layers)


def test_fusing_a_model_without_a_graph_is_an_error():
    with pytest.raises(ValueError, match="no graph"):
        fuse(ZOO["vit_b_16"]())
