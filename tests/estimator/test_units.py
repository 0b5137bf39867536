import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimator.units import (
    BYTES_PER_ELEMENT, FLOPS_PER_MAC, PRECISIONS, UnitError, format_bytes, format_rate, format_si, parse_quantity, rate_unit,
)


def test_flops_per_mac_is_two():
    assert FLOPS_PER_MAC == 2


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("65T", "FLOP/s", 65e12),
        ("65 TFLOPS", "FLOP/s", 65e12),
        ("130 TOPS", "OP/s", 130e12),
        ("4.1 GFLOPs", "FLOP", 4.1e9),
        ("8.2G", "FLOP", 8.2e9),
        ("320 GB/s", "B/s", 320e9),
        ("16 GiB", "B", 16 * 2**30),
        ("50 MiB", "B", 50 * 2**20),
        ("1590 MHz", "Hz", 1.59e9),
        ("1.48 GHz", "Hz", 1.48e9),
        ("70 W", "W", 70.0),
        ("3.1e2 MHz", "Hz", 310e6),
        ("1 ZFLOPS", "FLOP/s", 1e21),  # the chapter's ZFLOPS line misprints 10^21 as 10^1
        ("1 EFLOPS", "FLOP/s", 1e18),
        ("2 PFLOPS", "FLOP/s", 2e15),
        ("5 MFLOPS", "FLOP/s", 5e6),
        ("699 USD", "USD", 699.0),
        (42, "W", 42.0),
    ],
)
def test_parse_quantity(text, unit, expected):
    assert parse_quantity(text, unit) == expected


@pytest.mark.parametrize(
    ("text", "unit"),
    [("4.1Q", "FLOP"), ("320 GB/s", "FLOP/s"), ("65 TFLOPS", "OP/s"), ("abc", "W"), ("", "W"), ("5 Gb/s", "B/s"),
     ("1e400 W", "W"), ("nan W", "W"), (True, "W"), ("16 GiHz", "Hz")],
)
def test_parse_quantity_rejects(text, unit):
    with pytest.raises(UnitError):
        parse_quantity(text, unit)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (65.1264e12, "FLOP/s", "65.1 TFLOP/s"),
        (130.2e12, "OP/s", "130 TOP/s"),
        (5.304e12, "FLOP/s", "5.3 TFLOP/s"),
        (10.608e12, "FLOP/s", "10.6 TFLOP/s"),
        (21.216e12, "FLOP/s", "21.2 TFLOP/s"),
        (254.4e9, "FLOP/s", "254 GFLOP/s"),
        (999.96e9, "B/s", "1 TB/s"),
        (3.35e12, "B/s", "3.35 TB/s"),
        (1.5e6, "FLOP", "1.5 MFLOP"),
        (0, "FLOP/s", "0 FLOP/s"),
        (1.2e21, "FLOP/s", "1.2 ZFLOP/s"),
    ],
)
def test_format_si(value, unit, expected):
    assert format_si(value, unit) == expected


def test_format_names_flops_and_ops():
    assert format_rate(65e12, "fp16") == "65 TFLOP/s"
    assert format_rate(130e12, "int8") == "130 TOP/s"
    assert rate_unit("int4") == "OP/s" and rate_unit("bf16") == "FLOP/s"
    assert format_bytes(16 * 2**30, binary=True) == "16 GiB"
    assert format_bytes(320e9) == "320 GB"


def test_bytes_per_element_covers_every_precision():
    assert set(BYTES_PER_ELEMENT) == set(PRECISIONS)
    assert BYTES_PER_ELEMENT["int4"] == 0.5 and BYTES_PER_ELEMENT["tf32"] == 4


@given(st.floats(min_value=1e-3, max_value=1e24, allow_nan=False, allow_infinity=False))
def test_format_then_parse_round_trips_to_three_significant_figures(value):
    text = format_si(value, "FLOP/s")
    assert math.isclose(parse_quantity(text, "FLOP/s"), value, rel_tol=5e-3)
