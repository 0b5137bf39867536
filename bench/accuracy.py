"""Predicted against measured: the CNN zoo and a small transformer, run with onnxruntime on this CPU.

    python bench/accuracy.py            # probe this machine (~40 s), then time and estimate every model
    python bench/accuracy.py --quick    # a quick probe, fewer models
    python bench/accuracy.py --db URL --on local --no-probe   # a device already saved with `hwdb probe --save`

Every model is built as an ONNX graph with random weights (no downloads): the built-in CNNs through
`estimator.onnx_io.to_onnx`, and a 4-layer BERT-style encoder (width 256, 4 heads, sequence 128)
through `estimator.onnx_io.encoder_onnx`. Each runs in onnxruntime (CPUExecutionProvider, default
options) at batch 1 and 8; the median of at least 10 runs (and 1 s) is the measurement. The same
.onnx file is then estimated as `hwdb estimate FILE --on local` would: the pure roofline (`--pure`:
measured peaks and DRAM bandwidth, every layer on its own), calibrated (the probe's per-op-class
efficiencies), and calibrated with inference fusion (`--fused`: batch norm folded, activations and
residual adds fused into the convolution before them, as onnxruntime does).

The calibration is fitted from the probe's micro-benchmarks only, never from these models' times, so
the error below tests it. Needs the onnx extra (onnx, onnxruntime). Machines shared with other
tenants vary by tens of percent from minute to minute: run it twice before believing a digit.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = (("pure", {"calibrated": False}), ("calibrated", {"calibrated": True}), ("calibrated+fused", {"calibrated": True, "fused": True}))


def measure(session, feeds, min_runs: int = 10, min_seconds: float = 1.0) -> float:
    """Median seconds of session.run after three warm-up runs."""
    for _ in range(3):
        session.run(None, feeds)
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def graphs(names: list[str], folder: Path) -> list[tuple[str, Path, str]]:
    """(model, .onnx path, input name) for each model, written with random weights."""
    import onnx

    from estimator.onnx_io import encoder_onnx, to_onnx
    from estimator.zoo import ZOO

    found = []
    for name in names:
        path = folder / f"{name}.onnx"
        proto = encoder_onnx() if name == "encoder" else to_onnx(ZOO[name](), weights="random")
        onnx.save(proto, path)
        found.append((name, path, proto.graph.input[0].name))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quick probe and three models")
    parser.add_argument("--db", help="catalog URL (default: a temporary one, so your catalog is not touched)")
    parser.add_argument("--on", default="local", help="the probed device's slug")
    parser.add_argument("--no-probe", action="store_true", help="use the device already in --db")
    parser.add_argument("--models", help="comma-separated: the zoo names and 'encoder'")
    parser.add_argument("--batches", default="1,8")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="hwdb-accuracy-"))
    try:
        return _run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the graphs (VGG-16's is 553 MB) and the temporary catalog


def _run(args, folder: Path) -> int:
    import numpy as np
    import onnxruntime as ort

    import hwdb
    from hwdb.cli import run

    db = args.db or f"sqlite:///{folder / 'catalog.sqlite'}"
    os.environ["HWDB_URL"] = db
    if not args.no_probe:
        code = run(["probe", "--save", "--name", args.on, *(["--quick"] if args.quick else [])])
        if code:
            return code
    default = "resnet18,mobilenet_v2,encoder" if args.quick else "alexnet,vgg16,resnet18,resnet50,mobilenet_v2,efficientnet_b0,encoder"
    names = (args.models or default).split(",")
    batches = [int(b) for b in args.batches.split(",")]
    print(f"\nonnxruntime {ort.__version__}, {os.cpu_count()} CPUs; estimates on {args.on} ({db})")
    rows = []
    for name, path, input_name in graphs(names, folder):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for batch in batches:
            if name == "encoder":
                feeds = {input_name: np.random.default_rng(0).integers(0, 8192, (batch, 128), dtype=np.int64)}
            else:
                feeds = {input_name: np.random.default_rng(0).random((batch, 3, 224, 224), dtype=np.float32)}
            measured = measure(session, feeds)
            predicted = [hwdb.estimate(str(path), args.on, "fp32", batch=batch, **options).latency_s for _, options in COLUMNS]
            rows.append((name, batch, measured, predicted))
            cells = "  ".join(f"{p * 1e3:9.2f} ms {100 * (p / measured - 1):+6.1f}%" for p in predicted)
            print(f"{name:16} {batch:>3}  {measured * 1e3:9.2f} ms  {cells}", flush=True)
    print()
    print(f"{'model':16} {'batch':>5} {'measured':>12}  " + "  ".join(f"{title:>19}" for title, _ in COLUMNS))
    for name, batch, measured, predicted in rows:
        print(f"{name:16} {batch:>5} {measured * 1e3:9.2f} ms  " + "  ".join(f"{p * 1e3:9.2f} ms {100 * (p / measured - 1):+6.1f}%" for p in predicted))
    print()
    for index, (title, _) in enumerate(COLUMNS):
        errors = [abs(p[index] / m - 1) for _, _, m, p in rows]
        worst = max(max(p[index] / m, m / p[index]) for _, _, m, p in rows)
        print(f"{title:>17}: median absolute error {100 * statistics.median(errors):.1f}%, "
              f"worst {100 * max(errors):.1f}% ({worst:.2f}x){'' if worst <= 2 else '  <- over 2x'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
