"""Calibration: the probe's arithmetic, fitting on synthetic timings, and calibrated roofline figures by hand."""

from dataclasses import replace

import pytest

from estimator import layers as L
from estimator.calibration import (
    Calibration, Curve, GemmFit, MatmulTiming, StreamTiming, fit, matmul_flops, stream_bytes, vector_class,
)
from estimator.hardware import FigureUnavailable, Hardware, Peak, Spec
from estimator.models import Builder
from estimator.roofline import estimate

PEAK, BANDWIDTH, OVERHEAD = 100e9, 20e9, 2e-6
REFERENCE = (784, 256, 256)


def test_bytes_and_flops_the_probe_counts():
    assert matmul_flops(3, 5, 7) == 2 * 3 * 5 * 7
    # STREAM's convention: read + written, no write-allocate (copy/scale 16 B, add/triad 24 B per float64 element)
    assert [stream_bytes(k, 10, 8) for k in ("copy", "scale", "add", "triad")] == [160, 160, 240, 240]
    t = StreamTiming("triad", 1000, 8, best_s=1e-6, median_s=2e-6, threads=2)
    assert (t.bytes, t.working_set, t.flops, t.best_bandwidth, t.typical_bandwidth) == (24_000, 24_000, 2000, 24e9, 12e9)
    g = MatmulTiming("fp32", 4, 8, 16, best_s=1e-6, median_s=1e-6)
    assert g.flops == 1024 and g.bytes(4) == (4 * 16 + 16 * 8 + 4 * 8) * 4
    dw = MatmulTiming("fp32", 3136, 1, 9, 1e-4, 1e-4, groups=144, input_elements=3136 * 144)
    assert dw.flops == 2 * 3136 * 9 * 144 and dw.bytes(4) == (3136 * 144 + (9 + 3136) * 144) * 4


def test_curve_interpolates_in_log_size_and_holds_flat_beyond():
    c = Curve(((1e3, 1.0), (1e5, 3.0)))
    assert float(c(1e4)) == pytest.approx(2.0) and float(c(10)) == 1.0 and float(c(1e9)) == 3.0
    with pytest.raises(ValueError):
        Curve(((2.0, 1.0), (1.0, 1.0)))


def synthetic(efficiency, bandwidth_factor=lambda size: 2.0 if size < 2**22 else 1.0):
    """Timings a device with known efficiencies would give: time = max(compute, memory) + overhead."""
    gemms = []
    for shape in [REFERENCE, *((m, 256, 256) for m in (1, 16, 3136)), *((784, n, 256) for n in (8, 64)), *((784, 256, k) for k in (8, 1152))]:
        t = MatmulTiming("fp32", *shape, 1.0, 1.0)
        memory = t.bytes(4) / (BANDWIDTH * bandwidth_factor(t.bytes(4)))
        seconds = max(t.flops / (PEAK * efficiency(*shape)), memory) + OVERHEAD
        gemms.append(replace(t, best_s=seconds, median_s=seconds * 1.1))
    streams = []
    for size in (2**20, 2**24, 2**28):
        t = StreamTiming("add", size // 24, 8, 1.0, 1.0)
        seconds = t.bytes / (BANDWIDTH * bandwidth_factor(t.bytes)) + OVERHEAD
        streams.append(replace(t, best_s=seconds, median_s=seconds))
    mul = StreamTiming("mul", 32768, 4, 1.0, 1.0)
    streams.append(replace(mul, best_s=mul.bytes / (2 * BANDWIDTH) + OVERHEAD))  # memory bound: efficiency 1
    sigmoid = StreamTiming("sigmoid", 32768, 4, 1.0, 1.0)
    streams.append(replace(sigmoid, best_s=sigmoid.flops / (PEAK * 0.05) + OVERHEAD))  # compute bound at 5%
    return gemms, streams


def test_fit_recovers_known_efficiencies_from_synthetic_timings():
    def efficiency(m, n, k):
        return 0.9 * (0.5 if n == 8 else 1.0) * (0.25 if k == 8 else 1.0) * (0.6 if m == 1 else 1.0)

    gemms, streams = synthetic(efficiency)
    cal = fit(gemms, streams, peaks={"fp32": PEAK}, vector_peak=PEAK, bandwidth=BANDWIDTH, overhead_s=OVERHEAD, reference=REFERENCE)
    g = cal.gemm["fp32"]
    assert g.efficiency == pytest.approx(0.9)
    assert float(g.n(8)) == pytest.approx(0.45) and float(g.k(8)) == pytest.approx(0.225)
    assert float(g.n(1024)) == pytest.approx(0.9)  # held flat beyond the last point
    # the 1-row GEMM is memory bound (its 256 x 256 weights dominate): it says nothing of compute, and joins no curve
    assert [x for x, _ in g.m.points] == [16.0, 784.0, 3136.0]
    assert float(cal.matrix_efficiency("fp32", 784, 8, 8)) == pytest.approx(0.9 * 0.5 * 0.25)
    assert float(cal.bandwidth(2**20)) == pytest.approx(2.0, rel=1e-4) and float(cal.bandwidth(2**28)) == pytest.approx(1.0, rel=1e-4)
    assert float(cal.vector["elementwise"](1e6)) == 1.0 and float(cal.vector["transcendental"](1e6)) == pytest.approx(0.05)
    assert cal.overhead_s == OVERHEAD and float(cal.matrix_efficiency("fp64", 1, 1, 1)) == 1.0  # an uncalibrated precision


def test_a_dip_in_a_curve_is_a_hiccup_not_a_property():
    def efficiency(m, n, k):
        return 0.45 if k == 1152 else 0.9  # one bad sample at a large K

    gemms, streams = synthetic(efficiency)
    cal = fit(gemms, streams, peaks={"fp32": PEAK}, vector_peak=PEAK, bandwidth=BANDWIDTH, overhead_s=OVERHEAD, reference=REFERENCE)
    assert float(cal.gemm["fp32"].k(1152)) == pytest.approx(0.9)


def test_calibration_round_trips_and_rejects_nonsense():
    gemms, streams = synthetic(lambda m, n, k: 0.8)
    cal = fit(gemms, streams, peaks={"fp32": PEAK}, vector_peak=PEAK, bandwidth=BANDWIDTH, overhead_s=OVERHEAD, reference=REFERENCE,
              fitted={"runtime": "test"})
    assert Calibration.from_dict(cal.to_dict()) == cal
    bad = cal.to_dict()
    bad["vector"]["elementwise"] = [[1.0, 1.5]]
    with pytest.raises(ValueError, match="efficiency must be in"):
        Calibration.from_dict(bad)


def test_vector_classes():
    assert [vector_class(op) for op in ("relu", "batch_norm", "silu", "gelu", "softmax", "layer_norm", "conv2d+batch_norm+relu")] == \
        ["elementwise", "elementwise", "transcendental", "gelu", "reduction", "norm", "elementwise"]


def device(calibration: Calibration | None) -> Hardware:
    return Hardware(slug="probe-test", name="Test CPU", vendor="Test", kind="cpu",
                    specs={"memory_bandwidth": Spec("memory_bandwidth", BANDWIDTH, "B/s")},
                    peaks=(Peak("fp32", "vector", False, PEAK, "measured"),),
                    calibration=None if calibration is None else calibration.to_dict())


def test_calibrated_layer_times_by_hand():
    flat = Curve(((1.0, 0.5),))
    cal = Calibration(gemm={"fp32": GemmFit(REFERENCE, 0.5, flat, flat, flat)}, depthwise={},
                      vector={"elementwise": Curve(((1.0, 1.0),))}, bandwidth=Curve(((1e6, 4.0), (1e8, 1.0))), overhead_s=1e-5)
    b = Builder("two", (64, 56, 56))
    b.relu("relu", b.conv("conv", b.input, 64, 3, padding=1, bias=False))
    model = b.build()
    conv, relu = model.layers
    calibrated = estimate(model, device(cal), "fp32", 1)
    # conv: 2 x 3 x 3 x 64 x 64 x 56 x 56 FLOPs at 100 GFLOP/s x 0.5; its 1.68 MB move at the curve's 20 GB/s x 3.82
    compute = conv.flops / (PEAK * 0.5)
    memory = conv.bytes("fp32") / (BANDWIDTH * float(cal.bandwidth(conv.bytes("fp32"))))
    assert calibrated.layers[0].time_s == pytest.approx(max(compute, memory) + 1e-5)
    # relu: memory bound at the cache-resident bandwidth, plus the overhead
    relu_memory = relu.bytes("fp32") / (BANDWIDTH * float(cal.bandwidth(relu.bytes("fp32"))))
    assert calibrated.layers[1].time_s == pytest.approx(max(relu.flops / PEAK, relu_memory) + 1e-5)
    assert calibrated.to_dict()["calibration"] == {}
    pure = estimate(model, device(cal), "fp32", 1, calibrated=False)
    assert pure.layers[0].time_s == pytest.approx(max(conv.flops / PEAK, conv.bytes("fp32") / BANDWIDTH))
    with pytest.raises(FigureUnavailable, match="no calibration"):
        estimate(model, device(None), "fp32", 1, calibrated=True)


def test_depthwise_and_conv_curves_apply_to_their_layers():
    one, half = Curve(((1.0, 1.0),)), Curve(((1.0, 0.5),))
    cal = Calibration(gemm={"fp32": GemmFit(REFERENCE, 1.0, one, one, one)}, conv={"fp32": GemmFit(REFERENCE, 0.5, half, half, half)},
                      depthwise={"fp32": 0.25}, vector={"elementwise": one}, bandwidth=Curve(((1.0, 1e6),)), overhead_s=0.0)
    b = Builder("mix", (32, 28, 28))
    x = b.conv("conv", b.input, 32, 1, bias=False)
    x = b.conv("dw", x, 32, 3, padding=1, groups=32, bias=False)
    b.linear("fc", b.flatten("flat", x), 10)
    e = estimate(b.build(), device(cal), "fp32", 1)
    times = {layer.name: layer.time_s for layer in e.layers}
    flops = {layer.name: layer.flops for layer in e.layers}
    assert times["conv"] == pytest.approx(flops["conv"] / (PEAK * 0.5))
    assert times["dw"] == pytest.approx(flops["dw"] / (PEAK * 0.25))
    assert times["fc"] == pytest.approx(flops["fc"] / PEAK)
    assert L.conv2d("dw", (32, 28, 28), 32, 3, padding=1, groups=32).gemm == (784, 1, 9)
