"""The long fuzzing run: every property of tests/test_fuzz.py with many more examples and fresh seeds.

    python bench/fuzz.py                 # 2,000 examples per property
    python bench/fuzz.py --examples 20000 --only spec

CI runs a fixed-seed slice of 120 examples per property (tests/test_fuzz.py); this run draws new
examples every time. A failure prints hypothesis's shrunk example and the seed to replay it with
(``--seed N``), and the script exits 1.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _properties(examples: int):
    """tests/test_fuzz.py's properties, imported with `examples` each and fresh seeds."""
    os.environ["HWDB_FUZZ_EXAMPLES"], os.environ["HWDB_FUZZ_RANDOM"] = str(examples), "1"
    from tests import test_fuzz as T

    return T, {
        "spec-toml": T.test_a_toml_spec_file_is_refused_with_one_line_or_passes_validate,
        "spec-json": T.test_a_json_spec_file_is_refused_with_one_line_or_passes_validate,
        "bytes": T.test_arbitrary_bytes_are_refused_with_one_line,
        "model": T.test_a_model_description_is_refused_with_its_own_error_or_estimates,
        "model-file": T.test_a_model_file_is_refused_with_one_line_or_estimates,
        "config": T.test_a_transformer_config_is_refused_with_its_own_error_or_estimates,
        "onnx": T.test_corrupted_onnx_bytes_raise_only_the_import_error,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--only", action="append", help="a property name prefix: spec, bytes, model, config, onnx")
    parser.add_argument("--seed", type=int, help="replay one seed (printed on failure)")
    args = parser.parse_args()
    T, properties = _properties(args.examples)
    scratch = Path(tempfile.mkdtemp(prefix="hwdb-fuzz-"))
    try:
        tree = scratch / "tree"
        shutil.copytree(T.data_dir(), tree, ignore=shutil.ignore_patterns("devices", "models", "prices.toml", "_incoming"))
        (tree / "devices").mkdir()
        from estimator.onnx_io import to_onnx
        from hwdb.workloads import load_model

        fixtures = {"workdir": scratch, "tree": tree, "lenet_onnx": to_onnx(load_model("lenet5")).SerializeToString()}
        failed = 0
        print(f"{'property':<11} {'examples':>9} {'seconds':>8}  result")
        for name, run in properties.items():
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            examples = max(1, args.examples // 2) if name == "onnx" else args.examples
            if args.seed is not None:
                from hypothesis import seed

                run = seed(args.seed)(run)
            wanted = {k: v for k, v in fixtures.items() if k in run.hypothesis.inner_test.__code__.co_varnames}
            start = time.perf_counter()
            try:
                run(**wanted)
                result = "ok"
            except Exception:  # a falsified property: hypothesis has printed the example
                failed += 1
                result = "FAILED\n" + traceback.format_exc(limit=3)
            print(f"{name:<11} {examples:>9,} {time.perf_counter() - start:>8.1f}  {result}", flush=True)
        return 1 if failed else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
