"""The roof of one device at one precision: attainable matrix and vector peaks, bandwidth, efficiency.

Numpy-free, so that `hwdb roofline` and `hwdb util` without a model start fast; `estimator.roofline`
(the vectorised estimator) builds on it and re-exports every name here.
"""

from dataclasses import dataclass
from typing import Mapping

from estimator.calibration import Calibration
from estimator.hardware import FigureUnavailable, Hardware, PeakUnavailable
from estimator.units import PRECISIONS


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak compute and bandwidth a device attains, and a fixed overhead per layer
    (kernel launch). The defaults are the pure roofline."""

    compute: float = 1.0
    memory: float = 1.0
    overhead_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("compute", "memory"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} efficiency must be in (0, 1], got {value}")
        if self.overhead_s < 0:
            raise ValueError(f"overhead must be >= 0 s, got {self.overhead_s}")


PURE = Efficiency()
EfficiencySpec = Efficiency | Mapping[str, Efficiency] | None
"""One `Efficiency` for every device, or one per device kind ("gpu", "cpu", ...; "default" for the rest)."""


def efficiency_for(spec: EfficiencySpec, kind: str) -> Efficiency:
    if spec is None:
        return PURE
    if isinstance(spec, Efficiency):
        return spec
    return spec.get(kind, spec.get("default", PURE))


def calibration_of(hardware: Hardware) -> Calibration | None:
    """The device's fitted calibration (`Hardware.calibration`, stored with it by `hwdb probe --save`), if any."""
    if not hardware.calibration:
        return None
    return Calibration.from_dict(hardware.calibration)


@dataclass(frozen=True)
class Roof:
    """What the roofline needs of one device at one precision: peaks (FLOP/s or OP/s) and bandwidth (byte/s)."""

    device: str
    precision: str
    matrix_peak: float  # NaN where unknown or not supported
    vector_peak: float  # NaN where the catalog has no vector figure at all
    bandwidth: float
    efficiency: Efficiency = PURE
    vector_precision: str | None = None  # the precision the vector figure is for (fp32 when falling back)
    problem: str | None = None  # why matrix_peak is NaN
    calibration: Calibration | None = None  # per-layer efficiencies measured on the device (hwdb probe)

    @classmethod
    def of(cls, hardware: Hardware, precision: str, efficiency: EfficiencySpec = None, calibrated: bool | None = None) -> "Roof":
        """The roof of `hardware` at `precision`; missing figures become NaN with the reason in `problem`.

        `calibrated`: None uses the device's calibration where it has one and no `efficiency` is given;
        True requires one (`FigureUnavailable` otherwise); False is the pure (or `efficiency`) roofline.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        problem = None
        try:
            matrix = hardware.peak(precision).value
        except PeakUnavailable as error:
            matrix, problem = float("nan"), str(error)
        vector, vector_precision = float("nan"), None
        for candidate in dict.fromkeys((precision, "fp32")):
            try:
                vector, vector_precision = hardware.peak(candidate, engine="vector").value, candidate
                break
            except PeakUnavailable:
                continue
        bandwidth = hardware.memory_bandwidth
        if not bandwidth:
            problem = problem or f"{hardware.name}: memory bandwidth unknown"
            bandwidth = float("nan")
        calibration = None
        if calibrated or (calibrated is None and efficiency is None):
            calibration = calibration_of(hardware)
            if calibrated and calibration is None:
                raise FigureUnavailable(f"{hardware.name} has no calibration: run `hwdb probe --save` on it (or drop --calibrated)")
        eff = Efficiency(overhead_s=calibration.overhead_s) if calibration else efficiency_for(efficiency, hardware.kind)
        return cls(hardware.name, precision, matrix, vector, bandwidth, eff, vector_precision, problem, calibration)

    @property
    def ridge_point(self) -> float:
        """FLOP/byte where the attainable matrix peak meets the attainable bandwidth."""
        return self.matrix_peak * self.efficiency.compute / (self.bandwidth * self.efficiency.memory)
