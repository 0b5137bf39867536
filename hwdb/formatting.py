"""Figures as people read them: '80 GB', '16 GiB (17.2 GB)', '3.35 TB/s', '1.98 GHz', '$1,599',
'300 GB/s each way (600 GB/s bidirectional)'. Shared by the CLI and by history/diff output."""

from typing import Any

from estimator.units import format_si

CACHE_SPECS = {"l2_cache", "l3_cache"}  # on-chip SRAM sizes are powers of two: shown in MiB


def format_memory(value: float) -> str:
    """Capacity in GB (10^9 bytes), with GiB beside it where the vendor quoted GiB: '80 GB', '16 GiB (17.2 GB)'."""
    decimal = format_si(value, "B")
    if value % 2**30 == 0 and value % 1e9 != 0:
        return f"{format_si(value, 'B', binary=True)} ({decimal})"
    return decimal


def format_spec_value(name: str, value: Any, unit: str = "", direction: str | None = None) -> str:
    """One figure with its unit; links say their direction (hwdb stores the per-direction figure)."""
    if value is None:
        return "?"
    if unit == "USD":
        return f"${value:,.0f}"
    if not unit:
        return str(value)
    if name == "memory":
        return format_memory(value)
    text = format_si(value, unit, binary=name in CACHE_SPECS)
    if direction == "bidirectional":
        return f"{text} each way ({format_si(value * 2, unit)} bidirectional)"
    if direction == "per_direction":
        return f"{text} each way"
    return text
