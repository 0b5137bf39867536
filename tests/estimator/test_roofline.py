"""The roofline: hand-computed layers, model totals, and invariants (hypothesis)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimator import layers as L
from estimator.hardware import Hardware, Peak, PeakUnavailable, Spec
from estimator.models import Builder, Model
from estimator.roofline import Efficiency, LayerArrays, Roof, estimate, roofline_arrays, sweep
from estimator.zoo import builtin


def device(name="T4-like", *, fp16_matrix=65e12, fp32_vector=8.1e12, fp16_vector=None, bandwidth=320e9, kind="gpu") -> Hardware:
    """A plain record, no database: what a notebook would build."""
    peaks = [Peak("fp32", "vector", False, fp32_vector, "datasheet")]
    if fp16_matrix:
        peaks.append(Peak("fp16", "matrix", False, fp16_matrix, "datasheet"))
    if fp16_vector:
        peaks.append(Peak("fp16", "vector", False, fp16_vector, "datasheet"))
    return Hardware(slug=name.lower(), name=name, vendor="test", kind=kind, peaks=tuple(peaks),
                    specs={"memory_bandwidth": Spec("memory_bandwidth", bandwidth, "B/s")},
                    unsupported=frozenset({("bf16", "matrix"), ("bf16", "vector"), ("fp32", "matrix")}), matrix_label="tensor")


T4 = device()


def layer_named(result, name):
    return next(layer for layer in result.layers if layer.name == name)


def test_resnet50_conv1_on_t4_by_hand():
    result = estimate(builtin("resnet50"), T4, "fp16", batch=32)
    conv = layer_named(result, "conv1.conv")
    flops = 2 * 118_013_952 * 32  # 7x7x3x64 x 112x112 MACs per image, no bias
    traffic = ((3 * 224 * 224 + 64 * 112 * 112) * 32 + 9_408) * 2  # fp16 activations + weights once
    assert conv.flops == flops and conv.bytes == traffic
    assert conv.compute_time_s == pytest.approx(flops / 65e12)  # 116.2 us
    assert conv.memory_time_s == pytest.approx(traffic / 320e9)  # 190.7 us
    assert conv.bound == "memory" and conv.time_s == conv.memory_time_s
    assert conv.intensity == pytest.approx(flops / traffic)  # 123.8 FLOP/byte < ridge 203
    assert conv.utilization == pytest.approx(flops / conv.time_s / 65e12)  # 60.9%


def test_resnet50_3x3_conv_is_compute_bound_by_hand():
    result = estimate(builtin("resnet50"), T4, "fp16", batch=32)
    conv = layer_named(result, "layer1.0.2.conv")  # 3x3, 64 -> 64 at 56x56
    flops = 2 * 3 * 3 * 64 * 64 * 56 * 56 * 32
    traffic = (2 * 64 * 56 * 56 * 32 + 3 * 3 * 64 * 64) * 2
    assert conv.bound == "compute"
    assert conv.time_s == pytest.approx(flops / 65e12)  # 113.8 us
    assert conv.memory_time_s == pytest.approx(traffic / 320e9)
    assert conv.utilization == pytest.approx(1.0)


def test_resnet50_batch_norm_runs_on_the_vector_units_by_hand():
    result = estimate(builtin("resnet50"), T4, "fp16", batch=32)
    bn = layer_named(result, "conv1.bn")
    elements = 64 * 112 * 112 * 32
    assert bn.flops == 2 * elements
    assert bn.bytes == (2 * elements + 4 * 64) * 2
    assert bn.bound == "memory" and bn.time_s == pytest.approx(bn.bytes / 320e9)
    # No FP16 vector figure on this record: the FP32 vector rate is used, and the estimate says so.
    assert bn.compute_time_s == pytest.approx(2 * elements / 8.1e12)
    assert any("FP32 vector rate" in note for note in result.notes)


def test_totals():
    result = estimate(builtin("resnet50"), T4, "fp16", batch=32)
    assert result.latency_s == pytest.approx(sum(layer.time_s for layer in result.layers))
    assert result.throughput == pytest.approx(32 / result.latency_s)
    assert result.flops == pytest.approx(32 * builtin("resnet50").flops)
    assert result.mfu == pytest.approx(result.flops / result.latency_s / 65e12)
    assert sum(layer.share for layer in result.layers) == pytest.approx(1.0)
    assert result.roof.ridge_point == pytest.approx(65e12 / 320e9)


def test_zero_flop_layers_are_well_defined():
    b = Builder("views", (64, 7, 7))
    x = b.flatten("flatten", b.input)  # a view: no bytes, no FLOPs
    b.add_layer(L.reshape("copy", x, (64, 49)))
    result = estimate(b.build(), T4, "fp32")
    view, copy = result.layers
    assert view.time_s == 0 and view.bound == "none" and view.utilization == 0
    assert copy.flops == 0 and copy.bound == "memory" and copy.time_s == pytest.approx(2 * 64 * 49 * 4 / 320e9)
    assert math.isnan(view.intensity)


def test_precision_without_a_peak_is_reported():
    with pytest.raises(PeakUnavailable, match="not supported"):
        estimate(builtin("resnet18"), T4, "bf16")
    with pytest.raises(PeakUnavailable, match="unknown"):
        estimate(builtin("resnet18"), T4, "int8")


def test_efficiencies_and_overhead():
    pure = estimate(builtin("resnet18"), T4, "fp16", 8)
    tuned = estimate(builtin("resnet18"), T4, "fp16", 8, Efficiency(compute=0.5, memory=0.8, overhead_s=5e-6))
    layers_that_move = sum(1 for layer in pure.layers if layer.flops or layer.bytes)
    assert tuned.latency_s > pure.latency_s + layers_that_move * 5e-6 * 0.999
    conv = layer_named(tuned, "conv1.conv")
    assert conv.compute_time_s == pytest.approx(layer_named(pure, "conv1.conv").compute_time_s / 0.5)
    assert conv.memory_time_s == pytest.approx(layer_named(pure, "conv1.conv").memory_time_s / 0.8)
    with pytest.raises(ValueError):
        Efficiency(compute=0)
    with pytest.raises(ValueError):
        Efficiency(memory=1.5)


def test_efficiency_per_device_kind():
    cpu = device("CPU", fp16_matrix=None, kind="cpu", bandwidth=100e9)
    by_kind = {"gpu": Efficiency(compute=0.5), "default": Efficiency(memory=0.5)}
    assert Roof.of(T4, "fp16", by_kind).efficiency.compute == 0.5
    assert Roof.of(cpu, "fp32", by_kind).efficiency.memory == 0.5


def test_device_without_a_matrix_engine_uses_its_vector_units():
    cpu = device("CPU", fp16_matrix=None, kind="cpu", bandwidth=100e9)
    result = estimate(builtin("resnet18"), cpu, "fp32")
    assert result.roof.matrix_peak == 8.1e12
    assert layer_named(result, "conv1.conv").compute_time_s == pytest.approx(2 * 118_013_952 / 8.1e12)


def test_sweep_equals_single_estimates():
    models = [builtin("resnet18"), builtin("mobilenet_v2")]
    devices = [T4, device("Fast", fp16_matrix=300e12, fp32_vector=30e12, bandwidth=2e12)]
    result = sweep(models, devices, [1, 8, 64], ["fp16", "fp32"])
    assert result.latency_s.shape == (2, 2, 2, 3)
    for m, model in enumerate(models):
        for d, hw in enumerate(devices):
            for p, precision in enumerate(["fp16", "fp32"]):
                for b, batch in enumerate([1, 8, 64]):
                    assert result.latency_s[m, d, p, b] == pytest.approx(estimate(model, hw, precision, batch).latency_s)
    assert result.layer_evaluations == 2 * 2 * 3 * (len(models[0].layers) + len(models[1].layers))


def test_sweep_marks_unknown_peaks_as_nan():
    result = sweep([builtin("resnet18")], [T4], [1], ["fp16", "int8"])
    assert np.isfinite(result.latency_s[0, 0, 0, 0]) and np.isnan(result.latency_s[0, 0, 1, 0])


# -- invariants ----------------------------------------------------------------------------------
layer_costs = st.builds(
    lambda macs, extra, acts, weights, engine: L.LayerCost(
        name="x", op="op", engine=engine, macs=macs, extra_flops=extra, input_elements=acts, output_elements=acts,
        weight_elements=weights),
    st.integers(0, 10**10), st.integers(0, 10**8), st.integers(0, 10**8), st.integers(0, 10**8), st.sampled_from([L.MATRIX, L.VECTOR]),
)
positive = st.floats(1e9, 1e16)


def run_one(cost: L.LayerCost, peak: float, vector: float, bandwidth: float, batch: int = 1, precision: str = "fp16"):
    roof = Roof("d", precision, peak, vector, bandwidth)
    return roofline_arrays(LayerArrays.of(Model("m", (1,), (cost,))), [[roof]], [batch])


@settings(max_examples=200, deadline=None)
@given(layer_costs, positive, positive, positive, st.integers(1, 512))
def test_time_is_at_least_each_bound_and_utilization_at_most_one(cost, peak, vector, bandwidth, batch):
    result = run_one(cost, peak, vector, bandwidth, batch)
    time, compute, memory = result.time.item(), result.compute_time.item(), result.memory_time.item()
    assert time >= compute and time >= memory
    assert time == max(compute, memory)
    assert result.utilization.item() <= 1 + 1e-12
    assert result.achieved.item() <= result.peak.item() * (1 + 1e-12) or result.peak.item() == 0


@settings(max_examples=200, deadline=None)
@given(layer_costs, positive, positive, positive, st.floats(1.0, 100.0))
def test_time_never_grows_with_more_bandwidth_or_peak(cost, peak, vector, bandwidth, factor):
    base = run_one(cost, peak, vector, bandwidth).time.item()
    assert run_one(cost, peak, vector, bandwidth * factor).time.item() <= base
    assert run_one(cost, peak * factor, vector * factor, bandwidth).time.item() <= base


@settings(max_examples=200, deadline=None)
@given(layer_costs, positive, positive, positive, st.integers(1, 64), st.integers(2, 8))
def test_compute_bound_time_is_linear_in_batch(cost, peak, vector, bandwidth, batch, factor):
    small, large = run_one(cost, peak, vector, bandwidth, batch), run_one(cost, peak, vector, bandwidth, batch * factor)
    if small.compute_bound.item() and cost.flops > 0:  # still compute bound at the larger batch
        assert large.compute_bound.item()
        assert large.time.item() == pytest.approx(factor * small.time.item(), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(layer_costs, positive, positive, positive)
def test_bound_is_the_larger_time(cost, peak, vector, bandwidth):
    result = run_one(cost, peak, vector, bandwidth, 4)
    assert result.compute_bound.item() == (result.compute_time.item() >= result.memory_time.item())
