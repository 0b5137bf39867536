"""Theoretical peak rates: peak = chips x clock x units x operations per clock per unit.

This is the chapter's 理论峰值 = GPU 芯片数量 x GPU Boost 主频 x 核心数 x 单个时钟周期内能处理的浮点计算次数.
An FMA (fused multiply-add) counts as ``FLOPS_PER_MAC`` = 2 operations, so a CUDA core that
retires one FP32 FMA per clock has ``ops_per_clock = 2``.
"""

from dataclasses import dataclass

from estimator.units import FLOPS_PER_MAC

DATASHEET_TOLERANCE = 0.02
"""A derived peak more than 2% away from the datasheet figure is a data error."""


def peak_rate(*, chips: int, clock_hz: float, units: float, ops_per_clock: float) -> float:
    """Theoretical peak in FLOP/s (or OP/s for integers).

    Args:
        chips: dies per device (the chapter's GPU 芯片数量).
        clock_hz: the clock the rate is quoted at, in Hz (usually the boost clock).
        units: execution units doing the work (CUDA cores, FP64 cores, tensor cores, SMs).
        ops_per_clock: operations per clock per unit, an FMA counting 2.

    Returns:
        Operations per second.

    The chapter's worked examples (Tesla P100 SXM2 at 1480 MHz boost; Tesla T4 at 1590 MHz):

    >>> round(peak_rate(chips=1, clock_hz=1.48e9, units=1792, ops_per_clock=2) / 1e12, 1)  # FP64
    5.3
    >>> round(peak_rate(chips=1, clock_hz=1.48e9, units=3584, ops_per_clock=2) / 1e12, 1)  # FP32
    10.6
    >>> round(peak_rate(chips=1, clock_hz=1.48e9, units=3584, ops_per_clock=4) / 1e12, 1)  # FP16 (half2)
    21.2
    >>> round(peak_rate(chips=1, clock_hz=1.59e9, units=320, ops_per_clock=128) / 1e12, 1)  # FP16 tensor
    65.1
    >>> round(peak_rate(chips=1, clock_hz=1.59e9, units=320, ops_per_clock=256) / 1e12, 1)  # INT8 tensor
    130.3
    >>> round(peak_rate(chips=1, clock_hz=1.59e9, units=320, ops_per_clock=512) / 1e12, 1)  # INT4 tensor
    260.5

    NVIDIA's T4 datasheet rounds the last three to 65 TFLOPS, 130 TOPS and 260 TOPS; hwdb reports the
    datasheet figure and keeps the derivation as its cross-check (within ``DATASHEET_TOLERANCE``).
    """
    for name, value in (("chips", chips), ("clock_hz", clock_hz), ("units", units), ("ops_per_clock", ops_per_clock)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    return chips * clock_hz * units * ops_per_clock


def fma_ops(fma_per_clock: float) -> float:
    """Operations per clock of a unit that retires `fma_per_clock` FMAs: 2 each (FLOPs = 2 x MACs).

    >>> fma_ops(64)
    128
    """
    return FLOPS_PER_MAC * fma_per_clock


@dataclass(frozen=True)
class Derivation:
    """How a peak was derived: chips x clock x units x ops_per_clock (x sparse_factor)."""

    chips: int
    clock_hz: float
    clock_name: str  # "boost_clock", or the clock the vendor's figure assumes
    unit_name: str  # spec name of the unit: cuda_cores, fp64_cores, tensor_cores, sms
    units: float
    ops_per_clock: float
    sparse_factor: float = 1.0

    @property
    def value(self) -> float:
        """The derived peak in FLOP/s or OP/s."""
        dense = peak_rate(chips=self.chips, clock_hz=self.clock_hz, units=self.units, ops_per_clock=self.ops_per_clock)
        return dense * self.sparse_factor


def relative_error(derived: float, datasheet: float) -> float:
    """(derived - datasheet) / datasheet; datasheet figures are rounded, so a few tenths of 1% is normal."""
    if datasheet <= 0:
        raise ValueError(f"datasheet figure must be positive, got {datasheet!r}")
    return (derived - datasheet) / datasheet


def within_tolerance(derived: float, datasheet: float, tolerance: float = DATASHEET_TOLERANCE) -> bool:
    """True when the derived peak is within `tolerance` (2%) of the datasheet figure."""
    return abs(relative_error(derived, datasheet)) <= tolerance
