"""Start-up stays cheap, and the layers stay clean (import-linter contracts in pyproject.toml)."""

import os
import subprocess
import sys

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "numpy", "altair", "vl_convert", "requests", "rich", "tomllib", "tomli")


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, cwd=REPO,
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_hwdb_peak_on_an_existing_catalog_imports_nothing_heavy(db):
    code = (
        "import sys\nfrom hwdb.cli import run\n"
        "assert run(['peak', 't4', '--fp16']) == 0\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = run_python(code, {"HWDB_URL": str(db)})
    assert out.splitlines() == ["NVIDIA T4  FP16 tensor, dense: 65 TFLOP/s", ""]


def test_importing_hwdb_and_estimator_is_light():
    out = run_python(f"import sys, hwdb, estimator\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))", {})
    assert out.strip() == ""


def test_import_contracts_hold():
    from importlinter.cli import lint_imports

    previous = os.getcwd()
    os.chdir(REPO)
    try:
        assert lint_imports(no_cache=True) == 0
    finally:
        os.chdir(previous)


def test_read_commands_without_a_workload_import_neither_sqlalchemy_nor_numpy(db):
    """bench/cli.py's 1.5x limit: these read the SQLite file with the standard library and cost no arrays."""
    for args in (["roofline", "t4", "h100-sxm", "--fp16"], ["util", "--flops", "8.2G", "--time", "3.1ms", "--on", "t4"],
                 ["prices", "h100-sxm"], ["compare", "l40s", "h100-sxm"], ["list", "--sort", "bf16"], ["show", "t4"],
                 ["show", "t4", "--rev", "1"], ["history", "t4"], ["releases"], ["diff", "2026.11"], ["export", "--format", "csv"],
                 ["db", "current"]):
        code = (f"import sys\nfrom hwdb.cli import run\nassert run({args!r}) == 0\n"
                "print('HEAVY:' + ','.join(m for m in ('sqlalchemy', 'numpy', 'altair') if m in sys.modules))")
        out = run_python(code, {"HWDB_URL": str(db)})
        assert out.splitlines()[-1] == "HEAVY:", (args, out.splitlines()[-1])
