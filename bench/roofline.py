"""Throughput of the vectorised roofline: the whole catalog x every built-in model x batch sizes x precisions.

Usage: python bench/roofline.py [--repeats 5]

Prints the number of layer evaluations (devices x precisions x batch sizes x layers), the best wall time
of the sweep over `--repeats` runs, layer evaluations per second, and two baselines measured in the
same run: the same roofline as a plain Python loop over a sample of combinations (per evaluation),
and one numpy elementwise pass over an array of the sweep's size (the floor any vectorised code pays).
Targets: at least 20 million layer evaluations per second, and the whole sweep under 1 s.
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import hwdb  # noqa: E402
from estimator.roofline import Roof, sweep  # noqa: E402
from estimator.zoo import ZOO  # noqa: E402

BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
PRECISIONS = ["fp32", "fp16", "int8"]


def python_loop(models, devices, samples: int) -> float:
    """Seconds per layer evaluation of the same roofline written as a Python loop (a sample of combinations)."""
    layers = [layer for model in models for layer in model.layers]
    rng = random.Random(0)
    picks = [(rng.choice(devices), rng.choice(PRECISIONS), rng.choice(BATCHES)) for _ in range(samples // len(layers) + 1)]
    roofs = {(d.slug, p): Roof.of(d, p) for d, p, _ in picks}
    start = time.perf_counter()
    count = 0
    for d, p, b in picks:
        roof = roofs[(d.slug, p)]
        for layer in layers:
            peak = roof.matrix_peak if layer.engine == "matrix" else (roof.vector_peak if layer.engine == "vector" else float("inf"))
            flops = b * layer.flops
            traffic = layer.bytes(p, b)
            compute = flops / peak if flops else 0.0
            memory = traffic / roof.bandwidth if traffic else 0.0
            _ = max(compute, memory)
            count += 1
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    devices = hwdb.devices()
    models = [build() for build in ZOO.values()]
    setup = time.perf_counter() - start

    timings = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = sweep(models, devices, BATCHES, PRECISIONS)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    evaluations = result.layer_evaluations

    # Baseline 1: one numpy elementwise pass over an array as large as the sweep's (D, P, B, L) grid.
    grid = np.random.default_rng(0).random(evaluations)
    start = time.perf_counter()
    for _ in range(args.repeats):
        np.maximum(grid, 0.5)
    numpy_pass = (time.perf_counter() - start) / args.repeats
    # Baseline 2: the roofline as a Python loop, per evaluation.
    per_python = python_loop(models, devices, 200_000)

    layers = sum(len(m.layers) for m in models)
    known = np.isfinite(result.latency_s).mean()
    print(f"sweep: {len(devices)} devices x {len(PRECISIONS)} precisions x {len(BATCHES)} batch sizes x {layers} layers "
          f"({len(models)} models) = {evaluations:,} layer evaluations")
    print(f"  catalog and models loaded in {setup * 1e3:.0f} ms (not in the sweep time)")
    print(f"  sweep wall time: best {best * 1e3:.1f} ms of {args.repeats} (median {sorted(timings)[len(timings) // 2] * 1e3:.1f} ms)")
    print(f"  layer evaluations per second: {evaluations / best / 1e6:.1f} million (target >= 20 million; sweep target < 1 s)")
    print(f"  vs one numpy elementwise pass over {evaluations:,} values ({numpy_pass * 1e3:.1f} ms): {best / numpy_pass:.1f}x")
    print(f"  vs a Python loop ({per_python * 1e9:.0f} ns per evaluation, {evaluations * per_python:.1f} s for the sweep): "
          f"{evaluations * per_python / best:.0f}x faster")
    print(f"  combinations with every figure known: {known:.0%} (the rest lack a peak at that precision)")


if __name__ == "__main__":
    main()
