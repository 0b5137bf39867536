"""`hwdb validate`: the shipped catalog passes, and each check catches what it is for."""

import json
import re

import pytest

from estimator.hardware import Hardware, Peak, Spec
from hwdb.resources import data_dir
from hwdb.validate import RUNTIME_NAMES, check_device, validate


def test_the_shipped_catalog_passes():
    report = validate(data_dir())
    assert report.ok, report.problems
    assert report.devices >= 10 and report.cross_checked > 0


def test_every_runtime_name_names_a_device_in_the_catalog():
    slugs = {d for d in re.findall(r'slug = "([^"]+)"', "".join(p.read_text() for p in (data_dir() / "devices").rglob("*.toml")))}
    assert set(RUNTIME_NAMES.values()) <= slugs


def record(**peaks_and_specs) -> Hardware:
    peaks = tuple(p for p in peaks_and_specs.pop("peaks", ()))
    specs = {k: Spec(k, v) for k, v in peaks_and_specs.items()}
    return Hardware(slug="x", name="X", vendor="v", kind="gpu", peaks=peaks, specs=specs)


def test_sparse_must_be_twice_dense():
    bad = record(peaks=[Peak("fp16", "matrix", False, 100e12, "datasheet", 100e12), Peak("fp16", "matrix", True, 150e12, "datasheet", 150e12)])
    assert any("not 2 x dense" in p for p in check_device(bad))


def test_fp16_matrix_below_fp32_vector_is_flagged():
    bad = record(peaks=[Peak("fp16", "matrix", False, 10e12, "datasheet", 10e12), Peak("fp32", "vector", False, 20e12, "datasheet", 20e12)])
    assert any("below the FP32 vector peak" in p for p in check_device(bad))


@pytest.mark.parametrize(("name", "value"), [("memory_bandwidth", 3.35e6), ("memory", 80.0), ("tdp", 70e3), ("boost_clock", 1.5e12)])
def test_implausible_figures_are_flagged(name, value):
    assert any(name in p and "plausible" in p for p in check_device(record(**{name: value})))


def test_placeholder_dates_and_clock_order():
    problems = check_device(record(release_date="1970-01-01", base_clock=2e9, boost_clock=1e9))
    assert any("release_date 1970-01-01" in p for p in problems)
    assert any("base clock" in p for p in problems)


def test_a_tree_the_loader_refuses_is_a_problem_not_a_crash(data_copy):
    path = data_copy / "devices" / "nvidia" / "turing.toml"
    path.write_text(path.read_text().replace('source = "pny-t4-product-brief-copy"', 'source = "nowhere"', 1))
    report = validate(data_copy)
    assert not report.ok and "unknown source 'nowhere'" in report.problems[0]


def test_cli_exit_codes(cli, data_copy, tmp_path):
    code, out, _ = cli("validate")
    assert code == 0 and out.rstrip().endswith("all checks passed")
    path = data_copy / "devices" / "nvidia" / "turing.toml"
    path.write_text(path.read_text().replace('value = "320 GB/s"', 'value = "320 MB/s"', 1))
    code, out, _ = cli("validate", str(data_copy), "--json")
    data = json.loads(out)
    assert code == 1 and not data["ok"] and any("memory_bandwidth" in p for p in data["problems"])
    code, out, err = cli("validate", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err
