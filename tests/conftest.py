"""Shared fixtures: a private data folder for every test, and one filled SQLite catalog per session."""

import shutil
from pathlib import Path

import pytest

from hwdb.catalog import Catalog
from hwdb.cli import run
from hwdb.resources import data_dir

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    """No test reads or writes the user's real catalog."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HWDB_URL", raising=False)
    monkeypatch.delenv("HWDB_DEBUG", raising=False)
    monkeypatch.setenv("HWDB_AUTHOR", "tester")


@pytest.fixture(scope="session")
def filled_db(tmp_path_factory) -> Path:
    """An SQLite catalog created from the shipped data (read-only use: copy it before writing)."""
    path = tmp_path_factory.mktemp("catalog") / "hwdb.sqlite"
    catalog = Catalog(str(path)).ensure()
    catalog.close()  # checkpoints the WAL into the file, so that copies are complete
    return path


@pytest.fixture
def db(filled_db, tmp_path, monkeypatch) -> Path:
    """A private copy of the filled catalog, selected through HWDB_URL."""
    path = tmp_path / "hwdb.sqlite"
    shutil.copy(filled_db, path)
    monkeypatch.setenv("HWDB_URL", str(path))
    return path


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the shipped data folder."""
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target, ignore=shutil.ignore_patterns("_incoming"))
    return target


@pytest.fixture
def cli(capsys):
    """Run `hwdb ARGS...` in-process: returns (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        code = run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
