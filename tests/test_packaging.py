"""The wheel carries data/ and migrations/, and an installed hwdb finds them with importlib.resources."""

import os
import subprocess
import sys
import zipfile

import pytest

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: hatchling comes with the test extra, and no test may need the network.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True)
    (path,) = out.glob("hwdb-*.whl")
    return path


def test_wheel_contains_data_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("hwdb/_data/release.toml", "hwdb/_data/sources/nvidia.toml", "hwdb/_data/architectures/nvidia.toml",
                     "hwdb/_data/devices/nvidia/turing.toml", "hwdb/_migrations/env.py",
                     "hwdb/_migrations/versions/0001_catalog_schema.py", "estimator/peak.py", "hwdb/cli/__init__.py"):
        assert required in names, required
    assert not any("_incoming" in n or n.startswith("tests/") for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)


def test_unpacked_wheel_finds_its_files_and_works(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from hwdb.resources import data_dir, migrations_dir\n"
        "assert str(data_dir()).startswith(sys.argv[1]) and str(migrations_dir()).startswith(sys.argv[1]), (data_dir(), migrations_dir())\n"
        "import hwdb\n"
        "print(hwdb.peak('t4', 'fp16'))\n"
    )
    env = {**os.environ, "HWDB_URL": str(tmp_path / "w.sqlite")}
    result = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "65000000000000.0"
