"""Parsing the shipped catalog's TOML: tomli (hwdb's parser, compiled on CPython) against the standard
library's tomllib, in the same run. `hwdb validate` and every release application parse all of it.

Usage: python bench/toml_parse.py [--runs 9]
"""

import argparse
import statistics
import time
import tomllib

import tomli

from hwdb.resources import data_dir


def best_of(parse, texts: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for text in texts:
            parse(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    texts = [path.read_text() for path in sorted(data_dir().rglob("*.toml"))]
    assert all(tomli.loads(t) == tomllib.loads(t) for t in texts)  # the same data either way
    stdlib = best_of(tomllib.loads, texts, args.runs)
    ours = best_of(tomli.loads, texts, args.runs)
    compiled = "compiled" if tomli.__file__.endswith((".so", ".pyd")) else "pure Python"
    print(f"{len(texts)} files, {sum(map(len, texts)) / 1e3:.0f} kB, median of {args.runs}")
    print(f"tomllib (standard library)  {stdlib * 1e3:7.1f} ms")
    print(f"tomli {tomli.__version__ if hasattr(tomli, '__version__') else ''} ({compiled})  {ours * 1e3:7.1f} ms   {stdlib / ours:.2f}x faster")


if __name__ == "__main__":
    main()
