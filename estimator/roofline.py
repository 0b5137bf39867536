"""The roofline: per-layer predicted time, bound and utilization of a model on a device.

For each layer, at a precision and batch size:

    compute time = FLOPs / (peak x compute efficiency)
    memory time  = bytes / (bandwidth x memory efficiency)
    time         = max(compute time, memory time) + overhead per layer

The bound is whichever term is larger ("none" for a layer that moves and computes nothing, such as
a flatten view). Arithmetic intensity = FLOPs / byte; the ridge point = the engine's attainable
peak / attainable bandwidth (FLOP/byte): a layer with intensity below it is memory bound.
Achieved = FLOPs / time; utilization = achieved / peak of the engine the layer runs on. Model
totals: latency (sum of layer times), throughput (batch / latency) and model FLOPs utilization
(MFU = model FLOPs / latency / the device's matrix peak), the chapter's 利用率 = achieved / peak.

Which peak: convolutions and matrix products run on the matrix engine (tensor cores, AMX, MXU) at
the precision, where the device has one, else on its vector units (`Hardware.peak` decides, and
never silently replaces a missing tensor figure by the vector one). Elementwise layers (norms,
activations, pooling, softmax, adds) run on the vector units at the precision; where the catalog
has no vector figure at that precision (INT8, TF32), at the FP32 vector rate, since the arithmetic
can always be done in FP32. A device with no vector figure at all costs them by memory traffic
alone (the result says so). Data movement (concat, reshape, embedding gathers) costs bytes only.

Calibrated: a device measured by `hwdb probe` carries an `estimator.calibration.Calibration`, and
its roof then runs each layer at the efficiency measured for work of its kind and size (a GEMM of its
shape, elementwise or reduction work, its working set's bandwidth) plus a per-layer overhead. The
pure roofline stays available (``calibrated=False``).

Everything is vectorised over devices x precisions x batch sizes x layers with numpy broadcasting.
"""

from dataclasses import dataclass, field
from math import prod
from typing import Iterable, Sequence

import numpy as np

from estimator.roof import Efficiency, EfficiencySpec, Roof, calibration_of, efficiency_for  # noqa: F401 (re-exported)
from estimator.hardware import FigureUnavailable, Hardware
from estimator.layers import MATRIX, VECTOR
from estimator.models import Model
from estimator.units import BYTES_PER_ELEMENT


@dataclass(frozen=True)
class LayerArrays:
    """A model's per-sample layer costs as numpy arrays (what the vectorised roofline consumes)."""

    names: tuple[str, ...]
    ops: tuple[str, ...]
    engines: np.ndarray  # 0 matrix, 1 vector, 2 memory only
    flops: np.ndarray  # per sample
    macs: np.ndarray
    activation_elements: np.ndarray  # in + out + gathered, per sample
    index_bytes: np.ndarray  # per sample
    weight_elements: np.ndarray  # once per batch
    params: np.ndarray
    gemm: np.ndarray | None = None  # (3, L): M, N, K of matrix layers per sample (0 elsewhere)
    gemm_stacks_batch: np.ndarray | None = None  # (L,) bool: a batch multiplies M (conv, linear), not the product count
    depthwise: np.ndarray | None = None  # (L,) bool: a convolution with one filter per channel

    @classmethod
    def of(cls, models: Model | Sequence[Model]) -> "LayerArrays":
        layers = [layer for model in ([models] if isinstance(models, Model) else models) for layer in model.layers]
        code = {MATRIX: 0, VECTOR: 1}

        def column(values: Iterable[float]) -> np.ndarray:
            return np.fromiter(values, dtype=np.float64, count=len(layers))

        return cls(
            names=tuple(l.name for l in layers), ops=tuple(l.op for l in layers),
            engines=np.fromiter((code.get(l.engine, 2) for l in layers), dtype=np.int8, count=len(layers)),
            flops=column(l.flops for l in layers), macs=column(l.macs for l in layers),
            activation_elements=column(l.input_elements + l.output_elements + l.gathered_elements for l in layers),
            index_bytes=column(l.index_bytes for l in layers), weight_elements=column(l.weight_elements for l in layers),
            params=column(l.params for l in layers),
            gemm=np.array([l.gemm or (0, 0, 0) for l in layers], dtype=np.float64).reshape(len(layers), 3).T,
            gemm_stacks_batch=np.fromiter((l.gemm_stacks_batch for l in layers), dtype=bool, count=len(layers)),
            depthwise=np.fromiter((bool(l.gemm) and l.gemm[1] == 1 and l.macs > prod(l.gemm) for l in layers), dtype=bool, count=len(layers)),
        )


@dataclass(frozen=True)
class RooflineArrays:
    """Per-layer results with shape (devices, precisions, batches, layers); NaN where a peak is unknown."""

    flops: np.ndarray  # (1, 1, B, L)
    bytes: np.ndarray  # (1, P, B, L)
    compute_time: np.ndarray  # (D, P, B, L)
    memory_time: np.ndarray  # (D, P, B, L)
    time: np.ndarray  # (D, P, B, L)
    peak: np.ndarray  # (D, P, 1, L): the peak of the engine each layer runs on (0 for data movement)

    @property
    def compute_bound(self) -> np.ndarray:
        return self.compute_time >= self.memory_time

    @property
    def intensity(self) -> np.ndarray:
        """FLOP per byte of memory traffic (NaN for a layer that moves no bytes)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.bytes > 0, self.flops / np.where(self.bytes > 0, self.bytes, 1), np.nan)

    @property
    def achieved(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.time > 0, self.flops / np.where(self.time > 0, self.time, 1), 0.0)

    @property
    def utilization(self) -> np.ndarray:
        """Achieved / peak of the engine the layer runs on; 0 for layers that compute nothing."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.peak > 0, self.achieved / np.where(self.peak > 0, self.peak, 1), 0.0)


def roofline_arrays(layers: LayerArrays, roofs: Sequence[Sequence[Roof]], batches: Sequence[int]) -> RooflineArrays:
    """The vectorised roofline. `roofs[d][p]` is device d at precision p; every device lists the same precisions.

    No Python loop runs per layer, batch size or combination: the arrays broadcast as
    (devices, precisions, batches, layers).
    """
    batch = np.asarray(batches, dtype=np.float64)
    if batch.ndim != 1 or batch.size == 0 or np.any(batch < 1) or np.any(batch != np.floor(batch)):
        raise ValueError(f"batch sizes must be positive integers, got {list(batches)}")
    precisions = [roof.precision for roof in roofs[0]]
    if any([roof.precision for roof in row] != precisions for row in roofs):
        raise ValueError("every device must list the same precisions")

    def grid(attribute: str) -> np.ndarray:
        return np.array([[getattr(roof, attribute) for roof in row] for row in roofs], dtype=np.float64)[:, :, None, None]

    eff_compute = np.array([[roof.efficiency.compute for roof in row] for row in roofs])[:, :, None, None]
    eff_memory = np.array([[roof.efficiency.memory for roof in row] for row in roofs])[:, :, None, None]
    overhead = np.array([[roof.efficiency.overhead_s for roof in row] for row in roofs])[:, :, None, None]
    matrix_peak, vector_peak, bandwidth = grid("matrix_peak"), grid("vector_peak"), grid("bandwidth")
    size = np.array([BYTES_PER_ELEMENT[p] for p in precisions])[None, :, None, None]

    b = batch[None, None, :, None]
    flops = b * layers.flops[None, None, None, :]
    traffic = (b * layers.activation_elements[None, None, None, :] + layers.weight_elements[None, None, None, :]) * size \
        + b * layers.index_bytes[None, None, None, :]
    engine = layers.engines[None, None, None, :]
    if any(roof.calibration is not None for row in roofs for roof in row):
        eff_compute, eff_memory = _calibrated(layers, roofs, batch, traffic, eff_compute, eff_memory)
    # A vector layer on a device with no vector figure costs memory traffic only (peak = inf).
    vector = np.where(np.isnan(vector_peak), np.inf, vector_peak)
    peak = np.where(engine == 0, matrix_peak, np.where(engine == 1, vector, np.inf))
    with np.errstate(divide="ignore", invalid="ignore"):
        compute_time = np.where(flops > 0, flops / (peak * eff_compute), 0.0)
        memory_time = np.where(traffic > 0, traffic / (bandwidth * eff_memory), 0.0)
    moves = (flops > 0) | (traffic > 0)
    time = np.maximum(compute_time, memory_time) + np.where(moves, overhead, 0.0)
    # NaN (unknown peak or bandwidth) propagates: np.maximum keeps NaN.
    shown_peak = np.where(np.isinf(peak), 0.0, peak)
    return RooflineArrays(flops=flops, bytes=traffic, compute_time=compute_time, memory_time=memory_time, time=time, peak=shown_peak)


def _calibrated(layers: LayerArrays, roofs: Sequence[Sequence[Roof]], batch: np.ndarray, traffic: np.ndarray,
                eff_compute: np.ndarray, eff_memory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer efficiency arrays (D, P, B, L) for the calibrated roofs; the others keep their scalars.

    One pass per calibrated (device, precision): the arrays over batches x layers are computed at once.
    """
    shape = (len(roofs), len(roofs[0]), batch.size, layers.flops.size)
    compute, memory = np.broadcast_to(eff_compute, shape).copy(), np.broadcast_to(eff_memory, shape).copy()
    m, n, k = layers.gemm
    rows = np.where(layers.gemm_stacks_batch[None, :], m[None, :] * batch[:, None], m[None, :])  # (B, L)
    conv = np.array([op.startswith("conv2d") for op in layers.ops])
    for d, row in enumerate(roofs):
        for p, roof in enumerate(row):
            cal = roof.calibration
            if cal is None:
                continue
            matrix = cal.matrix_efficiency(roof.precision, rows, n[None, :], k[None, :], layers.depthwise[None, :], conv[None, :])
            vector = cal.vector_efficiency(layers.ops, traffic[0, p])
            compute[d, p] = np.where(layers.engines[None, :] == 0, matrix, np.where(layers.engines[None, :] == 1, vector, 1.0))
            memory[d, p] = cal.memory_factor(traffic[0, p]) * cal.copy_factor(layers.ops, traffic[0, p])
    return compute, memory


# -- one model on one device ------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    engine: str
    params: int
    macs: float  # for the whole batch
    flops: float
    bytes: float
    intensity: float  # FLOP/byte
    compute_time_s: float
    memory_time_s: float
    time_s: float
    bound: str  # compute | memory | none
    achieved: float  # FLOP/s (OP/s for integer precisions)
    utilization: float  # of the engine's peak
    share: float  # of the model's latency


@dataclass(frozen=True)
class Estimate:
    """A model on a device at a precision and batch size: per-layer roofline and totals."""

    model: str
    device: str
    precision: str
    batch: int
    roof: Roof
    layers: tuple[LayerEstimate, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def latency_s(self) -> float:
        return sum(layer.time_s for layer in self.layers)

    @property
    def throughput(self) -> float:
        """Samples per second."""
        return self.batch / self.latency_s

    @property
    def flops(self) -> float:
        return sum(layer.flops for layer in self.layers)

    @property
    def macs(self) -> float:
        return sum(layer.macs for layer in self.layers)

    @property
    def bytes(self) -> float:
        return sum(layer.bytes for layer in self.layers)

    @property
    def achieved(self) -> float:
        return self.flops / self.latency_s

    @property
    def mfu(self) -> float:
        """Model FLOPs utilization: achieved FLOP/s over the device's matrix peak at this precision."""
        return self.achieved / self.roof.matrix_peak

    @property
    def compute_bound_share(self) -> float:
        """Share of the latency spent in compute-bound layers."""
        return sum(layer.time_s for layer in self.layers if layer.bound == "compute") / self.latency_s

    def to_dict(self) -> dict:
        return {
            "model": self.model, "device": self.device, "precision": self.precision, "batch": self.batch,
            "latency_s": self.latency_s, "throughput_per_s": self.throughput, "flops": self.flops, "macs": self.macs,
            "bytes": self.bytes, "achieved_per_s": self.achieved, "mfu": self.mfu,
            "matrix_peak": self.roof.matrix_peak, "vector_peak": self.roof.vector_peak,
            "vector_precision": self.roof.vector_precision, "bandwidth_byte_per_s": self.roof.bandwidth,
            "ridge_point_flop_per_byte": self.roof.ridge_point,
            "efficiency": {"compute": self.roof.efficiency.compute, "memory": self.roof.efficiency.memory,
                           "overhead_s": self.roof.efficiency.overhead_s},
            "calibration": None if self.roof.calibration is None else dict(self.roof.calibration.fitted),
            "notes": list(self.notes),
            "layers": [layer.__dict__ for layer in self.layers],
        }


ENGINE_NAMES = {0: MATRIX, 1: VECTOR, 2: "memory"}


def estimate(model: Model, hardware: Hardware, precision: str = "fp32", batch: int = 1, efficiency: EfficiencySpec = None,
             calibrated: bool | None = None) -> Estimate:
    """Predict `model` on `hardware` at `precision` and `batch`.

    `calibrated` (see `Roof.of`): by default the device's calibration is used where it has one and no
    `efficiency` is given; ``False`` gives the pure roofline.

    Raises:
        PeakUnavailable: the device lacks the precision's matrix peak (or the catalog has no figure).
        FigureUnavailable: the catalog has no memory bandwidth for the device.
        ValueError: a bad precision, batch size or efficiency.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch!r}")
    roof = Roof.of(hardware, precision, efficiency, calibrated)
    arrays = LayerArrays.of(model)
    if np.isnan(roof.matrix_peak) and np.any(arrays.engines == 0):
        hardware.peak(precision)  # raises the PeakUnavailable with its reason
    if np.isnan(roof.bandwidth):
        raise FigureUnavailable(f"{hardware.name}: memory bandwidth unknown (no public source gives it), so there is no memory roof")
    result = roofline_arrays(arrays, [[roof]], [batch])
    time, compute, memory = result.time[0, 0, 0], result.compute_time[0, 0, 0], result.memory_time[0, 0, 0]
    total = float(time.sum())
    intensity, achieved, utilization = result.intensity[0, 0, 0], result.achieved[0, 0, 0], result.utilization[0, 0, 0]
    flops, traffic = result.flops[0, 0, 0], result.bytes[0, 0, 0]
    layers = tuple(
        LayerEstimate(
            name=arrays.names[i], op=arrays.ops[i], engine=ENGINE_NAMES[int(arrays.engines[i])], params=int(arrays.params[i]),
            macs=float(arrays.macs[i] * batch), flops=float(flops[i]), bytes=float(traffic[i]), intensity=float(intensity[i]),
            compute_time_s=float(compute[i]), memory_time_s=float(memory[i]), time_s=float(time[i]),
            bound="none" if time[i] == 0 else ("compute" if compute[i] >= memory[i] else "memory"),
            achieved=float(achieved[i]), utilization=float(utilization[i]), share=float(time[i] / total) if total else 0.0,
        )
        for i in range(len(arrays.names))
    )
    notes = list(model.notes)
    if roof.vector_precision is None:
        notes.append(f"{hardware.name} has no vector-unit figure: elementwise layers are costed by memory traffic only")
    elif roof.vector_precision != precision:
        notes.append(f"no {precision.upper()} vector figure: elementwise layers use the FP32 vector rate")
    return Estimate(model.name, hardware.name, precision, batch, roof, layers, tuple(notes))


# -- sweeps ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sweep:
    """Totals of models x devices x precisions x batch sizes, from one vectorised roofline pass."""

    models: tuple[str, ...]
    devices: tuple[str, ...]
    precisions: tuple[str, ...]
    batches: tuple[int, ...]
    latency_s: np.ndarray  # (models, devices, precisions, batches); NaN where a figure is unknown
    flops: np.ndarray  # (models, 1, 1, batches)
    layer_evaluations: int

    @property
    def throughput(self) -> np.ndarray:
        return np.asarray(self.batches, dtype=np.float64)[None, None, None, :] / self.latency_s


def sweep(models: Sequence[Model], hardware: Sequence[Hardware], batches: Sequence[int], precisions: Sequence[str],
          efficiency: EfficiencySpec = None, calibrated: bool | None = None) -> Sweep:
    """Every model on every device at every precision and batch size, in one pass over all layers
    (calibrated devices at their measured efficiencies unless ``calibrated=False``)."""
    arrays = LayerArrays.of(models)
    roofs = [[Roof.of(h, p, efficiency, calibrated) for p in precisions] for h in hardware]
    result = roofline_arrays(arrays, roofs, batches)
    starts = np.cumsum([0] + [len(m.layers) for m in models[:-1]])
    latency = np.add.reduceat(result.time, starts, axis=3)  # (D, P, B, M)
    flops = np.add.reduceat(result.flops, starts, axis=3)
    return Sweep(
        models=tuple(m.name for m in models), devices=tuple(h.name for h in hardware), precisions=tuple(precisions),
        batches=tuple(batches), latency_s=np.moveaxis(latency, 3, 0), flops=np.moveaxis(flops, 3, 0),
        layer_evaluations=int(result.time.size),
    )
