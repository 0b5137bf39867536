"""Hardware: a plain, database-free record of one device's figures and peak rates.

`hwdb` builds these from its catalog; the estimator and notebooks use them directly. Values are SI
(FLOP/s, OP/s, bytes, byte/s, Hz, W). A record round-trips through ``to_dict``/``from_dict`` (JSON).
"""

from dataclasses import dataclass, field
from typing import Any, Mapping

from estimator.peak import Derivation
from estimator.units import ENGINES, PRECISIONS, format_rate

SPEC_NAMES = (
    "release_date", "chips", "cores", "sms", "cuda_cores", "fp64_cores", "tensor_cores", "base_clock", "boost_clock",
    "all_core_clock", "memory", "memory_type", "memory_bus_width", "memory_bandwidth", "l2_cache", "l3_cache",
    "host_link", "host_link_bandwidth", "scale_up_link", "scale_up_links", "scale_up_topology", "scale_up_bandwidth",
    "tdp", "launch_price",
)
"""Every spec figure a record can hold, in display order (data/README.md documents each)."""

ACCUMULATE = ("fp32", "fp16", "int32")
"""Accumulator precisions a matrix rate can be quoted for. GeForce cards run FP16 tensor math with FP32
accumulate at half the FP16-accumulate rate; where a vendor quotes both, both are recorded. A peak
with ``accumulate=None`` is the device's only figure for its key (the mode was not stated separately)."""


class FigureUnavailable(LookupError):
    """The catalog has no figure that a question needs (a peak, a memory bandwidth): not bad input, a gap."""


class PeakUnavailable(FigureUnavailable):
    """No figure for the asked precision: the device lacks it (``not_supported``) or no public source gives it (``unknown``)."""

    def __init__(self, device: str, precision: str, engine: str | None, sparse: bool, status: str, reason: str):
        self.device, self.precision, self.engine, self.sparse = device, precision, engine, sparse
        self.status, self.reason = status, reason
        what = precision.upper() + (f" {engine}" if engine else "") + (" sparse" if sparse else "")
        verdict = "not supported" if status == "not_supported" else "unknown"
        super().__init__(f"{device}: {what} {verdict}: {reason}")


@dataclass(frozen=True)
class Source:
    """Where a figure comes from: a datasheet, whitepaper or product page."""

    id: str
    url: str
    title: str
    publisher: str = ""


@dataclass(frozen=True)
class Spec:
    """One sourced figure. ``value`` is SI for quantities (``unit`` names it), else an int or str."""

    name: str
    value: Any
    unit: str = ""
    source: str | None = None
    note: str | None = None
    direction: str | None = None  # links: the per-direction figure is stored; this says how the source quoted it


@dataclass(frozen=True)
class Peak:
    """A peak rate for one (precision, engine, sparsity): the datasheet figure and/or its derivation."""

    precision: str
    engine: str  # "matrix" (tensor cores, AMX...) or "vector" (CUDA cores, SIMD)
    sparse: bool
    value: float  # the reported figure, FLOP/s or OP/s: the datasheet's where it has one, else the derived
    origin: str  # "datasheet" or "derived"
    datasheet_value: float | None = None
    source: str | None = None  # source id of the datasheet figure
    derivation: Derivation | None = None
    derivation_source: str | None = None  # source id of the ops-per-clock figure
    note: str | None = None
    accumulate: str | None = None  # "fp32" / "fp16" where the vendor quotes rates per accumulator precision

    @property
    def derived_value(self) -> float | None:
        """chips x clock x units x ops per clock, or None where the architecture gives no rate."""
        return self.derivation.value if self.derivation else None


@dataclass(frozen=True)
class Hardware:
    """One device: identity, sourced specs, peaks, and the precisions it lacks."""

    slug: str
    name: str
    vendor: str
    kind: str
    architecture: str | None = None
    form_factor: str | None = None
    aliases: tuple[str, ...] = ()
    specs: Mapping[str, Spec] = field(default_factory=dict)
    peaks: tuple[Peak, ...] = ()
    unsupported: frozenset[tuple[str, str]] = frozenset()  # (precision, engine) pairs the device lacks
    sparse_precisions: frozenset[str] | None = None  # matrix precisions 2:4 sparsity speeds up; None = unknown
    sources: Mapping[str, Source] = field(default_factory=dict)
    revision: int | None = None
    release: str | None = None
    matrix_label: str = "matrix"  # what the vendor calls its matrix engine: "tensor", "AMX", "MXU"
    retired: bool = False  # withdrawn from the catalog (kept for history)
    calibration: Mapping[str, Any] | None = None  # fitted efficiencies (estimator.calibration.Calibration.to_dict)
    probe: Mapping[str, Any] | None = None  # a measured device: what hwdb probe measured, when, and how

    # -- figures --------------------------------------------------------------------------------
    def spec(self, name: str) -> Any:
        """The value of spec `name` (SI for quantities), or None when the catalog has no figure."""
        found = self.specs.get(name)
        return found.value if found else None

    @property
    def memory_bytes(self) -> float | None:
        return self.spec("memory")

    @property
    def memory_bandwidth(self) -> float | None:
        """Peak DRAM bandwidth in byte/s."""
        return self.spec("memory_bandwidth")

    @property
    def boost_clock_hz(self) -> float | None:
        return self.spec("boost_clock")

    @property
    def tdp_w(self) -> float | None:
        return self.spec("tdp")

    def is_supported(self, precision: str, engine: str | None = None) -> bool:
        """False only where the catalog says the device lacks the precision (on that engine)."""
        engines = (engine,) if engine else ENGINES
        return not all((precision, e) in self.unsupported for e in engines)

    def peak(self, precision: str, *, engine: str | None = None, sparse: bool = False, accumulate: str | None = None) -> Peak:
        """The peak for `precision`: the matrix engine where the device has one, else the vector engine.

        With several accumulate modes quoted (GeForce FP16: FP32 vs FP16 accumulate), the FP32
        accumulate figure is returned unless `accumulate` asks for another: it is what training and
        most inference libraries run.

        Raises:
            ValueError: an unknown precision or engine name.
            PeakUnavailable: the device lacks it, or no source gives the figure.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        if accumulate is not None and accumulate not in ACCUMULATE:
            raise ValueError(f"unknown accumulate mode {accumulate!r}; choose from {', '.join(ACCUMULATE)}")
        if engine is None:
            # The matrix engine where the device has one for this precision. Fall back to the vector
            # engine only where the matrix engine lacks it (or the device has none at all): a
            # missing tensor figure must not be silently replaced by the far lower CUDA-core one.
            found = self._find(precision, "matrix", sparse, accumulate)
            if found is None and not self._matrix_expected(precision):
                found = self._find(precision, "vector", sparse, accumulate)
        else:
            found = self._find(precision, engine, sparse, accumulate)
        if found is None:
            error = self._unavailable(precision, engine, sparse)
            modes = sorted({p.accumulate for p in self.peaks if (p.precision, p.sparse) == (precision, sparse) and p.accumulate})
            if accumulate is not None and error.status == "unknown" and modes:
                error = PeakUnavailable(self.name, precision, engine, sparse, "unknown",
                                        f"no {accumulate} accumulate figure; quoted for {', '.join(modes)} accumulate")
            raise error
        return found

    def _matrix_expected(self, precision: str) -> bool:
        """The device has a matrix engine, and nothing says that engine lacks `precision`."""
        return self.is_supported(precision, "matrix") and any(p.engine == "matrix" for p in self.peaks)

    def _find(self, precision: str, engine: str, sparse: bool, accumulate: str | None = None) -> Peak | None:
        found = [p for p in self.peaks if (p.precision, p.engine, p.sparse) == (precision, engine, sparse)]
        if accumulate is not None:
            return next((p for p in found if p.accumulate == accumulate), None)
        preference = (None, "fp32", "int32", "fp16")
        return min(found, key=lambda p: preference.index(p.accumulate), default=None)

    def _unavailable(self, precision: str, engine: str | None, sparse: bool) -> PeakUnavailable:
        label = engine and (self.matrix_label if engine == "matrix" else "vector")
        name = precision.upper()
        if not self.is_supported(precision, engine):
            reason = f"its {label} units do not execute {name}" if engine else f"neither its {self.matrix_label} nor its vector units execute {name}"
            return PeakUnavailable(self.name, precision, label, sparse, "not_supported", reason)
        if sparse and engine == "vector":
            reason = "2:4 structured sparsity applies to matrix units only"
            return PeakUnavailable(self.name, precision, label, sparse, "not_supported", reason)
        if sparse and self.sparse_precisions is not None and precision not in self.sparse_precisions:
            reason = f"2:4 structured sparsity does not apply to {name} on this architecture"
            return PeakUnavailable(self.name, precision, label, sparse, "not_supported", reason)
        if engine is None and self._matrix_expected(precision):
            label = self.matrix_label  # the matrix figure was asked for, and is the one missing
        reason = "no public source gives this figure"
        for other_engine, other_sparse in (("matrix", not sparse), ("vector", sparse), ("vector", not sparse)):
            other = self._find(precision, other_engine, other_sparse)
            if other is not None and (other_engine, other_sparse) != (engine, sparse):
                kind = f"{'sparse' if other_sparse else 'dense'} {self.matrix_label if other_engine == 'matrix' else 'vector'}"
                reason += f"; the {kind} figure is {format_rate(other.value, precision)}"
                break
        return PeakUnavailable(self.name, precision, label, sparse, "unknown", reason)

    # -- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` reverses it exactly."""
        return {
            "slug": self.slug, "name": self.name, "vendor": self.vendor, "kind": self.kind,
            "architecture": self.architecture, "form_factor": self.form_factor, "aliases": list(self.aliases),
            "revision": self.revision, "release": self.release, "matrix_label": self.matrix_label,
            "specs": {k: _spec_dict(v) for k, v in self.specs.items()},
            "peaks": [_peak_dict(p) for p in self.peaks],
            "unsupported": sorted([list(pair) for pair in self.unsupported]),
            "sparse_precisions": None if self.sparse_precisions is None else sorted(self.sparse_precisions),
            "sources": {k: {"url": s.url, "title": s.title, "publisher": s.publisher} for k, s in self.sources.items()},
            "retired": self.retired,
            # Only measured devices have these; leaving them out keeps every other record as it was.
            **({"calibration": dict(self.calibration)} if self.calibration else {}),
            **({"probe": dict(self.probe)} if self.probe else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Hardware":
        return cls(
            slug=data["slug"], name=data["name"], vendor=data["vendor"], kind=data["kind"],
            architecture=data.get("architecture"), form_factor=data.get("form_factor"),
            aliases=tuple(data.get("aliases", ())), revision=data.get("revision"), release=data.get("release"),
            matrix_label=data.get("matrix_label", "matrix"),
            specs={k: Spec(name=k, **v) for k, v in data.get("specs", {}).items()},
            peaks=tuple(_peak_from_dict(p) for p in data.get("peaks", ())),
            unsupported=frozenset(tuple(pair) for pair in data.get("unsupported", ())),
            sparse_precisions=None if data.get("sparse_precisions") is None else frozenset(data["sparse_precisions"]),
            sources={k: Source(id=k, **v) for k, v in data.get("sources", {}).items()},
            retired=bool(data.get("retired", False)),
            calibration=data.get("calibration"), probe=data.get("probe"),
        )


def _spec_dict(spec: Spec) -> dict[str, Any]:
    return {"value": spec.value, "unit": spec.unit, "source": spec.source, "note": spec.note, "direction": spec.direction}


def _peak_dict(peak: Peak) -> dict[str, Any]:
    d = peak.derivation
    return {
        "precision": peak.precision, "engine": peak.engine, "sparse": peak.sparse, "value": peak.value,
        "origin": peak.origin, "datasheet_value": peak.datasheet_value, "source": peak.source,
        "derivation": None if d is None else {
            "chips": d.chips, "clock_hz": d.clock_hz, "clock_name": d.clock_name, "unit_name": d.unit_name,
            "units": d.units, "ops_per_clock": d.ops_per_clock, "sparse_factor": d.sparse_factor,
        },
        "derivation_source": peak.derivation_source, "note": peak.note, "accumulate": peak.accumulate,
    }


def _peak_from_dict(data: Mapping[str, Any]) -> Peak:
    derivation = data.get("derivation")
    fields = {k: v for k, v in data.items() if k != "derivation"}
    return Peak(**fields, derivation=Derivation(**derivation) if derivation else None)
