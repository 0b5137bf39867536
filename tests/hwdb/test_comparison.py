"""hwdb.comparison: one workload evaluated per device, prices on three bases, filters and ranking; hwdb.compare, the API."""

import math

import pytest

from estimator.hardware import Hardware, Peak, Spec
from estimator.roofline import estimate
from estimator.zoo import builtin
from hwdb.comparison import (
    HOURS_PER_YEAR, Pricing, Workload, compare, device_cost, evaluate_workload, rank, unknown_reason,
)
from hwdb.errors import InvalidSpecError
from hwdb.loader import Price


def device(slug, *, fp16=65e12, bandwidth=320e9, memory=16e9, tdp=70.0, launch=None) -> Hardware:
    peaks = [Peak("fp32", "vector", False, 8.1e12, "datasheet")]
    if fp16:
        peaks.append(Peak("fp16", "matrix", False, fp16, "datasheet"))
    specs = {"memory_bandwidth": Spec("memory_bandwidth", bandwidth, "B/s"), "memory": Spec("memory", memory, "B")}
    if tdp:
        specs["tdp"] = Spec("tdp", tdp, "W")
    if launch:
        specs["launch_price"] = Spec("launch_price", launch, "USD")
    return Hardware(slug=slug, name=slug.upper(), vendor="test", kind="gpu", peaks=tuple(peaks), specs=specs, matrix_label="tensor")


T4 = device("t4")
BIG = device("big", fp16=500e12, bandwidth=2e12, memory=80e9, tdp=350.0, launch=25_000.0)
NOPEAK = device("nopeak", fp16=None, launch=2_000.0)
WORK = Workload("resnet50", "fp16", batch=32)


def test_cnn_workload_is_the_roofline_estimate_in_images():
    result = evaluate_workload(T4, WORK)
    reference = estimate(builtin("resnet50"), T4, "fp16", 32)
    assert result.unit == "images" and result.fits is True and result.problem is None
    assert result.latency_s == pytest.approx(reference.latency_s)
    assert result.throughput_per_s == pytest.approx(32 / reference.latency_s)
    assert result.limited_by == "memory bandwidth"  # 13% of resnet50's time on a T4 is in compute-bound layers
    compute_heavy = evaluate_workload(device("slow", fp16=1e12, bandwidth=3e12), WORK)
    assert compute_heavy.limited_by == "compute"


def test_a_workload_that_does_not_fit_is_capacity_limited():
    tiny = device("tiny", memory=1e9)
    result = evaluate_workload(tiny, Workload("resnet50", "fp16", batch=256))
    assert result.fits is False and result.limited_by == "capacity"
    weights = sum(layer.weight_elements for layer in builtin("resnet50").layers) * 2
    assert result.memory_needed_bytes > weights > 0


def test_unknown_peak_is_a_problem_not_a_zero():
    result = evaluate_workload(NOPEAK, WORK)
    assert result.latency_s is None and result.throughput_per_s is None and "FP16" in result.problem


def test_transformer_workloads_run_the_llm_estimator():
    from estimator.llm import Dtypes, Workload as LLMWorkload, estimate_llm
    from hwdb.workloads import load_model

    result = evaluate_workload(BIG, Workload("llama-3-8b", prompt=1024, generate=256, batch=4))
    direct = estimate_llm(load_model("llama-3-8b"), BIG, Dtypes("fp16"), LLMWorkload(prompt=1024, generate=256, batch=4))
    assert result.unit == "tokens" and result.devices == 1 and result.fits is True
    assert result.latency_s == pytest.approx(direct.e2e_s)  # TTFT + every decode step
    assert result.throughput_per_s == pytest.approx(4 * 256 / direct.e2e_s)  # generated tokens over the request
    assert result.limited_by == "memory bandwidth" and result.memory_needed_bytes == pytest.approx(direct.memory.total)
    data = result.to_dict()
    assert data["ttft_s"] == pytest.approx(direct.ttft_s) and data["tpot_s"] == pytest.approx(direct.tpot_s)


def test_a_transformer_that_does_not_fit_is_limited_by_capacity():
    result = evaluate_workload(T4, Workload("llama-3-70b"))
    assert result.fits is False and result.limited_by == "capacity"
    assert any("fewest devices that hold it" in note for note in result.notes)


def test_tensor_parallel_workloads_are_priced_as_that_many_devices():
    from dataclasses import replace

    hourly = Pricing(basis="hourly", per_hour=2.0)
    linked = replace(BIG, specs={**BIG.specs, "host_link_bandwidth": Spec("host_link_bandwidth", 64e9, "B/s")})
    one = compare([linked], workload=Workload("llama-3-8b", prompt=512, generate=64), pricing=hourly).rows[0]
    two = compare([linked], workload=Workload("llama-3-8b", prompt=512, generate=64, tp=2), pricing=hourly).rows[0]
    assert two.result.devices == 2
    assert two.cost_per_million == pytest.approx(2 * 2.0 / (two.result.throughput_per_s * 3600) * 1e6)
    assert two.per_watt == pytest.approx(two.result.throughput_per_s / 2 / 350.0)
    assert one.result.devices == 1 and two.result.limited_by in ("memory bandwidth", "interconnect")
    kept = compare([linked], workload=Workload("llama-3-8b", tp=2), pricing=Pricing(), budget=40_000)
    assert not kept.rows and "x 2 devices" in kept.excluded[0][1]


def test_llm_options_on_a_layer_model_are_refused():
    with pytest.raises(InvalidSpecError, match="only for transformer configs"):
        evaluate_workload(T4, Workload("resnet50", prompt=1024, generate=256))


def test_layer_models_and_files_are_not_transformers(tmp_path):
    layers = tmp_path / "gpt_tiny.toml"  # a layer description named like an LLM family is still a layer model
    layers.write_text('name = "gpt_tiny"\ninput = [4]\n[[layer]]\nop = "linear"\nname = "fc"\nout_features = 2\n')
    assert not Workload("resnet50").is_transformer and not Workload(str(layers)).is_transformer
    assert not Workload("vit_b_16").is_transformer and Workload("mistral-7b").is_transformer


def test_bad_workload_values():
    with pytest.raises(InvalidSpecError):
        Workload("resnet50", batch=0)
    with pytest.raises(InvalidSpecError):
        Workload("resnet50", precision="fp12")


def test_launch_price_amortised_with_energy():
    cost = device_cost(BIG, Pricing(tco_years=3, kwh_price=0.10))
    assert cost.usd == 25_000
    assert cost.energy_usd_per_hour == pytest.approx(0.035)  # 350 W x $0.10/kWh
    assert cost.usd_per_hour == pytest.approx(25_000 / (3 * HOURS_PER_YEAR) + 0.035)
    assert device_cost(T4, Pricing()).usd_per_hour is None and "launch price unknown" in device_cost(T4, Pricing()).problem
    no_tdp = device("notdp", tdp=None, launch=1_000.0)
    assert "TDP unknown" in device_cost(no_tdp, Pricing(kwh_price=0.1)).problem


def test_cloud_price_is_the_cheapest_offer_per_device_hour():
    prices = [Price("t4", "cloud", "A", "x8", 8, 8.0, "2026-01-01", "s1"), Price("t4", "cloud", "B", "x1", 1, 0.9, "2026-02-01", "s2"),
              Price("t4", "street", "shop", "card", 1, 900.0, "2026-02-01", "s3")]
    cost = device_cost(T4, Pricing(basis="cloud"), prices)
    assert cost.usd_per_hour == 0.9 and "B x1, 2026-02-01 (s2)" == cost.detail
    assert "no dated cloud price" in device_cost(BIG, Pricing(basis="cloud"), prices).problem
    with pytest.raises(InvalidSpecError, match="include energy"):
        Pricing(basis="cloud", kwh_price=0.1)


def test_hourly_prices_per_device_or_for_all():
    assert device_cost(T4, Pricing(basis="hourly", per_hour=2.0)).usd_per_hour == 2.0
    assert device_cost(T4, Pricing(basis="hourly", per_hour={"t4": 0.5})).usd_per_hour == 0.5
    assert device_cost(BIG, Pricing(basis="hourly", per_hour={"t4": 0.5})).usd_per_hour is None


def test_compare_ranks_by_cost_per_million_images():
    result = compare([T4, BIG, NOPEAK], workload=WORK, pricing=Pricing(basis="hourly", per_hour={"t4": 0.35, "big": 4.0, "nopeak": 1.0}))
    assert result.sort == "cost"
    assert [r.slug for r in result.rows][-1] == "nopeak" and result.rows[-1].rank is None
    known = [r for r in result.rows if r.rank]
    assert [r.rank for r in known] == [1, 2]
    assert known[0].cost_per_million <= known[1].cost_per_million
    t4 = next(r for r in result.rows if r.slug == "t4")
    assert t4.cost_per_million == pytest.approx(0.35 / (t4.result.throughput_per_s * 3600) * 1e6)
    assert t4.per_dollar == pytest.approx(1e6 / t4.cost_per_million)
    assert t4.per_watt == pytest.approx(t4.result.throughput_per_s / 70)
    assert "FP16" in unknown_reason(result.rows[-1], "cost")
    assert result.to_dict()["devices"][0]["rank"] == 1


def test_compare_without_workload_ranks_peaks_and_keeps_unknowns_last():
    result = compare([NOPEAK, T4, BIG])
    assert [r.slug for r in result.rows] == ["big", "t4", "nopeak"]
    assert result.rows[0].ridge_point == pytest.approx(500e12 / 2e12)
    assert result.rows[2].peak is None and "FP16" in result.rows[2].peak_problem
    with pytest.raises(InvalidSpecError, match="needs a workload"):
        compare([T4], sort="cost")


def test_budget_and_power_filters_name_what_they_drop():
    result = compare([T4, BIG, NOPEAK], budget=5_000, power=100)
    assert [r.slug for r in result.rows] == ["nopeak"]
    reasons = dict(result.excluded)
    assert "price unknown" in reasons["t4"] and "over budget" in reasons["big"]
    result = compare([T4, BIG], power=100)
    assert [r.slug for r in result.rows] == ["t4"] and "350 W > 100 W" in dict(result.excluded)["big"]


def test_rank_puts_misfits_after_fitting_devices():
    tiny = device("tiny", memory=1e9, fp16=900e12, bandwidth=3e12)
    result = compare([T4, tiny], workload=Workload("resnet50", "fp16", batch=256), sort="throughput")
    assert [r.slug for r in result.rows] == ["t4", "tiny"] and result.rows[1].rank is None
    assert result.notes and math.isfinite(result.rows[1].result.throughput_per_s)
    assert rank([], "peak") == []


def test_python_api_returns_altair_charts(db):
    alt = pytest.importorskip("altair")
    import hwdb

    result = hwdb.compare(["t4", "l40s"], model="resnet50", batch=32, cloud=True)
    assert [r.slug for r in result.rows] == ["nvidia-l40s", "nvidia-t4"] and result.rows[0].rank == 1
    assert isinstance(result.chart(["throughput", "per-watt"]), alt.ConcatChart)
    assert isinstance(hwdb.roofline_chart(["t4", "a10g"], ["fp16", "int8"], model="resnet18"), alt.LayerChart)
    assert isinstance(hwdb.sweep_chart(["t4", "l40s"], "resnet18", (1, 8), metric="latency"), alt.Chart)
    assert isinstance(result.sweep_chart([1, 4]), alt.Chart)
