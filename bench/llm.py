"""Speed of the LLM estimator: decode summed over every step as arrays, against costing steps one by one.

Usage: python bench/llm.py [--generate 8192] [--repeats 5]

Prints the best wall time of one `estimate_llm` (Llama-3-70B on an H100 SXM, batch 8, prompt 2048,
`--generate` output tokens: one decode step per token, each with its own KV length), the time per
decode step inside it, and the baseline measured in the same run: the same steps costed one
estimate at a time (a Python loop per token, what a naive estimator does), on a sample of steps.
The ratio is what vectorising over steps buys; the totals of both are checked to agree.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import hwdb  # noqa: E402
from estimator.llm import Dtypes, Workload, estimate_llm  # noqa: E402


def best(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=64, help="decode steps costed one by one for the baseline")
    args = parser.parse_args()
    config, device = hwdb.model("llama-3-70b"), hwdb.device("h100-sxm")
    dtypes, prompt, batch = Dtypes("fp16"), 2048, 8
    vectorised, result = best(lambda: estimate_llm(config, device, dtypes, Workload(prompt, args.generate, batch, tp=8)), args.repeats)
    steps = result.decode.steps
    picks = np.linspace(0, steps - 1, args.samples).astype(int)

    def loop():
        return [estimate_llm(config, device, dtypes, Workload(prompt + int(k), 2, batch, tp=8)).decode.time_s for k in picks]

    looped, singles = best(loop, max(1, args.repeats // 2))
    per_step_loop = looped / len(picks)
    agree = np.allclose(result.decode.step_time_s[picks], singles, rtol=1e-12)
    print(f"llama-3-70b on {device.name}, tp 8, batch {batch}, prompt {prompt}, generate {args.generate}: {steps:,} decode steps")
    print(f"  vectorised estimate  {vectorised * 1e3:8.2f} ms in all ({vectorised / steps * 1e6:.3f} us per decode step, prefill and memory fit included)")
    print(f"  one step at a time   {per_step_loop * 1e3:8.2f} ms per step (sample of {len(picks)}): {per_step_loop * steps:.2f} s for all steps")
    print(f"  ratio                {per_step_loop * steps / vectorised:,.0f}x faster vectorised; step times agree: {agree}")


if __name__ == "__main__":
    main()
