"""Start-up time of `hwdb peak t4 --fp16` against a minimal typer app, measured in the same run.

Usage: python bench/startup.py [--runs 21]

Prints the median wall time of each command (cold processes, one warm-up each, the commands taking
turns) and the ratio of hwdb to the minimal typer app. The target is a ratio within 1.3. Machines here are noisy, so
only the ratio measured in one run means anything.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_TYPER = '''
import typer
app = typer.Typer()
@app.command()
def peak(device: str, fp16: bool = typer.Option(False, "--fp16")):
    print(f"{device} 65 TFLOP/s")
app()
'''


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for timed processes: bytecode caching on, as on a user's machine (pip compiles on
    install). With PYTHONDONTWRITEBYTECODE set (as in this project's sandbox), every module changed since
    its last .pyc is compiled anew in every process, which times the compiler rather than the command."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **extra}


def median_times(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median wall time of each command; the commands take turns, so drift in machine load hits all alike."""
    for command in commands.values():
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # warm-up (and first use)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = bench_env(HWDB_URL=str(Path(scratch) / "bench.sqlite"))
        minimal = Path(scratch) / "minimal_typer.py"
        minimal.write_text(MINIMAL_TYPER)
        hwdb = shutil.which("hwdb") or sys.exit("hwdb is not on PATH: pip install -e . first")
        commands = {
            "bare python": [sys.executable, "-c", "pass"],
            "minimal typer app": [sys.executable, str(minimal), "t4", "--fp16"],
            "hwdb peak t4 --fp16": [hwdb, "peak", "t4", "--fp16"],
            "python -m hwdb peak t4 --fp16": [sys.executable, "-m", "hwdb", "peak", "t4", "--fp16"],
        }
        results = median_times(commands, args.runs, env)
    baseline = results["minimal typer app"]
    print(f"{'command':34} {'median':>9} {'vs typer':>9}")
    for name, seconds in results.items():
        print(f"{name:34} {seconds * 1e3:7.1f}ms {seconds / baseline:8.2f}x")
    ratio = results["hwdb peak t4 --fp16"] / baseline
    print(f"\nhwdb peak / minimal typer app = {ratio:.2f} (target <= 1.30): {'ok' if ratio <= 1.3 else 'OVER'}")


if __name__ == "__main__":
    main()
