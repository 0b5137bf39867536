"""`hwdb probe`: what it reads of the machine, its kernels' arithmetic on tiny sizes, and a quick probe saved."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from hwdb import probe
from hwdb.loader import load_architectures, parse_device, parse_sources, _merged_tables
from hwdb.resources import data_dir


def cpu(**fields):
    base = probe.CpuInfo(model="test", vendor="AMD", family=0x19, model_number=0x11, cores=2, threads=2, clock_hz=2.6e9, clock_source="test")
    return replace(base, **fields)


@pytest.mark.parametrize(("vendor", "family", "model", "arch"), [
    ("AMD", 0x19, 0x11, "amd-zen4"), ("AMD", 0x19, 0x61, "amd-zen4"), ("AMD", 0x17, 0x31, "amd-zen2"), ("AMD", 0x1A, 0x02, "amd-zen5"),
    ("AMD", 0x19, 0x01, None),  # Zen 3: the catalog has no sourced FMA rate for it
    ("Intel", 6, 0x8F, "intel-sapphire-rapids"), ("Intel", 6, 0xCF, "intel-emerald-rapids"), ("Intel", 6, 0x6A, "intel-ice-lake-sp"),
    ("Intel", 6, 0x55, None), ("Arm", None, None, None),
])
def test_family_and_model_name_the_catalog_architecture(vendor, family, model, arch):
    assert cpu(vendor=vendor, family=family, model_number=model).architecture == arch


def test_theoretical_peak_is_cores_times_clock_times_flops_per_clock():
    peaks = probe.theoretical_peaks(cpu(cores=4, clock_hz=3e9), load_architectures(data_dir()))
    assert peaks["fp64"]["value"] == 4 * 3e9 * 16 and peaks["fp32"]["value"] == 4 * 3e9 * 32
    assert peaks["fp32"]["clock"] == "all_core_clock"
    assert probe.theoretical_peaks(cpu(vendor="Arm", family=None), load_architectures(data_dir())) == {}


def test_this_machine_is_read():
    found = probe.read_cpu()
    assert found.cores >= 1 and found.threads >= found.cores and found.model
    assert probe.read_cpu(clock_hz=3.5e9).clock_hz == 3.5e9


def test_stream_kernels_compute_what_they_count():
    settings = probe.Settings(threads=2)
    with ThreadPoolExecutor(2) as pool:
        s = probe._Stream(np, 1000, 2, pool)
        for kernel in ("copy", "scale", "add", "triad"):
            s.time(kernel, 1, replace(settings, repeats=1, min_seconds=0))
        # after copy (c = a), scale (b = 3c), add (c = a + b), triad (a = b + 3c): a = 3 + 3 x 4
        assert np.all(s.a == 15.0) and np.all(s.b == 3.0) and np.all(s.c == 4.0)
    timing = probe._matmul(np, "fp32", 3, 4, 5, replace(settings, repeats=1, min_seconds=0))
    assert timing.flops == 120 and timing.best_s > 0


@pytest.fixture(scope="module")
def quick():
    return probe.run(quick=True, runtime="numpy")


def test_a_quick_probe_measures_and_fits(quick):
    assert quick.duration_s < 10
    assert quick.matmul_best("fp32") > quick.matmul_typical("fp32") * 0.5 > 0
    assert set(quick.stream_dram()) == {"copy", "scale", "add", "triad"} and quick.memory_bandwidth > 1e9
    size, rate = quick.cache_bandwidth
    assert size < quick.stream_dram()["add"].working_set and rate > 0
    cal = quick.calibration()
    assert cal.fitted["runtime"].startswith("numpy") and cal.overhead_s > 0
    assert 0 < cal.gemm["fp32"].efficiency <= 1 and set(cal.gemm) == {"fp64", "fp32"}


def test_the_saved_entry_is_a_valid_measured_device(quick):
    entry, sources = probe.device_entry(quick, "bench-box")
    record = parse_device(entry, {**parse_sources(_merged_tables(data_dir(), "sources")), **parse_sources(sources)},
                          load_architectures(data_dir()), "probe")
    peak = record.peak("fp32")
    assert peak.origin == "measured" and peak.value == pytest.approx(quick.matmul_best("fp32"), rel=1e-5)
    assert record.memory_bandwidth == pytest.approx(quick.memory_bandwidth, rel=1e-5)
    assert record.calibration["fitted"]["by"] == "hwdb probe" and record.probe["runtime"].startswith("numpy")
    probed = {k: s for k, s in record.sources.items() if k.startswith("probe-")}
    assert len(probed) == 3 and all(s.url.startswith("https://") and "measured" in s.publisher for s in probed.values())


def test_onnxruntime_kernels_on_tiny_sizes():
    pytest.importorskip("onnxruntime")
    kit = probe.OnnxRuntimeRuntime(probe.Settings(repeats=1, min_seconds=0, reference=(16, 8, 8)))
    gemm = kit.gemm("fp32", 4, 8, 16, "conv")
    assert (gemm.m, gemm.n, gemm.k, gemm.kind, gemm.flops) == (4, 8, 16, "conv", 2 * 4 * 8 * 16) and gemm.best_s > 0
    assert kit.gemm("fp32", 16, 8, 8, "matmul").best_s > 0  # on the M curve: timed inside a chain
    add = kit.stream("add", 4096)
    assert add.bytes == 3 * 4096 * 4 and add.best_s > 0
    transpose = kit.stream("transpose", 5000)
    assert transpose.elements == 4608  # whole (1, T, 8, 64) tensors
    assert kit.overhead() >= 0
