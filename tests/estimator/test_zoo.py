"""The built-in models against torchvision's published figures, and model descriptions."""

import pytest

from estimator.models import DescriptionError, from_description
from estimator.zoo import ZOO, builtin

# torchvision's classification table: num_params and "GFLOPS" (which are giga MACs).
PUBLISHED = {
    "alexnet": (61_100_840, 0.71),
    "vgg16": (138_357_544, 15.47),
    "resnet18": (11_689_512, 1.81),
    "resnet50": (25_557_032, 4.09),
    "mobilenet_v2": (3_504_872, 0.3),
    "efficientnet_b0": (5_288_548, 0.39),
    "vit_b_16": (86_567_656, 17.56),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_torchvision(name):
    assert builtin(name).params == PUBLISHED[name][0]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs_match_torchvisions_figure(name):
    published = PUBLISHED[name][1] * 1e9
    decimals = len(str(PUBLISHED[name][1]).split(".")[1])
    # Within 1%, or within the rounding of the printed figure where that is coarser (0.3, 0.39).
    tolerance = max(0.01 * published, 0.5 * 10 ** -decimals * 1e9)
    assert abs(builtin(name).macs - published) <= tolerance


def test_reference_figures_are_recorded_with_their_source():
    for name, build in ZOO.items():
        reference = build().reference
        assert (reference["params"], reference["macs"] / 1e9) == PUBLISHED[name]
        assert reference["source"].startswith("https://pytorch.org/vision/")


def test_resnet50_known_totals():
    model = builtin("resnet50")
    assert model.macs == 4_089_184_256  # conv + fc multiply-accumulates per 224x224 image
    assert model.output_shape == (1000,)
    assert builtin("ResNet-50").params == model.params


def test_vit_counts_attention_matmuls():
    model = builtin("vit_b_16")
    attention = sum(layer.macs for layer in model.layers if layer.op == "matmul")
    assert attention == 12 * 2 * 12 * 197 * 197 * 64


def test_unknown_builtin():
    with pytest.raises(KeyError):
        builtin("resnet51")


LENET = {
    "name": "lenet5", "input": [1, 32, 32],
    "layer": [
        {"op": "conv2d", "name": "conv1", "out_channels": 6, "kernel": 5},
        {"op": "relu", "name": "relu1"},
        {"op": "max_pool", "name": "pool1", "kernel": 2},
        {"op": "conv2d", "name": "conv2", "out_channels": 16, "kernel": 5},
        {"op": "max_pool", "name": "pool2", "kernel": 2},
        {"op": "flatten", "name": "flatten"},
        {"op": "linear", "name": "fc1", "out_features": 120},
        {"op": "linear", "name": "fc2", "out_features": 84},
        {"op": "linear", "name": "fc3", "out_features": 10},
    ],
}


def test_description_builds_a_model():
    model = from_description(LENET)
    assert model.params == 156 + 2_416 + 48_120 + 10_164 + 850
    assert model.macs == 6 * 25 * 28 * 28 + 16 * 6 * 25 * 10 * 10 + 400 * 120 + 120 * 84 + 84 * 10
    assert model.output_shape == (10,)


def test_description_with_a_residual_branch():
    model = from_description({
        "name": "res", "input": [8, 16, 16],
        "layer": [
            {"op": "conv2d", "name": "a", "out_channels": 8, "kernel": 3, "padding": 1},
            {"op": "conv2d", "name": "b", "out_channels": 8, "kernel": 3, "padding": 1},
            {"op": "add", "name": "sum", "inputs": ["b", "input"]},
        ],
    })
    assert model.layers[-1].output_shape == (8, 16, 16)


@pytest.mark.parametrize("change, message", [
    ({"input": [0, 3]}, "positive integers"),
    ({"layer": []}, "at least one"),
    ({"layer": [{"op": "conv3d"}]}, "unknown op"),
    ({"layer": [{"op": "conv2d", "out_channels": 4}]}, "kernel"),
    ({"layer": [{"op": "linear", "out_features": 10, "input": "nope"}]}, "not an earlier layer"),
    ({"layer": [{"op": "conv2d", "out_channels": 4, "kernel": 64}]}, "does not fit"),
    ({"layer": [{"op": "add", "inputs": ["input"]}]}, "at least 2"),
])
def test_bad_descriptions_say_what_is_wrong(change, message):
    with pytest.raises(DescriptionError, match=message):
        from_description({**LENET, **change})


def test_mismatched_shapes_in_a_description():
    with pytest.raises(DescriptionError, match="cannot add"):
        from_description({"name": "x", "input": [3, 8, 8], "layer": [
            {"op": "conv2d", "name": "a", "out_channels": 4, "kernel": 3},
            {"op": "add", "name": "s", "inputs": ["a", "input"]},
        ]})
