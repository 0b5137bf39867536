"""The schema comes from alembic only, and matches the models exactly."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hwdb import current, db
from hwdb.catalog import Catalog
from hwdb.errors import SchemaVersionError
from hwdb.models import metadata


def test_schema_head_constants_match_alembic():
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert db.SCHEMA_HEAD == head == current.SCHEMA_HEAD


def test_autogenerate_finds_no_difference_from_the_models(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    db.upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(tmp_path):
    path = tmp_path / "m.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    db.downgrade(engine, "base")
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables <= {"alembic_version"}
    Catalog(engine=engine).ensure()
    assert Catalog(engine=engine).device("t4").slug == "nvidia-t4"


def test_a_database_from_a_newer_hwdb_is_refused_untouched(tmp_path, filled_db):
    path = tmp_path / "newer.sqlite"
    path.write_bytes(filled_db.read_bytes())
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match="upgrade hwdb"):
        Catalog(str(path)).ensure()
    assert path.read_bytes() == before
