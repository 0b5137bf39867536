"""Shared fixtures: a private data folder for every test, and one filled SQLite catalog per session."""

import os
import shutil
import uuid
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


# -- backends: every catalog test that takes `catalog_url` runs on SQLite and on a real PostgreSQL ------
PG_URL = os.environ.get("HWDB_TEST_PG_URL")
REQUIRE_PG = os.environ.get("HWDB_TEST_REQUIRE_PG") == "1"  # CI: a missing server is a failure, not a skip


def _pg_admin():
    from sqlalchemy import create_engine

    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _need_pg() -> None:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("HWDB_TEST_PG_URL is not set: .ci/run starts a PostgreSQL server and sets it")
        pytest.skip("no PostgreSQL server: set HWDB_TEST_PG_URL (eval \"$(bash .ci/postgres.sh)\")")


@pytest.fixture(scope="session")
def pg_template():
    """A PostgreSQL database filled from the shipped data once; tests get copies (CREATE DATABASE ... TEMPLATE)."""
    _need_pg()
    from sqlalchemy import text

    name = f"hwdb_template_{os.getpid()}"
    admin = _pg_admin()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    catalog = Catalog(_pg_database_url(name)).ensure()
    catalog.close()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_database(template: str | None):
    from sqlalchemy import text

    name = f"hwdb_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return admin, name


def _drop(admin, name: str) -> None:
    from sqlalchemy import text

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, filled_db, tmp_path, monkeypatch) -> str:
    """A filled catalog of the shipped release, on each backend; also selected through HWDB_URL."""
    if request.param == "sqlite":
        path = tmp_path / "catalog.sqlite"
        shutil.copy(filled_db, path)
        url = f"sqlite:///{path}"
        monkeypatch.setenv("HWDB_URL", url)
        yield url
        return
    admin, name = _pg_database(request.getfixturevalue("pg_template"))
    url = _pg_database_url(name)
    monkeypatch.setenv("HWDB_URL", url)
    yield url
    _drop(admin, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    """A database with nothing in it (not even the schema), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    _need_pg()
    admin, name = _pg_database(None)
    yield _pg_database_url(name)
    _drop(admin, name)
