"""Fuzzing the loaders: spec files, model descriptions, transformer configs and ONNX bytes.

Properties: a loader raises nothing but its own error type (one line, exit code 2 in the CLI), and
whatever it accepts is usable: an accepted device passes `hwdb validate` in a data tree of its own, an
accepted model or config can be estimated. A fixed-seed slice runs here (`derandomize`); `python
bench/fuzz.py` runs the same properties for longer with fresh seeds.
"""

import json
import math
import os
import shutil
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies as S
from estimator.llm import Dtypes, Workload, estimate_llm
from estimator.models import DescriptionError, Model, from_description
from estimator.roofline import estimate
from estimator.transformer import ConfigError, TransformerConfig
from hwdb.errors import HwdbError, InvalidSpecError
from hwdb.loader import load_catalog, parse_sources
from hwdb.resources import data_dir
from hwdb.validate import validate
from hwdb.versions import parse_entries, read_device_file
from hwdb.workloads import read_model_file

EXAMPLES = int(os.environ.get("HWDB_FUZZ_EXAMPLES", "120"))
RANDOM = os.environ.get("HWDB_FUZZ_RANDOM") == "1"  # bench/fuzz.py: fresh seeds; CI: the same examples every run
FIXED = settings(max_examples=EXAMPLES, derandomize=not RANDOM, database=None, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

SHIPPED = load_catalog(data_dir())
T4 = next(d for d in SHIPPED.devices if d.slug == "nvidia-t4")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A data tree with the shipped sources and architectures and no devices: each example adds one file."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(data_dir() / "release.toml", root / "release.toml")
    for folder in ("sources", "architectures"):
        shutil.copytree(data_dir() / folder, root / folder)
    (root / "devices").mkdir()
    return root


def accept_device_file(path: Path):
    """What `hwdb add FILE` does before it opens a transaction; raises `InvalidSpecError` or returns the records."""
    devices, raw_sources = read_device_file(path)
    new_sources = parse_sources(raw_sources, f"{path.name} [source]")
    return parse_entries(devices, {**SHIPPED.sources, **new_sources}, SHIPPED.architectures, path.name), raw_sources


def _check_spec_file(document: dict, path: Path, tree: Path) -> None:
    try:
        parsed, raw_sources = accept_device_file(path)
    except InvalidSpecError as error:
        assert "\n" not in str(error)
        return
    # Accepted: the same devices and sources, as a data tree of their own, pass `hwdb validate`.
    (tree / "devices" / "fuzz.toml").write_text(tomli_w.dumps({"device": [entry for _, entry in parsed]}))
    (tree / "sources" / "zz-fuzz.toml").write_text(tomli_w.dumps(raw_sources))
    try:
        report = validate(tree)
    finally:
        (tree / "devices" / "fuzz.toml").unlink()
        (tree / "sources" / "zz-fuzz.toml").unlink()
    assert report.ok, (report.problems, document)
    assert [r.slug for r, _ in parsed] == [d["slug"] for d in document["device"]]


@FIXED
@given(document=S.spec_files(json=False))
def test_a_toml_spec_file_is_refused_with_one_line_or_passes_validate(document, workdir, tree):
    path = workdir / "devices.toml"
    path.write_text(tomli_w.dumps(document))
    _check_spec_file(document, path, tree)


@FIXED
@given(document=S.spec_files(json=True))
def test_a_json_spec_file_is_refused_with_one_line_or_passes_validate(document, workdir, tree):
    path = workdir / "devices.json"
    path.write_text(json.dumps(document))  # NaN and Infinity included: Python's json reads them
    if any(v is None for v in _leaves(document)):
        try:
            accept_device_file(path)
        except InvalidSpecError:
            pass
        return  # null has no TOML spelling: an accepted one cannot be written into a data tree
    _check_spec_file(document, path, tree)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


@FIXED
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_arbitrary_bytes_are_refused_with_one_line(raw, workdir):
    for suffix in (".toml", ".json"):
        path = workdir / f"bytes{suffix}"
        path.write_bytes(raw)
        with pytest.raises(InvalidSpecError) as caught:
            accept_device_file(path)
        assert "\n" not in str(caught.value)


def _check_model(model: Model) -> None:
    assert model.params >= 0 and model.macs >= 0 and model.flops >= 2 * model.macs
    result = estimate(model, T4, "fp16", batch=2)
    assert math.isfinite(result.latency_s) and result.latency_s > 0
    assert 0 < result.mfu <= 1 + 1e-9


@FIXED
@given(document=S.model_descriptions(json=True))
def test_a_model_description_is_refused_with_its_own_error_or_estimates(document):
    try:
        model = from_description(document, "fuzz.toml")
    except DescriptionError as error:
        assert "\n" not in str(error)
        return
    _check_model(model)


@FIXED
@given(document=S.model_descriptions(json=False))
def test_a_model_file_is_refused_with_one_line_or_estimates(document, workdir):
    path = workdir / "model.toml"
    path.write_text(tomli_w.dumps(document))
    try:
        model = read_model_file(path)
    except InvalidSpecError as error:
        assert "\n" not in str(error)
        return
    _check_model(model)


@FIXED
@given(document=S.transformer_configs())
def test_a_transformer_config_is_refused_with_its_own_error_or_estimates(document):
    try:
        config = TransformerConfig.from_hf(document, "fuzz")
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert config.params > 0
    result = estimate_llm(config, T4, Dtypes(), Workload(prompt=16, generate=4))
    assert math.isfinite(result.ttft_s) and result.ttft_s > 0 and math.isfinite(result.tpot_s) and result.tpot_s > 0


@pytest.fixture(scope="module")
def lenet_onnx() -> bytes:
    from estimator.onnx_io import to_onnx
    from hwdb.workloads import load_model

    return to_onnx(load_model("lenet5")).SerializeToString()


@settings(FIXED, max_examples=max(1, EXAMPLES // 2))  # shape inference is the slow part
@given(data=st.data())
def test_corrupted_onnx_bytes_raise_only_the_import_error(data, lenet_onnx):
    from estimator.onnx_io import OnnxImportError, from_onnx

    raw = bytearray(lenet_onnx)
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at:at + data.draw(st.integers(1, 64))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        if not raw:
            break
    try:
        model = from_onnx(bytes(raw), name="fuzz")
    except OnnxImportError as error:
        assert "\n" not in str(error)
        return
    except HwdbError:  # never: the estimator does not know hwdb's errors
        raise
    _check_model(model)
