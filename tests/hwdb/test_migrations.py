"""The schema comes from alembic only, and matches the models exactly."""

import sqlite3

import pytest
import sqlalchemy as sa
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


TABLES_0001 = ["source", "catalog_release", "device", "alias", "spec_revision", "spec_value", "peak", "device_current"]


def _rows(engine, table, columns):
    """Rows of `table` (typed, through reflection), in primary-key order."""
    metadata = sa.MetaData()
    reflected = sa.Table(table, metadata, autoload_with=engine)
    key = reflected.primary_key.columns.values()[0]
    with engine.connect() as connection:
        result = connection.execute(sa.select(*[reflected.c[c] for c in columns]).order_by(key))
        return [tuple(_plain(v) for v in row) for row in result]


def _plain(value):
    """Backends return datetimes with or without a zone and booleans as bool or int: compare the values."""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, bool):
        return int(value)
    return value


def _fill_at_0001(source_engine, target_engine):
    """Copy the shipped catalog into a database at schema 0001, as hwdb 0001 wrote it (no accumulate modes)."""
    db.upgrade(target_engine, "0001")
    metadata = sa.MetaData()
    metadata.reflect(target_engine, only=TABLES_0001)
    with target_engine.begin() as connection:
        for name in TABLES_0001:
            table = metadata.tables[name]
            columns = [c.name for c in table.columns]
            rows = _rows(source_engine, name, [f"{c}" for c in columns] + (["accumulate"] if name == "peak" else []))
            if name == "peak":
                rows = [row[:-1] for row in rows if row[-1] == ""]
            if rows:
                connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    return {name: [c.name for c in metadata.tables[name].columns] for name in TABLES_0001}


def _snapshot(engine, columns):
    return {name: _rows(engine, name, cols) for name, cols in columns.items()}


def test_a_catalog_filled_at_0001_survives_upgrade_downgrade_upgrade(filled_db, empty_url):
    source = db.make_engine(f"sqlite:///{filled_db}")
    target = db.make_engine(empty_url)
    try:
        columns = _fill_at_0001(source, target)
        before = _snapshot(target, columns)
        assert len(before["spec_revision"]) >= 100 and len(before["peak"]) > 1000
        db.upgrade(target)
        assert db.current_revision(target) == db.SCHEMA_HEAD
        assert _snapshot(target, columns) == before  # every row and value survived
        with target.connect() as connection:
            records = dict(connection.execute(sa.text(
                "SELECT r.id, r.record FROM spec_revision r JOIN device_current c ON c.device_id = r.device_id AND c.revision_number = r.number")).all())
            current = dict(connection.execute(sa.text(
                "SELECT r.id, c.record FROM spec_revision r JOIN device_current c ON c.device_id = r.device_id AND c.revision_number = r.number")).all())
            assert records == current  # the latest revision's record is backfilled exactly
            assert connection.execute(sa.text("SELECT count(*) FROM spec_revision WHERE record IS NULL")).scalar() == 0
            assert connection.execute(sa.text("SELECT count(*) FROM catalog_release WHERE last_revision_id IS NULL")).scalar() == 0
        catalog = Catalog(engine=target)
        assert catalog.device("t4").peak("fp16").value == 65e12
        db.downgrade(target, "0001")
        assert _snapshot(target, columns) == before
        db.upgrade(target)
        assert Catalog(engine=target).device("h100").peak("bf16").value == 989.4e12
    finally:
        source.dispose()
        target.dispose()
