"""`hwdb probe`: measure this machine, derive its theoretical peak, fit a calibration, save it as a device.

What is measured (numpy, on the CPU):

* **matmul FLOP/s** per dtype (float64, float32), MAMF-style: a sweep of square shapes gives the best
  and the typical (median over shapes of each shape's best) rate; shapes with one small dimension
  give the calibration's small-GEMM curves. FLOPs per matmul = 2 m n k (`estimator.calibration`).
* **memory bandwidth**, STREAM-style (McCalpin): copy, scale, add and triad over arrays far larger
  than the last-level cache, on every core (a thread per core, each on its slice), counting bytes
  read plus written (16 or 24 B per float64 iteration); add (a = b + c) again over a sweep of sizes
  from L2-resident to DRAM (the cache-resident bandwidth and the calibration's bandwidth curve).
* **elementwise and reduction rates** (float32 multiply and sum) on cache-resident arrays, and the
  time of a near-empty call.

The theoretical peak is cores x clock x FLOPs per clock per core, the last from the catalog's
architecture table (data/architectures/cpu.toml, sourced) once the CPU's family and model identify
its microarchitecture; the SIMD features (AVX2, AVX-512, AMX, NEON, SVE) come from the OS. Where the
OS under-reports the clock (a hypervisor shows its nominal frequency; turbo runs above it), measured
/ theoretical exceeds 1 and the report says what clock the measurement implies.

Saved (`--save`), the machine becomes a catalog device of kind cpu: its peaks are the best measured
matmul rates (origin ``measured``: an empirical roofline, with the theoretical derivation kept beside
them), its memory bandwidth the best DRAM triad, and it carries the fitted calibration and the probe's
record (date, settings, figures), as one revision with origin ``measured``.
"""

import os
import platform
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from statistics import median
from typing import Any, Callable, Mapping

from estimator.calibration import Calibration, MatmulTiming, StreamTiming, fit
from estimator.units import format_rate, format_si
from hwdb.errors import HwdbError

Progress = Callable[[str, int, int], None]
"""Called as progress(step description, steps done, steps in all)."""

# -- the machine ----------------------------------------------------------------------------------------
AMD_ZEN = [  # (family, first model, last model, catalog architecture or None where the catalog has none)
    # Linux's bsp_init_amd, "Figure out Zen generations": https://github.com/torvalds/linux/blob/master/arch/x86/kernel/cpu/amd.c
    (0x17, 0x30, 0x4F, "amd-zen2"), (0x17, 0x60, 0x7F, "amd-zen2"), (0x17, 0x90, 0x91, "amd-zen2"), (0x17, 0xA0, 0xAF, "amd-zen2"),
    (0x19, 0x00, 0x0F, None), (0x19, 0x20, 0x5F, None),  # Zen 3: no stored page gives its FMA rate
    (0x19, 0x10, 0x1F, "amd-zen4"), (0x19, 0x60, 0xAF, "amd-zen4"),
    (0x1A, 0x00, 0x0F, "amd-zen5"), (0x1A, 0x20, 0x2F, "amd-zen5"), (0x1A, 0x40, 0x4F, "amd-zen5"), (0x1A, 0x70, 0x7F, "amd-zen5"),
]
INTEL_FAMILY_6 = {  # https://github.com/torvalds/linux/blob/master/arch/x86/include/asm/intel-family.h
    0x6A: "intel-ice-lake-sp", 0x6C: "intel-ice-lake-sp",  # ICELAKE_X, ICELAKE_D
    0x8F: "intel-sapphire-rapids",  # SAPPHIRERAPIDS_X
    0xCF: "intel-emerald-rapids",  # EMERALDRAPIDS_X
}
ISA_FLAGS = [  # (flag in /proc/cpuinfo, what it is)
    ("sse2", "SSE2"), ("avx", "AVX"), ("avx2", "AVX2"), ("fma", "FMA3"), ("avx512f", "AVX-512F"), ("avx512bw", "AVX-512BW"),
    ("avx512_vnni", "AVX-512 VNNI"), ("avx512_bf16", "AVX-512 BF16"), ("avx512_fp16", "AVX-512 FP16"), ("amx_tile", "AMX"),
    ("amx_bf16", "AMX-BF16"), ("amx_int8", "AMX-INT8"), ("amx_fp16", "AMX-FP16"),
    ("asimd", "NEON"), ("asimdhp", "NEON FP16"), ("sve", "SVE"), ("sve2", "SVE2"), ("bf16", "BF16"), ("i8mm", "I8MM"), ("sme", "SME"),
]


@dataclass(frozen=True)
class CpuInfo:
    """What the OS says about this machine's processor (None where it does not say)."""

    model: str
    vendor: str
    family: int | None
    model_number: int | None
    cores: int  # physical cores this process may run on
    threads: int  # logical CPUs this process may run on
    clock_hz: float | None
    clock_source: str
    flags: tuple[str, ...] = ()
    l2_bytes: int | None = None  # all cores together
    l3_bytes: int | None = None  # all caches together
    memory_bytes: int | None = None
    hostname: str = ""
    system: str = ""

    @property
    def isa(self) -> list[str]:
        present = set(self.flags)
        return [label for flag, label in ISA_FLAGS if flag in present]

    @property
    def architecture(self) -> str | None:
        """The catalog architecture (data/architectures/cpu.toml) of this CPU's family and model, if listed."""
        if self.family is None or self.model_number is None:
            return None
        if self.vendor == "AMD":
            return next((arch for fam, lo, hi, arch in AMD_ZEN if fam == self.family and lo <= self.model_number <= hi), None)
        if self.vendor == "Intel" and self.family == 6:
            return INTEL_FAMILY_6.get(self.model_number)
        return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _cache_bytes(level: int, cpus: set[int]) -> int | None:
    """Total bytes of the level-`level` data/unified caches serving `cpus`, from sysfs (each shared cache once)."""
    seen, total = set(), 0
    for cpu in sorted(cpus):
        base = Path(f"/sys/devices/system/cpu/cpu{cpu}/cache")
        if not base.is_dir():
            return None
        for index in base.glob("index*"):
            if (_read(str(index / "level")) or "").strip() != str(level) or (_read(str(index / "type")) or "").strip() == "Instruction":
                continue
            shared = (_read(str(index / "shared_cpu_list")) or str(cpu)).strip()
            if shared in seen:
                continue
            seen.add(shared)
            size = (_read(str(index / "size")) or "").strip()
            match = re.fullmatch(r"(\d+)([KMG]?)", size)
            if match:
                total += int(match.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2)]
    return total or None


def read_cpu(clock_hz: float | None = None) -> CpuInfo:
    """This machine's CPU as the OS describes it (Linux /proc and /sys; elsewhere what `platform` knows).

    `clock_hz`, when given, is used as the clock (the user knows the sustained all-core frequency).
    """
    cpus = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    text = _read("/proc/cpuinfo") or ""
    blocks = [dict(re.findall(r"^([^\t:\n]+?)\s*:\s*(.*)$", block, flags=re.M)) for block in text.split("\n\n") if block.strip()]
    blocks = [b for b in blocks if "processor" in b and int(b["processor"]) in cpus] or blocks
    first = blocks[0] if blocks else {}
    vendor_id = first.get("vendor_id", "")
    vendor = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}.get(vendor_id, "Arm" if "CPU implementer" in first else vendor_id or platform.machine())
    model = first.get("model name") or first.get("Model") or platform.processor() or platform.machine() or "unknown CPU"
    cores_seen = {(b.get("physical id", "0"), b.get("core id", b.get("processor"))) for b in blocks}
    siblings = len(blocks) / max(1, len(cores_seen)) if blocks else 1
    cores = len(cores_seen) if blocks and "core id" in first else max(1, round(len(cpus) / max(1, siblings)))
    source = "given with --clock"
    if clock_hz is None:
        khz = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
        if khz and khz.strip().isdigit():
            clock_hz, source = int(khz) * 1e3, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq (the maximum boost the OS allows)"
        else:
            mhz = [float(b["cpu MHz"]) for b in blocks if "cpu MHz" in b]
            if mhz:
                clock_hz, source = max(mhz) * 1e6, "/proc/cpuinfo 'cpu MHz' (the frequency the OS reports; under a hypervisor its nominal clock)"
            else:
                source = "unknown: the OS reports no clock (give --clock)"
    meminfo = re.search(r"^MemTotal:\s+(\d+) kB", _read("/proc/meminfo") or "", flags=re.M)
    flags = tuple(sorted(set((first.get("flags") or first.get("Features") or "").split())))

    def number(key: str) -> int | None:
        value = first.get(key)
        try:
            return int(value, 0) if value is not None else None
        except ValueError:
            return None

    return CpuInfo(
        model=" ".join(model.split()), vendor=vendor, family=number("cpu family"), model_number=number("model"),
        cores=max(1, cores), threads=len(cpus), clock_hz=clock_hz, clock_source=source, flags=flags,
        l2_bytes=_cache_bytes(2, cpus), l3_bytes=_cache_bytes(3, cpus),
        memory_bytes=int(meminfo.group(1)) * 1024 if meminfo else None,
        hostname=socket.gethostname(), system=f"{platform.system()} {platform.release()}",
    )


# -- timing ---------------------------------------------------------------------------------------------
def _time(run: Callable[[], None], *, repeats: int, min_seconds: float) -> tuple[float, float]:
    """(best, median) seconds of `run` after one warm-up call: at least `repeats` calls and `min_seconds` in all."""
    run()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < min_seconds and len(times) < 1000):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times), median(times)


@dataclass(frozen=True)
class Settings:
    """How hard the probe looks: the default takes under a minute, ``quick`` under ten seconds."""

    quick: bool = False
    threads: int = 1  # stream threads (one per physical core)
    runtime: str = "numpy"  # what the calibration's micro-benchmarks run on: numpy | onnxruntime
    squares: tuple[int, ...] = (256, 512, 1000, 2000, 3000, 4000)  # MAMF sweep
    reference: tuple[int, int, int] = (784, 256, 256)  # the calibration GEMM (M, N, K) the curves pass through
    m_sizes: tuple[int, ...] = (1, 16, 49, 64, 128, 196, 256, 512, 1024, 3136, 12544)  # rows (a convolution's output pixels)
    n_sizes: tuple[int, ...] = (8, 16, 32, 64, 128, 512, 1024)
    k_sizes: tuple[int, ...] = (8, 16, 32, 64, 128, 512, 1152, 2304)
    dram_bytes: int = 256 * 2**20  # each STREAM array at least this (and 4x the last-level cache)
    sweep_bytes: tuple[int, ...] = (2**20, 4 * 2**20, 16 * 2**20, 64 * 2**20)  # add working sets below DRAM size
    vector_elements: tuple[int, ...] = (32768, 262144)  # sizes the vector classes are timed at (a 128 x 256 activation, a 1 MB one)
    passes: int = 2  # the calibration's micro-benchmarks run this many times; each keeps its best
    repeats: int = 3
    min_seconds: float = 0.05

    @classmethod
    def for_machine(cls, cpu: CpuInfo, quick: bool = False, threads: int | None = None, runtime: str = "numpy") -> "Settings":
        llc = cpu.l3_bytes or cpu.l2_bytes or 32 * 2**20
        if quick:
            return cls(quick=True, threads=threads or cpu.cores, runtime=runtime, squares=(256, 512, 1000, 1500),
                       m_sizes=(1, 49, 128, 3136), n_sizes=(16, 64, 1024), k_sizes=(16, 64, 1152), dram_bytes=max(64 * 2**20, 2 * llc),
                       sweep_bytes=(2**20, 8 * 2**20), vector_elements=(65536,), passes=1, repeats=2, min_seconds=0.02)
        return cls(threads=threads or cpu.cores, runtime=runtime, dram_bytes=max(256 * 2**20, 4 * llc),
                   sweep_bytes=tuple(s for s in (2**20, 4 * 2**20, 16 * 2**20, 64 * 2**20) if s < 4 * llc) or (2**20,))

    def gemm_shapes(self) -> list[tuple[int, int, int]]:
        """The reference shape and the shapes that change one of its dimensions."""
        m, n, k = self.reference
        shapes = [self.reference] + [(x, n, k) for x in self.m_sizes] + [(m, x, k) for x in self.n_sizes] + [(m, n, x) for x in self.k_sizes]
        return list(dict.fromkeys(shapes))


# -- the measurements -------------------------------------------------------------------------------------
PRECISIONS = {"fp64": "float64", "fp32": "float32"}


def _matmul(np, precision: str, m: int, n: int, k: int, settings: Settings) -> MatmulTiming:
    dtype = PRECISIONS[precision]
    rng = np.random.default_rng(0)
    a, b = rng.random((m, k), dtype=dtype), rng.random((k, n), dtype=dtype)
    out = np.empty((m, n), dtype=dtype)
    best, typical = _time(lambda: np.matmul(a, b, out=out), repeats=settings.repeats, min_seconds=settings.min_seconds)
    return MatmulTiming(precision, m, n, k, best, typical)


class _Stream:
    """STREAM kernels over arrays split into one contiguous slice per thread."""

    CHUNK = 32768  # triad's temporary (q c) is computed in pieces of this many elements, so it stays in cache

    def __init__(self, np, elements: int, threads: int, pool: ThreadPoolExecutor, dtype: str = "float64") -> None:
        self.np, self.threads, self.pool = np, threads, pool
        self.a, self.b, self.c = (np.full(elements, value, dtype=dtype) for value in (1.0, 2.0, 0.5))
        bounds = [elements * i // threads for i in range(threads + 1)]
        self.slices = [slice(bounds[i], bounds[i + 1]) for i in range(threads)]
        self.tmp = [np.empty(min(self.CHUNK, max(1, s.stop - s.start)), dtype=dtype) for s in self.slices]

    def _one(self, kernel: str, index: int, passes: int) -> float:
        np, s = self.np, self.slices[index]
        a, b, c = self.a[s], self.b[s], self.c[s]
        total = 0.0
        for _ in range(passes):
            if kernel == "copy":
                np.copyto(c, a)
            elif kernel == "scale":
                np.multiply(c, 3.0, out=b)
            elif kernel in ("add", "mul"):
                (np.add if kernel == "add" else np.multiply)(a, b, out=c)
            elif kernel == "sum":
                total += float(a.sum())
            elif kernel == "sigmoid":  # c = 1 / (1 + exp(-a)), in place on c
                np.negative(a, out=c)
                np.exp(c, out=c)
                np.add(c, 1.0, out=c)
                np.reciprocal(c, out=c)
            elif kernel == "gelu":  # c = a / (1 + exp(-1.702 a)): numpy has no erf, so the sigmoid form of GELU
                np.multiply(a, -1.702, out=c)
                np.exp(c, out=c)
                np.add(c, 1.0, out=c)
                np.divide(a, c, out=c)
            elif kernel == "layer_norm":  # rows of 256: c = (a - mean) / sqrt(var + eps)
                rows = len(a) // 256
                x, y = a[: rows * 256].reshape(rows, 256), c[: rows * 256].reshape(rows, 256)
                np.subtract(x, x.mean(axis=1, keepdims=True), out=y)
                np.divide(y, np.sqrt((y * y).mean(axis=1, keepdims=True) + 1e-5), out=y)
            elif kernel == "transpose":  # attention's head split: (T, 8, 64) -> (8, T, 64)
                tokens = len(a) // 512
                n = tokens * 512
                np.copyto(c[:n].reshape(8, tokens, 64), a[:n].reshape(tokens, 8, 64).transpose(1, 0, 2))
            else:  # triad: a = b + q c
                tmp = self.tmp[index]
                for start in range(0, len(a), len(tmp)):
                    stop = min(len(a), start + len(tmp))
                    t = tmp[: stop - start]
                    np.multiply(c[start:stop], 3.0, out=t)
                    np.add(b[start:stop], t, out=a[start:stop])
        return total

    def time(self, kernel: str, passes: int, settings: Settings) -> tuple[float, float]:
        def run() -> None:
            for future in [self.pool.submit(self._one, kernel, i, passes) for i in range(self.threads)]:
                future.result()

        best, typical = _time(run, repeats=settings.repeats, min_seconds=settings.min_seconds)
        return best / passes, typical / passes


def _passes(kernel: str, elements: int, itemsize: int) -> int:
    """Passes per timed call so that one call lasts about 2 ms (dispatch then costs little of it)."""
    from estimator.calibration import STREAM_KERNELS

    return max(1, int(2e-3 * 20e9 / max(1, STREAM_KERNELS[kernel][1] * elements * itemsize)))


def _stream(np, kernel: str, elements: int, settings: Settings, pool: ThreadPoolExecutor, dtype: str = "float64") -> StreamTiming:
    """`kernel` over numpy arrays of `elements` each (all threads together)."""
    elements = max(settings.threads * 64, elements)
    itemsize = np.dtype(dtype).itemsize
    best, typical = _Stream(np, elements, settings.threads, pool, dtype).time(kernel, _passes(kernel, elements, itemsize), settings)
    return StreamTiming(kernel, elements, itemsize, best, typical, settings.threads)


def _call_overhead(np) -> float:
    """Seconds of a near-empty numpy call (median of many): the dispatch cost every layer pays."""
    a, b, c = np.ones(8), np.ones(8), np.empty(8)
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        np.add(a, b, out=c)
        times.append(time.perf_counter() - t)
    return median(times)


class NumpyRuntime:
    """Calibration micro-benchmarks on numpy: matmul (BLAS) shapes, elementwise ufuncs, a near-empty call."""

    name = "numpy"
    precisions = tuple(PRECISIONS)

    def __init__(self, np, settings: Settings, pool: ThreadPoolExecutor) -> None:
        self.np, self.settings, self.pool = np, settings, pool

    @property
    def version(self) -> str:
        return f"numpy {self.np.__version__}"

    kinds = ("matmul",)  # convolutions use the matmul curves

    def gemm(self, precision: str, m: int, n: int, k: int, kind: str = "matmul") -> MatmulTiming:
        return _matmul(self.np, precision, m, n, k, self.settings)

    def depthwise(self, precision: str) -> MatmulTiming | None:
        return None  # numpy has no depthwise convolution kernel: such layers use the GEMM curves

    def stream(self, kernel: str, elements: int) -> StreamTiming:
        if kernel == "softmax":
            kernel = "sum"
        dtype = "float64" if kernel == "add" else "float32"
        return _stream(self.np, kernel, elements, self.settings, self.pool, dtype)

    def overhead(self) -> float:
        return _call_overhead(self.np)

    def peak_candidates(self) -> list[tuple[str, float]]:
        return []


UNARY_CHAIN = ("Softmax", "Neg", "Sigmoid", "Gelu", "LayerNormalization", "Transpose")
"""Ops a chain feeds with their own previous output alone (the others take a second operand, `b`)."""


class OnnxRuntimeRuntime:
    """Calibration micro-benchmarks on onnxruntime's CPU kernels, one small graph each (the `onnx` extra):
    1x1 convolutions as the GEMMs (M output pixels x N filters x K input channels), a depthwise 3x3
    convolution, chains of Add, Mul, Sigmoid and Softmax nodes for the bandwidth and vector rates (the
    per-node time is the chain's time less one node's, so session overhead cancels), and a chain of
    1x1 convolutions on one pixel for the per-node overhead. Float32 only: onnxruntime's CPU
    convolutions have no float64 kernel."""

    precisions = ("fp32",)

    def __init__(self, settings: Settings) -> None:
        try:
            import onnx  # noqa: F401
            import onnxruntime
        except ImportError:
            raise HwdbError("--runtime onnxruntime needs onnx and onnxruntime: pip install 'hwdb[onnx]'") from None
        import numpy as np

        self.ort, self.np, self.settings = onnxruntime, np, settings
        self.name = "onnxruntime"
        self.empty_s = None
        self.edge_factor: dict[str, float] = {}

    @property
    def version(self) -> str:
        return f"onnxruntime {self.ort.__version__} (CPUExecutionProvider)"

    def _session(self, nodes, inputs, outputs, initializers=()):
        from onnx import TensorProto, helper

        graph = helper.make_graph(nodes, "probe", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                                  [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs], list(initializers))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        model.ir_version = 9
        options = self.ort.SessionOptions()
        return self.ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def _run(self, session, feeds) -> tuple[float, float]:
        return _time(lambda: session.run(None, feeds), repeats=self.settings.repeats, min_seconds=self.settings.min_seconds)

    def _empty(self) -> float:
        """Seconds of running a one-node graph on 8 elements: session overhead, taken off single-node timings."""
        if self.empty_s is None:
            from onnx import helper

            session = self._session([helper.make_node("Neg", ["x"], ["y"])], [("x", [8])], ["y"])
            self.empty_s = self._run(session, {"x": self.np.ones(8, dtype=self.np.float32)})[0]
        return self.empty_s

    def _conv(self, channels_in: int, channels_out: int, pixels: int, kernel: int = 1, groups: int = 1) -> tuple[float, float]:
        from onnx import helper, numpy_helper

        np = self.np
        side = int(round(pixels ** 0.5))
        h, w = (side, side) if side * side == pixels else (pixels, 1)
        weight = np.random.default_rng(0).standard_normal((channels_out, channels_in // groups, kernel, kernel)).astype(np.float32) * 0.05
        node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[kernel, kernel], pads=[kernel // 2] * 4, group=groups)
        session = self._session([node], [("x", [1, channels_in, h, w])], ["y"], [numpy_helper.from_array(weight, "w")])
        x = np.random.default_rng(1).random((1, channels_in, h, w), dtype=np.float32)
        best, typical = self._run(session, {"x": x})
        empty = self._empty()
        return max(best - empty, best * 0.05), max(typical - empty, typical * 0.05)

    kinds = ("matmul", "conv")  # MatMul runs MLAS's GEMM, Conv its NCHWc convolution kernels

    def gemm(self, precision: str, m: int, n: int, k: int, kind: str = "matmul") -> MatmulTiming:
        """Shapes on the M curve (N = K, the reference's) are timed inside chains; the others as one-node
        graphs, scaled by the reference's chained / one-node time (what the graph's edges added)."""
        ref_m, ref_n, ref_k = self.settings.reference
        chain, single = (self._per_conv, self._conv) if kind == "conv" else (self._per_matmul, self._matmul)
        if (n, k) == (ref_n, ref_k) and n == k:
            best, typical = chain(n, m)
        else:
            if kind not in self.edge_factor:
                self.edge_factor[kind] = min(1.0, chain(ref_n, ref_m)[0] / single(ref_k, ref_n, ref_m)[0])
            best, typical = (t * self.edge_factor[kind] for t in single(k, n, m))
        return MatmulTiming(precision, m, n, k, best, typical, kind=kind)

    def _matmul_graph(self, k: int, n: int, m: int, length: int):
        from onnx import helper, numpy_helper

        np = self.np
        weight = (np.random.default_rng(0).standard_normal((k, n)) / k ** 0.5).astype(np.float32)
        nodes, last = [], "x"
        for i in range(length):
            nodes.append(helper.make_node("MatMul", [last, "w"], [f"y{i}"]))
            last = f"y{i}"
        session = self._session(nodes, [("x", [m, k])], [last], [numpy_helper.from_array(weight, "w")])
        return session, {"x": np.random.default_rng(1).random((m, k), dtype=np.float32)}

    def _matmul(self, k: int, n: int, m: int) -> tuple[float, float]:
        best, typical = self._run(*self._matmul_graph(k, n, m, 1))
        empty = self._empty()
        return max(best - empty, best * 0.05), max(typical - empty, typical * 0.05)

    @staticmethod
    def _in_chain(timed: Callable[[int], tuple[float, float]], length: int = 4) -> tuple[float, float]:
        """(best, median) seconds of one node inside a chain: the chain of `length` less a one-node graph,
        per extra node, so session overhead and the layout reorders at the graph's edges cancel."""
        long, short = timed(length), timed(1)
        return tuple(max((a - b) / (length - 1), a / length * 0.05) for a, b in zip(long, short, strict=True))

    def _per_matmul(self, channels: int, m: int) -> tuple[float, float]:
        return self._in_chain(lambda length: self._run(*self._matmul_graph(channels, channels, m, length)))

    def depthwise(self, precision: str) -> MatmulTiming:
        channels, pixels = 144, 3136  # MobileNetV2's block 3 depthwise convolution
        best, typical = self._conv(channels, channels, pixels, kernel=3, groups=channels)
        return MatmulTiming(precision, pixels, 1, 9, best, typical, groups=channels, input_elements=pixels * channels)

    def _chain(self, op: str, elements: int, length: int) -> tuple[float, float]:
        from onnx import helper, numpy_helper

        np = self.np
        initializers, extra, attrs = [], [], {}
        if op in ("Softmax", "LayerNormalization"):
            width = 1024 if op == "Softmax" else 256
            shape = [max(1, elements // width), width]
            attrs = {"axis": -1}
            if op == "LayerNormalization":
                initializers = [numpy_helper.from_array(np.ones(width, np.float32), "scale"), numpy_helper.from_array(np.zeros(width, np.float32), "bias")]
                extra = ["scale", "bias"]
        elif op == "Transpose":  # attention's head split and merge: (1, T, 8, 64) <-> (1, 8, T, 64)
            shape, attrs = [1, max(1, elements // 512), 8, 64], {"perm": [0, 2, 1, 3]}
        else:
            shape = [elements]
        nodes, last = [], "x"
        for i in range(length):
            args = [last, *extra] if op in UNARY_CHAIN else [last, "b"]
            nodes.append(helper.make_node(op, args, [f"y{i}"], **attrs))
            last = f"y{i}"
        inputs = [("x", shape)] + ([] if op in UNARY_CHAIN else [("b", shape)])
        session = self._session(nodes, inputs, [last], initializers)
        feeds = {name: np.random.default_rng(2).random(s, dtype=np.float32) + 0.5 for name, s in inputs}
        return self._run(session, feeds)

    def _per_node(self, op: str, elements: int) -> tuple[float, float]:
        return self._in_chain(lambda length: self._chain(op, elements, length), 4 if elements * 4 > 2**26 else 8)

    def stream(self, kernel: str, elements: int) -> StreamTiming:
        op = {"add": "Add", "mul": "Mul", "sum": "Softmax", "softmax": "Softmax", "sigmoid": "Sigmoid", "gelu": "Gelu",
              "layer_norm": "LayerNormalization", "transpose": "Transpose"}[kernel]
        if op == "Transpose":
            elements = max(1, elements // 512) * 512
        best, typical = self._per_node(op, elements)
        return StreamTiming("softmax" if op == "Softmax" else kernel, elements, 4, best, typical, self.settings.threads)

    def _conv_chain(self, channels: int, pixels: int, length: int) -> tuple[float, float]:
        """(best, median) seconds of `length` chained 1x1 convolutions channels -> channels at `pixels`."""
        from onnx import helper, numpy_helper

        np = self.np
        side = int(round(pixels ** 0.5))
        h, w = (side, side) if side * side == pixels else (pixels, 1)
        weight = np.random.default_rng(0).standard_normal((channels, channels, 1, 1)).astype(np.float32) / channels ** 0.5
        nodes, last = [], "x"
        for i in range(length):
            nodes.append(helper.make_node("Conv", [last, "w"], [f"y{i}"], kernel_shape=[1, 1]))
            last = f"y{i}"
        session = self._session(nodes, [("x", [1, channels, h, w])], [last], [numpy_helper.from_array(weight, "w")])
        return self._run(session, {"x": np.random.default_rng(1).random((1, channels, h, w), dtype=np.float32)})

    def _per_conv(self, channels: int, pixels: int) -> tuple[float, float]:
        return self._in_chain(lambda length: self._conv_chain(channels, pixels, length))

    def overhead(self) -> float:
        """Per-node time of 1x1 convolutions on one pixel and 8 channels: what a near-empty layer costs."""
        return max(0.0, self._per_conv(8, 1)[0])

    def peak_candidates(self) -> list[tuple[str, float]]:
        """Large convolutions as MAMF candidates: onnxruntime's kernels can beat the BLAS numpy uses."""
        found = []
        for label, (cin, cout, pixels, kernel) in (("1x1 conv 512->512 at 56x56", (512, 512, 3136, 1)),
                                                    ("3x3 conv 256->256 at 28x28", (256, 256, 784, 3))):
            best, _ = self._conv(cin, cout, pixels, kernel)
            found.append((f"onnxruntime {label}", 2 * cin * cout * kernel * kernel * pixels / best))
        return found


RUNTIMES = ("auto", "numpy", "onnxruntime")


def runtime_name(runtime: str) -> str:
    """The runtime `runtime` (auto, numpy, onnxruntime) names here: auto is onnxruntime where installed."""
    if runtime not in RUNTIMES:
        raise HwdbError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime != "auto":
        return runtime
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "numpy"
    return "onnxruntime"


@dataclass(frozen=True)
class ProbeResult:
    """Everything one probe measured, with the machine and the settings it ran with."""

    cpu: CpuInfo
    settings: Settings
    started_at: str
    duration_s: float
    matmuls: tuple[MatmulTiming, ...]  # numpy: the MAMF sweep
    streams: tuple[StreamTiming, ...]  # numpy: STREAM at DRAM size and the add sweep
    gemms: tuple[MatmulTiming, ...]  # the runtime's calibration GEMMs (and depthwise)
    kernels: tuple[StreamTiming, ...]  # the runtime's add sweep, elementwise and reduction rates
    overhead_s: float  # the runtime's per-kernel overhead
    runtime: str = "numpy"  # name and version of what ran the calibration micro-benchmarks
    candidates: tuple[tuple[str, float], ...] = ()  # other kernels' rates that count as MAMF candidates (fp32)
    theoretical: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # precision -> {value, factors, source}

    # -- figures ------------------------------------------------------------------------------------
    def squares(self, precision: str) -> list[MatmulTiming]:
        return [t for t in self.matmuls if t.precision == precision]

    def matmul_best(self, precision: str) -> float:
        """The best rate (FLOP/s): of the numpy MAMF sweep, and for fp32 of the runtime's large convolutions too."""
        best = max(t.best_rate for t in self.squares(precision))
        if precision == "fp32":
            best = max([best, *(rate for _, rate in self.candidates)])
        return best

    def best_kernel(self, precision: str) -> str:
        numpy_best = max(self.squares(precision), key=lambda t: t.best_rate)
        label, rate = f"numpy {numpy_best.m}x{numpy_best.n}x{numpy_best.k} matmul", numpy_best.best_rate
        for other, other_rate in (self.candidates if precision == "fp32" else ()):
            if other_rate > rate:
                label, rate = other, other_rate
        return label

    def matmul_typical(self, precision: str) -> float:
        """The median over the sweep's shapes of each shape's median rate."""
        return median(t.typical_rate for t in self.squares(precision))

    def stream_dram(self) -> dict[str, StreamTiming]:
        """The four STREAM kernels at the DRAM size (the largest working set of each)."""
        found: dict[str, StreamTiming] = {}
        for t in self.streams:
            if t.kernel in ("copy", "scale", "add", "triad") and (t.kernel not in found or t.working_set > found[t.kernel].working_set):
                found[t.kernel] = t
        return found

    @property
    def memory_bandwidth(self) -> float:
        """The best DRAM-sized STREAM rate (byte/s) over the four kernels: the roofline's memory roof."""
        return max(t.best_bandwidth for t in self.stream_dram().values())

    @property
    def cache_bandwidth(self) -> tuple[int, float]:
        """(working set, byte/s) of the fastest numpy add of the size sweep: cache-resident bandwidth."""
        best = max((t for t in self.streams if t.kernel == "add"), key=lambda t: t.best_bandwidth)
        return best.working_set, best.best_bandwidth

    def ratio(self, precision: str) -> float | None:
        """Measured best / theoretical, where the theoretical peak is known."""
        theory = self.theoretical.get(precision)
        return self.matmul_best(precision) / theory["value"] if theory else None

    def implied_clock(self, precision: str) -> float | None:
        """The clock (Hz) the measured best rate needs at the architecture's FLOPs per clock per core."""
        theory = self.theoretical.get(precision)
        if not theory:
            return None
        return self.matmul_best(precision) / (theory["cores"] * theory["ops_per_clock"])

    def calibration(self) -> Calibration:
        """The calibration these timings fit, relative to the measured peaks and DRAM bandwidth (what --save stores)."""
        return fit(
            self.gemms, self.kernels, peaks={p: self.matmul_best(p) for p in PRECISIONS},
            vector_peak=self.matmul_best("fp32"), bandwidth=self.memory_bandwidth, overhead_s=self.overhead_s,
            reference=self.settings.reference,
            fitted={"by": "hwdb probe", "at": self.started_at, "host": self.cpu.hostname, "runtime": self.runtime,
                    "quick": self.settings.quick, "threads": self.settings.threads},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": {**asdict(self.cpu), "isa": self.cpu.isa, "architecture": self.cpu.architecture},
            "settings": asdict(self.settings), "started_at": self.started_at, "duration_s": self.duration_s, "runtime": self.runtime,
            "matmul": {p: {"best_flop_per_s": self.matmul_best(p), "best_kernel": self.best_kernel(p), "typical_flop_per_s": self.matmul_typical(p),
                           "theoretical_flop_per_s": (self.theoretical.get(p) or {}).get("value"), "measured_over_theoretical": self.ratio(p),
                           "implied_clock_hz": self.implied_clock(p)}
                       for p in PRECISIONS},
            "stream": {k: {"best_byte_per_s": t.best_bandwidth, "typical_byte_per_s": t.typical_bandwidth, "array_bytes": t.elements * t.itemsize,
                           "threads": t.threads} for k, t in self.stream_dram().items()},
            "memory_bandwidth_byte_per_s": self.memory_bandwidth,
            "cache_bandwidth": {"working_set_bytes": self.cache_bandwidth[0], "byte_per_s": self.cache_bandwidth[1]},
            "overhead_s": self.overhead_s,
            "theoretical": dict(self.theoretical),
            "timings": {"matmul": [asdict(t) for t in self.matmuls], "stream": [asdict(t) for t in self.streams],
                        "gemm": [asdict(t) for t in self.gemms], "kernels": [asdict(t) for t in self.kernels],
                        "candidates": [list(c) for c in self.candidates]},
        }


def theoretical_peaks(cpu: CpuInfo, architectures: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """cores x clock x FLOPs per clock per core for fp64/fp32 vector, from the catalog's architecture rates."""
    arch = architectures.get(cpu.architecture) if cpu.architecture else None
    if arch is None or cpu.clock_hz is None:
        return {}
    found = {}
    for precision in PRECISIONS:
        rate = arch.rates.get(("vector", precision, None))
        if rate is None or rate.unit != "cores":
            continue
        found[precision] = {"value": cpu.cores * cpu.clock_hz * rate.ops_per_clock, "cores": cpu.cores, "clock_hz": cpu.clock_hz,
                            "ops_per_clock": rate.ops_per_clock, "architecture": arch.key, "architecture_name": arch.name,
                            "clock": rate.clock, "source": arch.source, "note": rate.note}
    return found


def run(*, quick: bool = False, threads: int | None = None, clock_hz: float | None = None, runtime: str = "auto",
        progress: Progress | None = None, architectures: Mapping[str, Any] | None = None) -> ProbeResult:
    """Measure this machine (module docstring). `runtime` runs the calibration's micro-benchmarks: numpy,
    onnxruntime, or auto (onnxruntime where installed). `progress` is told of every step."""
    import numpy as np

    cpu = read_cpu(clock_hz)
    settings = Settings.for_machine(cpu, quick, threads, runtime_name(runtime))
    started, t0 = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), time.perf_counter()
    matmuls: list[MatmulTiming] = []
    streams: list[StreamTiming] = []
    gemms: list[MatmulTiming] = []
    kernels: list[StreamTiming] = []
    with ThreadPoolExecutor(max_workers=settings.threads) as pool:
        kit = NumpyRuntime(np, settings, pool) if settings.runtime == "numpy" else OnnxRuntimeRuntime(settings)
        steps: list[tuple[str, Callable[[], Any]]] = []
        for precision in PRECISIONS:
            for n in settings.squares:
                steps.append((f"matmul {precision} {n}x{n}x{n}", lambda p=precision, n=n: matmuls.append(_matmul(np, p, n, n, n, settings))))
        dram = replace(settings, repeats=settings.repeats * 3)  # DRAM bandwidth varies most on a shared machine
        for kernel in ("copy", "scale", "add", "triad"):
            steps.append((f"STREAM {kernel} ({format_si(settings.dram_bytes, 'B')} arrays)",
                          lambda k=kernel: streams.append(_stream(np, k, settings.dram_bytes // 8, dram, pool))))
        for size in settings.sweep_bytes:  # working sets of the three arrays together
            steps.append((f"add, {format_si(size, 'B')} working set", lambda s=size: streams.append(_stream(np, "add", s // 24, settings, pool))))
        label = kit.name
        machine = len(steps)
        overheads: list[float] = []
        candidates: list[tuple[str, float]] = []
        steps.append((f"{label}: per-kernel overhead", lambda: overheads.append(kit.overhead())))
        for precision in kit.precisions:
            for kind in kit.kinds:
                for m, n, k in settings.gemm_shapes():
                    steps.append((f"{label}: {precision} {kind} {m}x{n}x{k}",
                                  lambda p=precision, m=m, n=n, k=k, kind=kind: gemms.append(kit.gemm(p, m, n, k, kind))))
            steps.append((f"{label}: {precision} depthwise convolution", lambda p=precision: (lambda t: t and gemms.append(t))(kit.depthwise(p))))
        itemsize = 8 if settings.runtime == "numpy" else 4
        for size in (*settings.sweep_bytes, 3 * settings.dram_bytes):
            steps.append((f"{label}: add, {format_si(size, 'B')} working set",
                          lambda s=size: kernels.append(kit.stream("add", s // (3 * itemsize)))))
        from estimator.calibration import VECTOR_KERNELS

        for elements in settings.vector_elements:
            for name, kernel in VECTOR_KERNELS.items():
                steps.append((f"{label}: {name} rate ({kernel}, {elements:,} elements)", lambda k=kernel, e=elements: kernels.append(kit.stream(k, e))))
            steps.append((f"{label}: transpose rate ({elements:,} elements)", lambda e=elements: kernels.append(kit.stream("transpose", e))))
        steps.append((f"{label}: large kernels for the peak", lambda: candidates.extend(kit.peak_candidates())))
        # The calibration runs `passes` times, keeping each timing's best: a shared machine's hiccups then
        # spoil one pass, not the fit.
        steps += [(f"{text} (pass {n + 2})", step) for n in range(settings.passes - 1) for text, step in steps[machine:]]
        for done, (text, step) in enumerate(steps):
            if progress:
                progress(text, done, len(steps))
            step()
        if progress:
            progress("done", len(steps), len(steps))
        version = kit.version
    if architectures is None:
        from hwdb.loader import load_architectures
        from hwdb.resources import data_dir

        architectures = load_architectures(data_dir())
    best_candidates: dict[str, float] = {}
    for name, rate in candidates:
        best_candidates[name] = max(rate, best_candidates.get(name, 0.0))
    return ProbeResult(cpu, settings, started, time.perf_counter() - t0, tuple(matmuls), tuple(streams),
                       _best(gemms, lambda t: (t.kind, t.precision, t.m, t.n, t.k, t.groups)), _best(kernels, lambda t: (t.kernel, t.elements)),
                       min(overheads), version, tuple(best_candidates.items()), theoretical_peaks(cpu, architectures))


def _best(timings, key) -> tuple:
    """One timing per key: the fastest of the passes."""
    found: dict = {}
    for t in timings:
        k = key(t)
        if k not in found or t.best_s < found[k].best_s:
            found[k] = t
    return tuple(found.values())


# -- saving -----------------------------------------------------------------------------------------------
STREAM_REFERENCE = "https://www.cs.virginia.edu/~mccalpin/papers/bandwidth/node2.html"
MAMF_REFERENCE = "https://github.com/stas00/ml-engineering/tree/master/compute/accelerator/benchmarks#maximum-achievable-matmul-flops-finder"
PROC_REFERENCE = "https://docs.kernel.org/filesystems/proc.html"


def device_entry(result: ProbeResult, slug: str = "local", name: str | None = None) -> tuple[dict, dict]:
    """The catalog entry (data/ format) and the sources of a probed machine: (entry, {source id: source})."""
    cpu, stamp = result.cpu, result.started_at.replace("-", "").replace(":", "").replace("T", "-").rstrip("Z").lower()
    host = re.sub(r"[^a-z0-9-]+", "-", cpu.hostname.lower()).strip("-") or "host"
    ids = {key: f"probe-{host}-{stamp}-{key}" for key in ("os", "matmul", "stream")}
    when = result.started_at.replace("T", " ").replace("Z", " UTC")
    how = f"{'quick, ' if result.settings.quick else ''}{result.settings.threads} threads"
    sources = {
        ids["os"]: {"url": PROC_REFERENCE, "title": f"{cpu.hostname}: what the OS reports (/proc/cpuinfo, /proc/meminfo, /sys), read by hwdb probe at {when}",
                    "publisher": "hwdb probe (measured)"},
        ids["matmul"]: {"url": MAMF_REFERENCE, "title": f"{cpu.hostname}: numpy matmul, best over a MAMF-style shape sweep, measured by hwdb probe at {when} ({how})",
                        "publisher": "hwdb probe (measured)"},
        ids["stream"]: {"url": STREAM_REFERENCE, "title": f"{cpu.hostname}: STREAM-style copy/scale/add/triad in numpy, bytes read + written, measured by hwdb probe at {when} ({how})",
                        "publisher": "hwdb probe (measured)"},
    }
    specs: dict[str, Any] = {
        "cores": {"value": cpu.cores, "source": ids["os"], "note": f"physical cores this process may use ({cpu.threads} logical CPUs)"},
    }
    arch = cpu.architecture if result.theoretical else None
    if cpu.clock_hz:
        clock_spec = next(iter(result.theoretical.values()))["clock"] if result.theoretical else "boost_clock"
        specs[clock_spec] = {"value": f"{cpu.clock_hz / 1e6:.6g} MHz", "source": ids["os"], "note": cpu.clock_source}
    if cpu.memory_bytes:
        specs["memory"] = {"value": f"{cpu.memory_bytes} B", "source": ids["os"], "note": "MemTotal in /proc/meminfo"}
    if cpu.l2_bytes:
        specs["l2_cache"] = {"value": f"{cpu.l2_bytes} B", "source": ids["os"], "note": "all L2 caches, from /sys/devices/system/cpu"}
    if cpu.l3_bytes:
        specs["l3_cache"] = {"value": f"{cpu.l3_bytes} B", "source": ids["os"], "note": "all L3 caches, from /sys/devices/system/cpu"}
    best = result.stream_dram()
    kernel = max(best, key=lambda k: best[k].best_bandwidth)
    specs["memory_bandwidth"] = {
        "value": f"{result.memory_bandwidth:.6g} B/s", "source": ids["stream"],
        "note": f"measured: STREAM {kernel}, best of the four kernels over {format_si(best[kernel].elements * 8, 'B')} arrays on "
                f"{best[kernel].threads} threads (bytes read + written); not the DRAM's theoretical peak",
    }
    peaks = []
    for precision in PRECISIONS:
        theory = result.theoretical.get(precision)
        note = f"measured: best numpy {PRECISIONS[precision]} matmul of a MAMF-style sweep (typical {format_rate(result.matmul_typical(precision), precision)})"
        if theory:
            note += f"; theoretical {format_rate(theory['value'], precision)} at the clock the OS reports ({result.ratio(precision):.0%})"
        peaks.append({"precision": precision, "engine": "vector", "sparse": False, "value": f"{result.matmul_best(precision):.6g} FLOPS",
                      "origin": "measured", "source": ids["matmul"], "note": note})
    entry: dict[str, Any] = {
        "slug": slug, "name": name or f"{cpu.model} ({cpu.hostname}, {cpu.cores} cores, measured)", "vendor": cpu.vendor or "unknown",
        "kind": "cpu", "form_factor": "this machine", "aliases": [], "specs": specs, "peak": peaks,
        "calibration": result.calibration().to_dict(), "probe": _summary(result),
    }
    if arch:
        entry["architecture"] = arch
    return entry, sources


def _summary(result: ProbeResult) -> dict[str, Any]:
    """The probe's record kept with the device: figures, machine, settings (the raw timings stay out)."""
    data = result.to_dict()
    data.pop("timings")
    return data
