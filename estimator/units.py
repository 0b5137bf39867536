"""Units: the FLOPs = 2 x MACs convention, precisions, SI prefixes, parsing and formatting of quantities.

Everything hwdb stores is in SI base units: FLOP/s or OP/s for rates, bytes, byte/s, Hz, W.
Humans write and read prefixed quantities ("65 TFLOPS", "320 GB/s", "16 GiB"); this module is the
only place that converts between the two.

Conventions, stated once:

* ``FLOPS_PER_MAC = 2``: one multiply-accumulate (MAC, a.k.a. MAdd or FMA) is counted as two
  floating-point operations, a multiply and an add. Every FLOP count in hwdb and estimator is
  ``FLOPS_PER_MAC * MACs`` plus any non-MAC work, never MACs relabelled as FLOPs.
* Floating-point precisions are measured in FLOP/s, integer precisions in OP/s ("TOPS").
* "FLOPs" (a count) and "FLOP/s" (a rate) are different quantities; this module never writes
  the ambiguous "FLOPS" in output.
"""

import math
import re

FLOPS_PER_MAC = 2
"""Floating-point operations per multiply-accumulate: a MAC is one multiply and one add."""

PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")
"""Precisions hwdb knows, widest first."""

INTEGER_PRECISIONS = frozenset({"int8", "int4"})

ENGINES = ("matrix", "vector")
"""matrix: tensor cores, AMX, MXU...; vector: CUDA cores, SIMD lanes."""

BYTES_PER_ELEMENT = {
    "fp64": 8.0, "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp6": 0.75, "fp4": 0.5,
    "int8": 1.0, "int4": 0.5,
}
"""Storage size of one element; TF32 is an FP32 storage format with a shorter mantissa in the math.
FP6 and FP4 (OCP MX formats) are counted at their packed size; their per-block scale factors
(one 8-bit scale per 32 elements) are not included."""

DECIMAL_PREFIXES = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21}
"""M = 10^6 ... Z = 10^21 (the chapter's ZFLOPS line misprints 10^21 as 10^1)."""

BINARY_PREFIXES = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}

# Unit spellings accepted in data files and on the command line, mapped to the canonical SI unit.
# Matched exactly, so 'B' (byte) is never confused with 'b' (bit).
_UNIT_ALIASES = {
    "FLOP/s": "FLOP/s", "FLOPS": "FLOP/s", "flop/s": "FLOP/s",
    "FLOP": "FLOP", "FLOPs": "FLOP", "flop": "FLOP", "flops": "FLOP",
    "OP/s": "OP/s", "OPS": "OP/s", "op/s": "OP/s",
    "OP": "OP", "OPs": "OP",
    "MAC": "MAC", "MACs": "MAC", "MACC": "MAC", "MACCs": "MAC", "MAdds": "MAC",
    "B": "B", "byte": "B", "bytes": "B",
    "B/s": "B/s", "byte/s": "B/s", "bytes/s": "B/s",
    "Hz": "Hz", "W": "W", "USD": "USD",
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z$/]*)\s*$")

_PREFIX_ORDER = (("Z", 1e21), ("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0))
_BINARY_ORDER = (("Ti", 2.0**40), ("Gi", 2.0**30), ("Mi", 2.0**20), ("Ki", 2.0**10), ("", 1.0))


class UnitError(ValueError):
    """A quantity that cannot be parsed, or has the wrong dimension."""


def is_integer_precision(precision: str) -> bool:
    """True for int8/int4, whose rates are OP/s rather than FLOP/s."""
    return precision in INTEGER_PRECISIONS


def rate_unit(precision: str) -> str:
    """'OP/s' for integer precisions, 'FLOP/s' for floating point ones.

    >>> rate_unit("int8"), rate_unit("fp16")
    ('OP/s', 'FLOP/s')
    """
    return "OP/s" if is_integer_precision(precision) else "FLOP/s"


def _split_unit(text: str) -> tuple[str, float, str]:
    """Split the prefix off a written unit: 'TFLOPS' -> ('T', 1e12, 'FLOP/s')."""
    if text in _UNIT_ALIASES or not text:
        return "", 1.0, _UNIT_ALIASES.get(text, "")
    for prefix, factor in BINARY_PREFIXES.items():
        if text.startswith(prefix) and _UNIT_ALIASES.get(text[len(prefix):]) in ("B", "B/s"):
            return prefix, factor, _UNIT_ALIASES[text[len(prefix):]]
    head, rest = text[0], text[1:]
    if head in DECIMAL_PREFIXES and (rest in _UNIT_ALIASES or rest == ""):
        return head, DECIMAL_PREFIXES[head], _UNIT_ALIASES.get(rest, "")
    raise UnitError(f"unknown unit {text!r}")


def _shifted(number: str, exponent: int) -> float:
    """`number` x 10^exponent by shifting the written exponent, so '4.1' with 9 is exactly float('4.1e9')."""
    mantissa, _, written = number.lower().partition("e")
    return float(f"{mantissa}e{int(written or 0) + exponent}")


def parse_quantity(text: "str | int | float", unit: str | None = None) -> float:
    """Parse '65 TFLOPS', '320 GB/s', '16 GiB', '1590 MHz' or '65T' into SI base units.

    Args:
        text: a number with an optional SI or binary prefix and unit; a bare number is taken as
            already in SI units.
        unit: the canonical unit expected ('FLOP/s', 'OP/s', 'B', 'B/s', 'Hz', 'W', 'FLOP', 'MAC',
            'USD'). A written unit of another dimension is an error; a prefix with no unit
            ('65T') takes this unit.

    Returns:
        The value in SI base units (FLOP/s, bytes, Hz, ...).

    >>> parse_quantity("65 TFLOPS", "FLOP/s")
    65000000000000.0
    >>> parse_quantity("16 GiB", "B")
    17179869184.0
    >>> parse_quantity("4.1 GFLOPs", "FLOP")
    4100000000.0
    """
    if isinstance(text, bool):
        raise UnitError(f"not a quantity: {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    elif not isinstance(text, str):
        raise UnitError(f"not a quantity: {text!r} (expected a number or a string such as '65 TFLOPS')")
    else:
        match = _QUANTITY.match(text)
        if not match:
            raise UnitError(f"not a quantity: {text!r} (expected e.g. '65 TFLOPS', '320 GB/s')")
        number, written = match.groups()
        try:
            prefix, factor, found = _split_unit(written)
        except UnitError:
            raise UnitError(f"unknown unit in {text!r} (expected e.g. '65 TFLOPS', '320 GB/s')") from None
        if found and unit and found != unit:
            raise UnitError(f"{text!r} is in {found}, expected {unit}")
        exponent = {1.0: 0, 1e3: 3, 1e6: 6, 1e9: 9, 1e12: 12, 1e15: 15, 1e18: 18, 1e21: 21}.get(factor)
        # Decimal prefixes scale by a power of ten in the text, so '4.1G' is exactly float('4.1e9').
        if exponent is None:
            value = float(number) * factor
        else:
            value = _shifted(number, exponent)
    if not math.isfinite(value):
        raise UnitError(f"not a finite quantity: {text!r}")
    return value


def format_si(value: float, unit: str = "", digits: int = 3, *, binary: bool = False) -> str:
    """Format an SI value with the prefix that fits and `digits` significant figures.

    >>> format_si(65.13e12, "FLOP/s")
    '65.1 TFLOP/s'
    >>> format_si(130.2e12, "OP/s")
    '130 TOP/s'
    >>> format_si(16 * 2**30, "B", binary=True)
    '16 GiB'
    """
    if value is None or not math.isfinite(value):
        return f"{value} {unit}".strip()
    order = _BINARY_ORDER if binary else _PREFIX_ORDER
    magnitude = abs(value)
    index = next((i for i, (_, factor) in enumerate(order) if magnitude >= factor), len(order) - 1)
    text = f"{value / order[index][1]:.{digits}g}"
    if index > 0 and abs(float(text)) >= (1024 if binary else 1000):  # 999.96 G rounds up to 1 T
        index -= 1
        text = f"{value / order[index][1]:.{digits}g}"
    if "e" in text:  # beyond the largest prefix: plain digits
        text = f"{value / order[index][1]:.0f}"
    return f"{text} {order[index][0]}{unit}".strip()


def format_rate(value: float, precision: str) -> str:
    """'65.1 TFLOP/s' for floating point precisions, '130 TOP/s' for integer ones."""
    return format_si(value, rate_unit(precision))


def format_bytes(value: float, *, binary: bool = False) -> str:
    """'320 GB' (decimal) or '16 GiB' (binary)."""
    return format_si(value, "B", binary=binary)


_DURATION = re.compile(r"^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(s|ms|us|µs|μs|ns|min)?\s*$")
_DURATION_EXPONENTS = {"s": 0, "ms": -3, "us": -6, "µs": -6, "μs": -6, "ns": -9}


def parse_duration(text: "str | int | float") -> float:
    """Parse '3.1ms', '250 us', '1.5 s' (a bare number is seconds) into seconds.

    >>> parse_duration("3.1ms")
    0.0031
    """
    if isinstance(text, bool):
        raise UnitError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    elif not isinstance(text, str):
        raise UnitError(f"not a quantity: {text!r} (expected a number or a string such as '65 TFLOPS')")
    else:
        match = _DURATION.match(text)
        if not match:
            raise UnitError(f"not a duration: {text!r} (expected e.g. '3.1ms', '250us', '2s')")
        number, unit = match.group(1), match.group(2) or "s"
        if unit == "min":
            value = float(number) * 60
        else:  # shift the written exponent, so that '3.1ms' is exactly float('3.1e-3')
            value = _shifted(number, _DURATION_EXPONENTS[unit])
    if not math.isfinite(value) or value <= 0:
        raise UnitError(f"a duration must be positive, got {text!r}")
    return value


def format_time(seconds: float, digits: int = 3) -> str:
    """'17.6 ms', '116 µs', '2.5 s'.

    >>> format_time(0.0176), format_time(116.2e-6), format_time(2.5)
    ('17.6 ms', '116 µs', '2.5 s')
    """
    if seconds is None or not math.isfinite(seconds):
        return f"{seconds} s"
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= factor or unit == "ns":
            text = f"{seconds / factor:.{digits}g}"
            if "e" in text:
                text = f"{seconds / factor:.0f}"
            return f"{text} {unit}"
    return f"{seconds} s"  # unreachable
