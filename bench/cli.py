"""Speed of every command: cold processes, median of 7, against a minimal typer app in the same run.

Usage: python bench/cli.py [--runs 7] [--markdown] [--only TEXT]

Limits (issue 9): a read-only command within 1.5x the minimal typer app; commands that must import numpy
(estimate, compare or roofline with a workload) under 3x; chart exports and the probe are not timed
against a limit (they render or measure for seconds by design). Writes (add, edit, pull) are timed on a
copy of the catalog per run. The commands take turns, so drift in machine load hits all alike.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from startup import MINIMAL_TYPER, bench_env  # noqa: E402

READ_LIMIT, NUMPY_LIMIT = 1.5, 3.0

# (name, arguments, limit); None: no limit (timed for the record)
COMMANDS = [
    ("peak t4 --fp16", ["peak", "t4", "--fp16"], READ_LIMIT),
    ("peak t4 --int4 --explain", ["peak", "t4", "--int4", "--explain"], READ_LIMIT),
    ("show h100-sxm", ["show", "h100-sxm"], READ_LIMIT),
    ("list --where memory_gb>=80 --sort bf16", ["list", "--where", "memory_gb>=80", "--sort", "bf16"], READ_LIMIT),
    ("prices h100-sxm", ["prices", "h100-sxm"], READ_LIMIT),
    ("compare l40s a100 h100-sxm", ["compare", "l40s", "a100", "h100-sxm"], READ_LIMIT),
    ("roofline t4 h100-sxm --fp16", ["roofline", "t4", "h100-sxm", "--fp16"], READ_LIMIT),
    ("util --flops 8.2G --time 3.1ms --on t4", ["util", "--flops", "8.2G", "--time", "3.1ms", "--on", "t4", "--fp16"], READ_LIMIT),
    ("models", ["models"], READ_LIMIT),
    ("history t4", ["history", "t4"], READ_LIMIT),
    ("releases", ["releases"], READ_LIMIT),
    ("diff 2026.11", ["diff", "2026.11"], READ_LIMIT),
    ("db current", ["db", "current"], READ_LIMIT),
    ("validate", ["validate"], READ_LIMIT),
    ("export -o catalog.json", ["export", "-o", "{scratch}/catalog.json"], READ_LIMIT),
    ("estimate resnet50 --on t4 --batch 32", ["estimate", "resnet50", "--on", "t4", "--fp16", "--batch", "32"], NUMPY_LIMIT),
    ("estimate llama-2-7b --on a100 (LLM)", ["estimate", "llama-2-7b", "--on", "a100-sxm4-40gb", "--prompt", "1024", "--generate", "128"], NUMPY_LIMIT),
    ("compare ... --model resnet50 --cloud", ["compare", "l40s", "a100-80gb", "h100-sxm", "--model", "resnet50", "--batch", "32", "--cloud"], NUMPY_LIMIT),
    ("roofline t4 --model resnet50", ["roofline", "t4", "--fp16", "--model", "resnet50"], NUMPY_LIMIT),
    ("edit t4 --set tdp_w=75 (write)", ["edit", "t4", "--set", "tdp_w=75", "--source", "https://example.com/t4.pdf", "--db", "{copy}"], None),
    ("estimate --chart x.svg (chart)", ["estimate", "resnet50", "--on", "t4", "--chart", "{scratch}/x.svg"], None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (docs/performance.md)")
    parser.add_argument("--only", metavar="TEXT", help="time only the commands whose name contains TEXT (and the baseline)")
    args = parser.parse_args()
    commands = [c for c in COMMANDS if args.only is None or args.only in c[0]] or sys.exit(f"no command matches {args.only!r}")
    hwdb = shutil.which("hwdb") or sys.exit("hwdb is not on PATH: pip install -e . first")
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "bench.sqlite"
        env = bench_env(HWDB_URL=str(db), XDG_DATA_HOME=scratch)
        minimal = Path(scratch) / "minimal_typer.py"
        minimal.write_text(MINIMAL_TYPER)
        subprocess.run([hwdb, "peak", "t4", "--fp16"], env=env, check=True, stdout=subprocess.DEVNULL)  # first use: fill
        copy = Path(scratch) / "copy.sqlite"
        runs: dict[str, list[str]] = {"minimal typer app": [sys.executable, str(minimal), "t4", "--fp16"]}
        for name, arguments, _ in commands:
            runs[name] = [hwdb, *(a.format(scratch=scratch, copy=copy) for a in arguments)]
        for command in runs.values():  # warm-up: page cache, .pyc files
            shutil.copy(db, copy)
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, command in runs.items():
                shutil.copy(db, copy)  # a write starts from the same catalog every time
                start = time.perf_counter()
                subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["minimal typer app"]
    limits = {name: limit for name, _, limit in COMMANDS}
    rows = []
    over = 0
    for name, seconds in medians.items():
        ratio = seconds / baseline
        limit = limits.get(name)
        verdict = "baseline" if name == "minimal typer app" else "no limit" if limit is None else "ok" if ratio <= limit else "OVER"
        over += verdict == "OVER"
        rows.append((name, f"{seconds * 1e3:.0f} ms", f"{ratio:.2f}x", f"{limit:.1f}x" if limit else "-", verdict))
    if args.markdown:
        print("| command | median | vs typer | limit | |\n|---|---:|---:|---:|---|")
        for row in rows:
            print("| `" + row[0] + "` | " + " | ".join(row[1:]) + " |")
    else:
        print(f"{'command':42} {'median':>8} {'vs typer':>9} {'limit':>6}")
        for row in rows:
            print(f"{row[0]:42} {row[1]:>8} {row[2]:>9} {row[3]:>6}  {row[4]}")
    print(f"\n{args.runs} cold runs each; {over} command(s) over the limit")


if __name__ == "__main__":
    main()
