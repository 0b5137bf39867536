"""The built-in CNN zoo at 224 x 224, layer for layer as torchvision builds them (inference mode).

Parameter counts equal torchvision's exactly (tests check). torchvision's model pages print a
"GFLOPS" figure that is in fact giga **multiply-accumulates** (ResNet-50: 4.09 G MACs, 8.2 GFLOPs):
hwdb compares its MACs with it, and reports FLOPs = 2 x MACs plus the non-MAC work.
"""

from typing import Callable

from estimator.layers import Shape, parameter
from estimator.models import Builder, Model

TORCHVISION = "https://pytorch.org/vision/stable/models.html"
"""torchvision's classification table (num_params, and 'GFLOPS' = giga MACs), per model page."""


def _reference(params: int, gmacs: float, page: str) -> dict:
    return {
        "params": params, "macs": gmacs * 1e9,
        "source": f"https://pytorch.org/vision/stable/models/generated/torchvision.models.{page}.html",
        "note": "torchvision prints MACs under the heading GFLOPS",
    }


def _conv_bn(b: Builder, name: str, x: Shape, out: int, kernel: int, stride: int = 1, groups: int = 1, act: str | None = "relu") -> Shape:
    x = b.conv(f"{name}.conv", x, out, kernel, stride=stride, padding=(kernel - 1) // 2, groups=groups, bias=False)
    x = b.bn(f"{name}.bn", x)
    return b.act(f"{name}.{act}", x, act) if act else x


def _classifier(b: Builder, x: Shape, pooled: int) -> Shape:
    """AlexNet's and VGG's head: adaptive average pool to pooled x pooled, then 4096-4096-1000 (dropout is free)."""
    x = b.flatten("flatten", b.avg_pool("avgpool", x, pooled))
    x = b.relu("fc6.relu", b.linear("fc6", x, 4096))
    x = b.relu("fc7.relu", b.linear("fc7", x, 4096))
    return b.linear("fc8", x, 1000)


def alexnet() -> Model:
    b = Builder("alexnet", (3, 224, 224))
    x = b.input
    for index, (out, kernel, stride, padding, pool) in enumerate(
        [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False), (256, 3, 1, 1, False), (256, 3, 1, 1, True)], 1
    ):
        x = b.conv(f"conv{index}", x, out, kernel, stride=stride, padding=padding)
        x = b.relu(f"relu{index}", x)
        if pool:
            x = b.max_pool(f"pool{index}", x, 3, stride=2)
    _classifier(b, x, pooled=6)
    return b.build("AlexNet (torchvision variant, 64-192-384-256-256 channels)", _reference(61_100_840, 0.71, "alexnet"))


def vgg16() -> Model:
    b = Builder("vgg16", (3, 224, 224))
    x = b.input
    for stage, (channels, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], 1):
        for index in range(1, convs + 1):
            x = b.conv(f"conv{stage}_{index}", x, channels, 3, padding=1)
            x = b.relu(f"conv{stage}_{index}.relu", x)
        x = b.max_pool(f"pool{stage}", x, 2, stride=2)
    _classifier(b, x, pooled=7)
    return b.build("VGG-16 (configuration D, no batch norm)", _reference(138_357_544, 15.47, "vgg16"))


def _resnet(name: str, blocks: list[int], bottleneck: bool, reference: dict) -> Model:
    b = Builder(name, (3, 224, 224))
    x = _conv_bn(b, "conv1", b.input, 64, 7, stride=2)
    x = b.max_pool("maxpool", x, 3, stride=2, padding=1)
    channels = 64
    for stage, count in enumerate(blocks, 1):
        width = 64 * 2 ** (stage - 1)
        out = width * 4 if bottleneck else width
        for index in range(count):
            stride = 2 if stage > 1 and index == 0 else 1
            p = f"layer{stage}.{index}"
            if bottleneck:  # torchvision's V1.5: the stride sits on the 3x3 conv
                y = _conv_bn(b, f"{p}.1", x, width, 1)
                y = _conv_bn(b, f"{p}.2", y, width, 3, stride=stride)
                y = _conv_bn(b, f"{p}.3", y, out, 1, act=None)
            else:
                y = _conv_bn(b, f"{p}.1", x, width, 3, stride=stride)
                y = _conv_bn(b, f"{p}.2", y, width, 3, act=None)
            shortcut = x
            if stride != 1 or channels != out:
                shortcut = _conv_bn(b, f"{p}.downsample", x, out, 1, stride=stride, act=None)
            x = b.relu(f"{p}.relu", b.add(f"{p}.add", y, shortcut))
            channels = out
    x = b.avg_pool("avgpool", x)
    x = b.flatten("flatten", x)
    b.linear("fc", x, 1000)
    return b.build(f"{name} (torchvision{' V1.5 bottleneck' if bottleneck else ''})", reference)


def resnet18() -> Model:
    return _resnet("resnet18", [2, 2, 2, 2], False, _reference(11_689_512, 1.81, "resnet18"))


def resnet50() -> Model:
    return _resnet("resnet50", [3, 4, 6, 3], True, _reference(25_557_032, 4.09, "resnet50"))


def _inverted_residual(b: Builder, p: str, x: Shape, out: int, expand: int, kernel: int, stride: int, act: str, se: bool) -> Shape:
    """MobileNetV2 / EfficientNet block: expand 1x1, depthwise KxK, (squeeze-excite), project 1x1."""
    channels = x[0]
    hidden = channels * expand
    y = _conv_bn(b, f"{p}.expand", x, hidden, 1, act=act) if expand != 1 else x
    y = _conv_bn(b, f"{p}.dw", y, hidden, kernel, stride=stride, groups=hidden, act=act)
    if se:  # torchvision's SqueezeExcitation: squeeze to max(1, in // 4), SiLU, excite, sigmoid gate
        squeeze = max(1, channels // 4)
        s = b.avg_pool(f"{p}.se.pool", y)
        s = b.act(f"{p}.se.silu", b.conv(f"{p}.se.fc1", s, squeeze, 1), "silu")
        s = b.act(f"{p}.se.sigmoid", b.conv(f"{p}.se.fc2", s, hidden, 1), "sigmoid")
        y = b.scale(f"{p}.se.scale", y, s)
    y = _conv_bn(b, f"{p}.project", y, out, 1, act=None)
    return b.add(f"{p}.add", y, x) if stride == 1 and channels == out else y


def mobilenet_v2() -> Model:
    b = Builder("mobilenet_v2", (3, 224, 224))
    x = _conv_bn(b, "stem", b.input, 32, 3, stride=2, act="relu6")
    index = 0
    for expand, out, repeats, stride in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for r in range(repeats):
            index += 1
            x = _inverted_residual(b, f"block{index}", x, out, expand, 3, stride if r == 0 else 1, "relu6", se=False)
    x = _conv_bn(b, "head", x, 1280, 1, act="relu6")
    x = b.flatten("flatten", b.avg_pool("avgpool", x))
    b.linear("classifier", x, 1000)
    return b.build("MobileNetV2 (width 1.0)", _reference(3_504_872, 0.3, "mobilenet_v2"))


def efficientnet_b0() -> Model:
    b = Builder("efficientnet_b0", (3, 224, 224))
    x = _conv_bn(b, "stem", b.input, 32, 3, stride=2, act="silu")
    index = 0
    for expand, kernel, stride, out, repeats in [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]:
        for r in range(repeats):
            index += 1
            x = _inverted_residual(b, f"block{index}", x, out, expand, kernel, stride if r == 0 else 1, "silu", se=True)
    x = _conv_bn(b, "head", x, 1280, 1, act="silu")
    x = b.flatten("flatten", b.avg_pool("avgpool", x))
    b.linear("classifier", x, 1000)
    return b.build("EfficientNet-B0", _reference(5_288_548, 0.39, "efficientnet_b0"))


def vit_b_16() -> Model:
    """ViT-B/16: 16x16 patches (196 tokens + class token), 12 layers, width 768, 12 heads, MLP 3072."""
    tokens, width, heads, mlp, depth = 197, 768, 12, 3072, 12
    head_dim = width // heads
    b = Builder("vit_b_16", (3, 224, 224))
    x = b.conv("patch_embed", b.input, width, 16, stride=16)
    x = b.reshape("patch_embed.flatten", x, (tokens - 1, width))  # (768, 14, 14) -> (196, 768): a transposing copy
    cls = b.add_layer(parameter("class_token", (1, width)))
    x = b.concat("class_token.concat", [cls, x])
    x = b.add_layer(parameter("pos_embedding", (tokens, width), added_to=x))
    for i in range(depth):
        p = f"encoder.{i}"
        y = b.layer_norm(f"{p}.ln1", x)
        qkv = b.linear(f"{p}.attn.qkv", y, 3 * width)
        q = v = b.reshape(f"{p}.attn.split_heads", qkv, (3, heads, tokens, head_dim))[1:]  # each (heads, tokens, head_dim)
        scores = b.matmul(f"{p}.attn.scores", q, (heads, head_dim, tokens))  # Q @ K^T
        probs = b.softmax(f"{p}.attn.softmax", scores)
        ctx = b.matmul(f"{p}.attn.context", probs, v)
        ctx = b.reshape(f"{p}.attn.merge_heads", ctx, (tokens, width))
        y = b.linear(f"{p}.attn.out", ctx, width)
        x = b.add(f"{p}.add1", x, y)
        y = b.layer_norm(f"{p}.ln2", x)
        y = b.act(f"{p}.mlp.gelu", b.linear(f"{p}.mlp.fc1", y, mlp), "gelu")
        y = b.linear(f"{p}.mlp.fc2", y, width)
        x = b.add(f"{p}.add2", x, y)
    x = b.layer_norm("ln", x)
    b.linear("head", (width,), 1000)  # on the class token only
    return b.build("ViT-B/16 (torchvision, 224x224)", _reference(86_567_656, 17.56, "vit_b_16"))


ZOO: dict[str, Callable[[], Model]] = {
    "alexnet": alexnet, "vgg16": vgg16, "resnet18": resnet18, "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2, "efficientnet_b0": efficientnet_b0, "vit_b_16": vit_b_16,
}
"""Built-in models by name."""

ALIASES = {"vgg-16": "vgg16", "resnet-18": "resnet18", "resnet-50": "resnet50", "mobilenetv2": "mobilenet_v2",
           "efficientnet-b0": "efficientnet_b0", "vit-b/16": "vit_b_16", "vit-b-16": "vit_b_16", "vit_b16": "vit_b_16"}


def builtin(name: str) -> Model:
    """A built-in model by name (case-insensitive; 'resnet-50' and 'resnet50' both work)."""
    key = name.lower().replace(" ", "")
    key = ALIASES.get(key, key).replace("-", "_")
    if key not in ZOO:
        raise KeyError(name)
    return ZOO[key]()
