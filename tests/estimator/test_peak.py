"""The chapter's worked examples, and the peak formula's invariants."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimator.peak import Derivation, fma_ops, peak_rate, relative_error, within_tolerance
from estimator.units import format_rate


@pytest.mark.parametrize(
    ("units", "ops_per_clock", "expected_tflops"),
    [(1792, 2, 5.3), (3584, 2, 10.6), (3584, 4, 21.2)],  # P100 FP64, FP32, FP16 (half2)
)
def test_p100_worked_examples(units, ops_per_clock, expected_tflops):
    # 10.6 TFLOPS needs the 1.48 GHz boost clock; the chapter's "1.58GHz" on that line is a slip.
    value = peak_rate(chips=1, clock_hz=1.48e9, units=units, ops_per_clock=ops_per_clock)
    assert round(value / 1e12, 1) == expected_tflops
    assert format_rate(value, "fp32") == f"{expected_tflops} TFLOP/s"


def test_chapter_p100_fp32_line_at_its_printed_clock_is_not_10_6():
    assert round(peak_rate(chips=1, clock_hz=1.58e9, units=3584, ops_per_clock=2) / 1e12, 1) == 11.3


@pytest.mark.parametrize(
    ("ops_per_clock", "datasheet"), [(128, 65e12), (256, 130e12), (512, 260e12)]  # T4 FP16, INT8, INT4 tensor
)
def test_t4_tensor_rates_derive_within_tolerance_of_the_datasheet(ops_per_clock, datasheet):
    derived = peak_rate(chips=1, clock_hz=1.59e9, units=320, ops_per_clock=ops_per_clock)
    assert within_tolerance(derived, datasheet)
    assert 0 < relative_error(derived, datasheet) < 0.003


def test_fma_counts_two():
    assert fma_ops(64) == 128


def test_derivation_applies_the_sparse_factor():
    dense = Derivation(chips=1, clock_hz=1.41e9, clock_name="boost_clock", unit_name="tensor_cores", units=432, ops_per_clock=512)
    sparse = Derivation(**{**dense.__dict__, "sparse_factor": 2.0})
    assert round(dense.value / 1e12) == 312  # A100 FP16 tensor, dense
    assert sparse.value == 2 * dense.value


@pytest.mark.parametrize("bad", [0, -1])
def test_peak_rate_rejects_non_positive_factors(bad):
    with pytest.raises(ValueError):
        peak_rate(chips=bad, clock_hz=1e9, units=1, ops_per_clock=2)


positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)


@given(chips=st.integers(1, 16), clock=positive, units=positive, ops=positive, k=st.integers(2, 8))
def test_peak_is_linear_in_every_factor(chips, clock, units, ops, k):
    base = peak_rate(chips=chips, clock_hz=clock, units=units, ops_per_clock=ops)
    assert peak_rate(chips=chips * k, clock_hz=clock, units=units, ops_per_clock=ops) == pytest.approx(k * base)
    assert peak_rate(chips=chips, clock_hz=clock * k, units=units, ops_per_clock=ops) == pytest.approx(k * base)
    assert peak_rate(chips=chips, clock_hz=clock, units=units * k, ops_per_clock=ops) == pytest.approx(k * base)
