"""Peak selection on a plain Hardware record: matrix first, never a silent fall-back, typed absence."""

import pytest

from estimator.hardware import Hardware, Peak, PeakUnavailable


def peak(precision, engine, value, sparse=False):
    return Peak(precision=precision, engine=engine, sparse=sparse, value=value, origin="datasheet", source="s")


GPU = Hardware(
    slug="gpu", name="GPU", vendor="V", kind="gpu", matrix_label="tensor",
    peaks=(peak("fp16", "vector", 30e12), peak("fp16", "matrix", 240e12, sparse=True), peak("bf16", "matrix", 120e12),
           peak("fp32", "vector", 30e12)),
    unsupported=frozenset({("fp32", "matrix"), ("tf32", "vector"), ("fp8", "matrix"), ("fp8", "vector")}),
    sparse_precisions=frozenset({"fp16", "bf16"}),
)
CPU = Hardware(slug="cpu", name="CPU", vendor="V", kind="cpu", peaks=(peak("fp32", "vector", 2e12),))


def test_matrix_engine_first():
    assert GPU.peak("bf16").value == 120e12


def test_vector_when_the_matrix_engine_lacks_the_precision():
    assert GPU.peak("fp32").engine == "vector"


def test_vector_when_there_is_no_matrix_engine_at_all():
    assert CPU.peak("fp32").value == 2e12


def test_a_missing_matrix_figure_is_not_replaced_by_the_vector_one():
    with pytest.raises(PeakUnavailable) as error:
        GPU.peak("fp16")
    assert error.value.status == "unknown" and "the sparse tensor figure is 240 TFLOP/s" in str(error.value)
    assert GPU.peak("fp16", engine="vector").value == 30e12
    assert GPU.peak("fp16", sparse=True).value == 240e12


@pytest.mark.parametrize(
    ("precision", "engine", "sparse", "needle"),
    [
        ("fp8", None, False, "neither its tensor nor its vector units execute FP8"),
        ("tf32", "vector", False, "its vector units do not execute TF32"),
        ("fp16", "vector", True, "applies to matrix units only"),
        ("fp32", None, True, "does not apply to FP32"),
    ],
)
def test_not_supported(precision, engine, sparse, needle):
    with pytest.raises(PeakUnavailable) as error:
        GPU.peak(precision, engine=engine, sparse=sparse)
    assert error.value.status == "not_supported" and needle in str(error.value)


def test_unknown_precision_is_a_value_error():
    with pytest.raises(ValueError):
        GPU.peak("fp12")
    with pytest.raises(ValueError):
        GPU.peak("fp16", engine="simd")


def test_round_trip():
    assert Hardware.from_dict(GPU.to_dict()) == GPU
