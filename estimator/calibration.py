"""Calibrated efficiencies: what a device attains per op class, fitted from micro-benchmark timings only.

The pure roofline runs every layer at the peak and the DRAM bandwidth. A calibration replaces those
constants with what the device was measured to attain, with the runtime that will run the model
(`hwdb probe --runtime`), for work of the layer's kind and size:

* **matrix layers** (conv, linear, matmul) at ``peak x e(M, N, K)``, where a layer is the GEMM
  ``(M x K) @ (K x N)`` its kernel runs (`estimator.layers.LayerCost.gemm`: a convolution is
  Hout Wout x Cout/g x Cin/g Kh Kw). Small GEMMs cannot fill the vector registers or amortise their
  loads and stores, so ``e`` falls with each dimension. It is fitted as one curve per dimension,
  each timed with the other two at a reference shape, and combined as
  ``e = e_ref x (e_M(M) / e_ref) x (e_N(N) / e_ref) x (e_K(K) / e_ref)``. Convolutions get curves of
  their own where the runtime's convolution kernels differ from its matmul (onnxruntime's NCHWc
  kernels do), and a **depthwise** convolution (one filter per channel) its own efficiency;
* **vector layers** at ``vector peak x e_class``, a class per kind of kernel (`VECTOR_CLASSES`):
  plain elementwise work (adds, ReLU, batch norm), transcendental (sigmoid, SiLU, exp), erf-based
  GELU, reductions (softmax, pooling) and norms (layer and RMS norm);
* **transposes** at the measured transpose rate, a fraction of the bandwidth curve;
* **memory traffic** at the bandwidth attained for the layer's working set (its bytes): an
  elementwise add swept from L2-sized tensors to tensors far beyond the last-level cache,
  interpolated in log size. A layer whose bytes fit in cache moves them faster than DRAM allows, so
  this factor (a fraction of the device's DRAM bandwidth) exceeds 1 there;
* a fixed **overhead** per layer: the time a runtime spends on a kernel that does almost nothing.

Efficiencies are what the memory term does not explain: a timing that the bandwidth curve accounts
for entirely is memory bound and gives efficiency 1, so compute and memory time are never counted
twice. No model latency is used in a fit: the timings are micro-benchmarks (`hwdb probe`), so a
model's predicted-vs-measured error (bench/accuracy.py) tests the calibration rather than tunes it.
"""

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from estimator.units import FLOPS_PER_MAC

STREAM_KERNELS: dict[str, tuple[int, int, int]] = {
    # kernel: (arrays touched, elements moved per iteration (read + written), FLOPs per iteration)
    "copy": (2, 2, 0),  # a = b
    "scale": (2, 2, 1),  # a = q b
    "add": (3, 3, 1),  # a = b + c
    "triad": (3, 3, 2),  # a = b + q c
    "sum": (1, 1, 1),  # s += a  (a reduction: reads only)
    "mul": (3, 3, 1),  # a = b c, on cache-resident arrays: the elementwise compute rate
    "softmax": (2, 2, 5),  # a = softmax(b) over rows: a reduction (5 FLOPs per element, `estimator.layers.softmax`)
    "sigmoid": (2, 2, 4),  # a = 1 / (1 + exp(-b)): transcendental elementwise work (4 FLOPs per element)
    "gelu": (2, 2, 5),  # a = gelu(b), erf-based (5 FLOPs per element, `estimator.layers.ACTIVATION_FLOPS`)
    "layer_norm": (2, 2, 8),  # a = layer_norm(b) over rows (8 FLOPs per element, `estimator.layers.layer_norm`)
    "transpose": (2, 2, 0),  # a = b transposed (a copy in another order)
}
"""STREAM's bytes convention (McCalpin): bytes counted = elements read + elements written, times the
element size: copy and scale 16 B, add and triad 24 B per float64 iteration. The write-allocate read
a cache does before it writes a line is not counted, as STREAM does not count it."""

VECTOR_CLASSES: dict[str, str] = {
    **dict.fromkeys(("softmax", "max_pool", "avg_pool", "reduce_sum", "reduce_mean", "reducemean", "reducesum", "reducemax",
                     "reducemin", "reduceprod", "reducel2", "reducesumsquare", "argmax", "argmin"), "reduction"),
    **dict.fromkeys(("layer_norm", "rms_norm"), "norm"),
    **dict.fromkeys(("gelu", "gelu_tanh", "erf"), "gelu"),
    **dict.fromkeys(("sigmoid", "tanh", "silu", "exp", "log", "softplus", "mish", "elu", "selu", "sin", "cos"), "transcendental"),
}
"""The calibration class of each vector op; any other (adds, multiplies, ReLU, batch norm) is "elementwise".
Classes are timed apart because runtimes' kernels for them differ by an order of magnitude per element:
a sigmoid or an erf-based GELU costs far more instructions than an add, a layer norm is a reduction
over rows followed by a normalisation, a softmax a reduction."""
VECTOR_KERNELS = {"elementwise": "mul", "transcendental": "sigmoid", "gelu": "gelu", "reduction": "softmax", "norm": "layer_norm"}
"""The micro-benchmark (`STREAM_KERNELS`) each class is fitted from."""


def vector_class(op: str) -> str:
    """The calibration class of a vector op (`VECTOR_CLASSES`); a fused layer's class is its head's."""
    return VECTOR_CLASSES.get(op.split("+")[0], "elementwise")


def matmul_flops(m: int, n: int, k: int) -> int:
    """FLOPs of one ``(m x k) @ (k x n)`` product: 2 per multiply-accumulate.

    >>> matmul_flops(2, 3, 4)
    48
    """
    return FLOPS_PER_MAC * m * n * k


def stream_bytes(kernel: str, elements: int, itemsize: int) -> int:
    """Bytes STREAM counts for one pass of `kernel` over arrays of `elements` (read + written).

    >>> stream_bytes("triad", 1000, 8)   # 24 bytes per float64 iteration
    24000
    >>> stream_bytes("copy", 1000, 4)
    8000
    """
    return STREAM_KERNELS[kernel][1] * elements * itemsize


@dataclass(frozen=True)
class MatmulTiming:
    """One matmul shape timed: ``(m x k) @ (k x n)`` in `precision` (fp64 | fp32), best and median seconds."""

    precision: str
    m: int
    n: int
    k: int
    best_s: float
    median_s: float
    groups: int = 1  # independent products of this shape (a depthwise convolution: one per channel)
    kind: str = "matmul"  # the kernel that ran it: matmul, or conv (a runtime's convolution kernels)
    input_elements: int | None = None  # what a convolution reads of its input, where that is not M x K (im2col)

    @property
    def flops(self) -> int:
        return matmul_flops(self.m, self.n, self.k) * self.groups

    def bytes(self, itemsize: int) -> int:
        """Operands in and result out, once each (the least traffic the product needs)."""
        reads = self.m * self.k * self.groups if self.input_elements is None else self.input_elements
        return (reads + (self.k * self.n + self.m * self.n) * self.groups) * itemsize

    @property
    def best_rate(self) -> float:
        return self.flops / self.best_s

    @property
    def typical_rate(self) -> float:
        return self.flops / self.median_s


@dataclass(frozen=True)
class StreamTiming:
    """One STREAM-style kernel timed over arrays of `elements` (all threads together), best and median seconds."""

    kernel: str
    elements: int
    itemsize: int
    best_s: float
    median_s: float
    threads: int = 1

    @property
    def bytes(self) -> int:
        return stream_bytes(self.kernel, self.elements, self.itemsize)

    @property
    def working_set(self) -> int:
        """Bytes of every array the kernel touches: what must fit in a cache for it to run from there."""
        return STREAM_KERNELS[self.kernel][0] * self.elements * self.itemsize

    @property
    def flops(self) -> int:
        return STREAM_KERNELS[self.kernel][2] * self.elements

    @property
    def best_bandwidth(self) -> float:
        return self.bytes / self.best_s

    @property
    def typical_bandwidth(self) -> float:
        return self.bytes / self.median_s


@dataclass(frozen=True)
class Curve:
    """y against x, interpolated linearly in log x between measured points and held flat beyond them."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a curve needs at least one point")
        if any(x <= 0 or not y > 0 for x, y in self.points):
            raise ValueError(f"curve points must have x > 0 and y > 0: {self.points}")
        if list(self.points) != sorted(self.points):
            raise ValueError("curve points must be sorted by x")

    def __call__(self, x):
        import numpy as np

        xs = np.log([p[0] for p in self.points])
        ys = np.array([p[1] for p in self.points])
        return np.interp(np.log(np.maximum(np.asarray(x, dtype=np.float64), 1e-300)), xs, ys)

    def to_list(self) -> list[list[float]]:
        return [[x, y] for x, y in self.points]

    @classmethod
    def from_list(cls, data: Iterable[Sequence[float]]) -> "Curve":
        return cls(tuple((float(x), float(y)) for x, y in data))


@dataclass(frozen=True)
class GemmFit:
    """Efficiency of a GEMM against its M, N and K, one curve each through the reference shape's efficiency."""

    reference: tuple[int, int, int]
    efficiency: float  # at the reference shape
    m: Curve
    n: Curve
    k: Curve

    def __call__(self, m, n, k):
        import numpy as np

        e = self.efficiency
        return np.clip(e * (self.m(m) / e) * (self.n(n) / e) * (self.k(k) / e), 1e-6, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": list(self.reference), "efficiency": self.efficiency, "m": self.m.to_list(), "n": self.n.to_list(), "k": self.k.to_list()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GemmFit":
        m, n, k = (int(v) for v in data["reference"])
        return cls((m, n, k), float(data["efficiency"]), Curve.from_list(data["m"]), Curve.from_list(data["n"]), Curve.from_list(data["k"]))


@dataclass(frozen=True)
class Calibration:
    """Fitted efficiencies of one device (module docstring), relative to its peak and its DRAM bandwidth."""

    gemm: Mapping[str, GemmFit]  # precision -> matrix efficiency against M, N, K (linear layers, matmuls)
    depthwise: Mapping[str, float]  # precision -> efficiency of depthwise convolutions (absent: the GEMM curves)
    vector: Mapping[str, Curve]  # vector class (`VECTOR_CLASSES`) -> fraction of the vector peak against the layer's bytes
    bandwidth: Curve  # working-set bytes -> attained bandwidth / the device's DRAM bandwidth
    overhead_s: float  # fixed time per layer
    fitted: Mapping[str, Any] = field(default_factory=dict)  # when, on what, with which runtime
    conv: Mapping[str, GemmFit] = field(default_factory=dict)  # precision -> convolutions, where their kernels differ (absent: gemm)
    transpose: Curve | None = None  # transposes' bandwidth as a fraction of the bandwidth curve, against their bytes

    def __post_init__(self) -> None:
        if self.overhead_s < 0:
            raise ValueError(f"overhead must be >= 0 s, got {self.overhead_s}")
        values = [*self.depthwise.items(), *((name, y) for name, c in self.vector.items() for _, y in c.points)]
        for name, value in values:
            if not 0 < value <= 1:
                raise ValueError(f"{name} efficiency must be in (0, 1], got {value}")
        if "elementwise" not in self.vector:
            raise ValueError("a calibration needs the elementwise efficiency")

    # -- applying it ----------------------------------------------------------------------------
    def matrix_efficiency(self, precision: str, m, n, k, depthwise=False, conv=False):
        """Efficiency of GEMMs ``(m x k) @ (k x n)`` (arrays broadcast; `conv` marks convolutions and
        `depthwise` depthwise ones); 1 where the precision was not calibrated."""
        import numpy as np

        fit = self.gemm.get(precision)
        if fit is None:
            return np.ones(np.broadcast(np.asarray(m), np.asarray(n), np.asarray(k)).shape)
        e = fit(m, n, k)
        if precision in self.conv:
            e = np.where(conv, self.conv[precision](m, n, k), e)
        if precision in self.depthwise:
            e = np.where(depthwise, self.depthwise[precision], e)
        return e

    def vector_efficiency(self, ops: Sequence[str], traffic):
        """Efficiency (B, L) of vector layers `ops` moving `traffic` bytes (B, L); the class's curve, else elementwise's."""
        import numpy as np

        traffic = np.asarray(traffic, dtype=np.float64)
        out = np.ones_like(traffic)
        classes = np.array([vector_class(op) for op in ops])
        for name in set(classes.tolist()):  # one curve evaluation per class, over all its layers at once
            columns = classes == name
            out[..., columns] = self.vector.get(name, self.vector["elementwise"])(traffic[..., columns])
        return out

    def copy_factor(self, ops: Sequence[str], traffic):
        """Multiplier (B, L) on the memory factor of data-movement layers: transposes run at the measured
        transpose rate (a fraction of the bandwidth curve), other copies at the curve."""
        import numpy as np

        traffic = np.asarray(traffic, dtype=np.float64)
        out = np.ones_like(traffic)
        columns = np.array([op == "transpose" for op in ops], dtype=bool)
        if self.transpose is not None and columns.any():
            out[..., columns] = self.transpose(traffic[..., columns])
        return out

    def memory_factor(self, working_set_bytes):
        """Attained bandwidth for a working set of this many bytes, as a multiple of the DRAM bandwidth."""
        return self.bandwidth(working_set_bytes)

    def summary(self, precision: str) -> dict[str, float]:
        """Scalars for kernels costed without shapes (the LLM path): the reference GEMM's efficiency, the
        DRAM-sized bandwidth (capped at 1), the overhead."""
        fit = self.gemm.get(precision)
        return {"compute": fit.efficiency if fit else 1.0, "memory": min(1.0, float(self.bandwidth.points[-1][1])),
                "overhead_s": self.overhead_s}

    # -- serialisation ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"gemm": {p: f.to_dict() for p, f in self.gemm.items()}, "conv": {p: f.to_dict() for p, f in self.conv.items()},
                "depthwise": dict(self.depthwise), "vector": {k: c.to_list() for k, c in self.vector.items()},
                "transpose": self.transpose.to_list() if self.transpose else None,
                "bandwidth": self.bandwidth.to_list(), "overhead_s": self.overhead_s, "fitted": dict(self.fitted)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Calibration":
        """Raises ValueError (or KeyError, TypeError) for a malformed table."""
        return cls(
            gemm={p: GemmFit.from_dict(f) for p, f in data["gemm"].items()},
            depthwise={p: float(v) for p, v in data.get("depthwise", {}).items()},
            vector={k: Curve.from_list(v) for k, v in data["vector"].items()},
            bandwidth=Curve.from_list(data["bandwidth"]), overhead_s=float(data["overhead_s"]), fitted=dict(data.get("fitted", {})),
            conv={p: GemmFit.from_dict(f) for p, f in data.get("conv", {}).items()},
            transpose=Curve.from_list(data["transpose"]) if data.get("transpose") else None,
        )


# -- fitting --------------------------------------------------------------------------------------------
ITEMSIZE = {"fp64": 8, "fp32": 4}


def _monotone(points: Sequence[tuple[float, float]]) -> Curve:
    """The running maximum of (x, efficiency) points in increasing x: a larger GEMM dimension never
    amortises its loads and stores worse (where a large operand spills a cache, the bandwidth curve
    charges for it), so a dip is a timing hiccup on a shared machine, not a property of the kernel."""
    best, out = 0.0, []
    for x, y in points:
        best = max(best, y)
        out.append((x, best))
    return Curve(tuple(out))


EXPLAINED = 1.2
"""A timing within 20% of its memory time is memory bound: timings on a shared machine vary that much."""


def _unexplained(seconds: float, overhead_s: float, memory_s: float) -> float | None:
    """The compute time a timing shows beyond its overhead, or None when its memory time accounts for it."""
    work = max(seconds - overhead_s, seconds * 0.05)
    return None if work <= memory_s * EXPLAINED else work


def fit(gemms: Sequence[MatmulTiming], streams: Sequence[StreamTiming], *, peaks: Mapping[str, float], vector_peak: float,
        bandwidth: float, overhead_s: float, reference: tuple[int, int, int], fitted: Mapping[str, Any] | None = None) -> Calibration:
    """Fit a `Calibration` from micro-benchmark timings.

    Args:
        gemms: per precision and kernel kind (matmul, conv), the `reference` shape and shapes that
            differ from it in one dimension (the M, N and K curves); depthwise timings have
            ``groups > 1`` and ``n = 1``. The matmul timings are required, the conv ones optional.
        streams: ``add`` timings over a sweep of sizes (the bandwidth curve: a pass that reads two
            tensors and writes one, as an elementwise layer does), cache-resident timings of each
            vector class's kernel (`VECTOR_KERNELS`; ``mul`` is required), and ``transpose``.
        peaks: the device's matrix peak per precision (FLOP/s) the efficiencies are fractions of.
        vector_peak: the vector peak (FLOP/s) elementwise efficiencies are fractions of.
        bandwidth: the device's DRAM bandwidth (byte/s) the bandwidth curve is a multiple of.
        overhead_s: the time of a near-empty kernel.

    Each timing's best time, less the overhead, is split into what the bandwidth curve explains and
    the rest (module docstring).
    """
    sweep = sorted((t for t in streams if t.kernel == "add"), key=lambda t: t.working_set)
    if not sweep:
        raise ValueError("no add timings: the bandwidth curve needs them")
    points: dict[float, float] = {}
    for t in sweep:
        attained = t.bytes / max(t.best_s - overhead_s, t.best_s * 0.05)
        points[float(t.working_set)] = max(points.get(float(t.working_set), 0.0), attained / bandwidth)
    curve = Curve(tuple(sorted(points.items())))

    def efficiency(flops: float, seconds: float, traffic: float, peak: float, memory_bound: float | None = 1.0) -> float | None:
        """The compute efficiency a timing shows; `memory_bound` where its memory time explains it."""
        compute = _unexplained(seconds, overhead_s, traffic / (bandwidth * float(curve(traffic))))
        return memory_bound if compute is None else min(1.0, max(flops / (peak * compute), 1e-6))

    def gemm_fit(runs: Sequence[MatmulTiming], precision: str) -> GemmFit | None:
        peak, size = peaks[precision], ITEMSIZE.get(precision, 4)

        def eff(t: MatmulTiming) -> float | None:
            # A memory-bound timing says nothing of the kernel's compute efficiency: it joins no curve.
            return efficiency(t.flops, t.best_s, t.bytes(size), peak, memory_bound=None)

        ref = [eff(t) for t in runs if (t.m, t.n, t.k) == tuple(reference)]
        if not ref:
            return None
        e_ref = max((e for e in ref if e is not None), default=1.0)
        curves = []
        for axis in range(3):
            others = [i for i in range(3) if i != axis]
            along = {reference[axis]: e_ref}
            for t in runs:
                shape = (t.m, t.n, t.k)
                e = eff(t)
                if e is not None and shape != tuple(reference) and all(shape[i] == reference[i] for i in others):
                    along[shape[axis]] = max(along.get(shape[axis], 0.0), e)
            curves.append(_monotone(sorted((float(x), y) for x, y in along.items())))
        return GemmFit(tuple(reference), e_ref, *curves)

    gemm, conv, depthwise = {}, {}, {}
    for precision in dict.fromkeys(t.precision for t in gemms):
        runs = [t for t in gemms if t.precision == precision]
        for kind, table in (("matmul", gemm), ("conv", conv)):
            found = gemm_fit([t for t in runs if t.groups == 1 and t.kind == kind], precision)
            if found is not None:
                table[precision] = found
        if precision not in gemm:
            raise ValueError(f"{precision}: the reference matmul {reference} was not timed")
        dw = [efficiency(t.flops, t.best_s, t.bytes(ITEMSIZE.get(precision, 4)), peaks[precision]) for t in runs if t.groups > 1]
        if dw:
            depthwise[precision] = max(dw)
    def by_size(runs: Sequence[StreamTiming], value) -> Curve:
        points: dict[float, float] = {}
        for t in runs:
            points[float(t.bytes)] = max(points.get(float(t.bytes), 0.0), value(t))
        return Curve(tuple(sorted(points.items())))

    vector = {}
    for name, kernel in VECTOR_KERNELS.items():
        runs = [t for t in streams if t.kernel == kernel or (name == "reduction" and t.kernel == "sum")]
        if runs:
            vector[name] = by_size(runs, lambda t: efficiency(t.flops, t.best_s, t.bytes, vector_peak))
    if "elementwise" not in vector:
        raise ValueError("no mul timings: the elementwise efficiency needs them")
    transposes = [t for t in streams if t.kernel == "transpose"]
    transpose = by_size(transposes, lambda t: max(1e-6, min(1.0, (t.bytes / max(t.best_s - overhead_s, t.best_s * 0.05))
                                                         / (bandwidth * float(curve(t.bytes)))))) if transposes else None
    return Calibration(gemm=gemm, depthwise=depthwise, vector=vector, bandwidth=curve, overhead_s=overhead_s, fitted=dict(fitted or {}),
                       conv=conv, transpose=transpose)

