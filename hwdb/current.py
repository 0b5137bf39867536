"""The read path of `hwdb peak/show/list`: the `device_current` table through the standard-library sqlite3.

Importing SQLAlchemy costs about 0.3 s, longer than the whole command may take, so reads of an
up-to-date SQLite catalog go straight to sqlite3. Anything else (first use, a changed release, a
schema upgrade, a PostgreSQL URL) takes the full `hwdb.catalog.Catalog` path once.
"""

import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from estimator.hardware import Hardware
from hwdb.lookup import normalise, resolve

SCHEMA_HEAD = "0003"  # must equal hwdb.db.SCHEMA_HEAD (a test checks), without importing sqlalchemy


class Snapshot:
    """All current device records, with their lookup names; what readers query."""

    def __init__(self, records: Mapping[str, str], names: Mapping[str, str], *, include_retired: bool = False):
        self._records = dict(records)  # slug -> JSON record, decoded on demand
        self.names = dict(names)  # normalised name -> slug
        self.include_retired = include_retired

    def device(self, name: str) -> Hardware:
        """The record `name` denotes (slug or alias, case-insensitive); raises UnknownDeviceError with suggestions."""
        slug = resolve(name, self.names)
        return Hardware.from_dict(json.loads(self._records[slug]))

    def devices(self) -> list[Hardware]:
        """Every device, by slug; retired ones only with ``include_retired`` (a retired device still resolves by name)."""
        records = [Hardware.from_dict(json.loads(self._records[slug])) for slug in sorted(self._records)]
        return records if self.include_retired else [r for r in records if not r.retired]


def names_of(slug: str, aliases: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {normalise(n): slug for n in (slug, *aliases)}


def _current(path: Path, fingerprint: str, read):
    """`read(connection)` on an up-to-date catalog file (this hwdb's schema, filled from this data), else None."""
    if not path.is_file():
        return None
    connection = connect_read_only(path)
    if connection is None:
        return None
    try:
        connection.execute("BEGIN")  # one read transaction: every query below sees the same catalog (WAL snapshot)
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        if version != [(SCHEMA_HEAD,)]:
            return None
        release = connection.execute("SELECT fingerprint FROM catalog_release ORDER BY id DESC LIMIT 1").fetchone()
        if release is None or release[0] != fingerprint:
            return None
        return read(connection)
    except sqlite3.Error:
        return None  # no tables yet, or locked mid-upgrade: the full path decides
    finally:
        connection.close()


def connect_read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to an SQLite file, or None where sqlite3 cannot open it.

    A catalog in WAL mode needs its -shm file beside it, which a read-only file system cannot hold:
    there it is opened as immutable, which is exact when no write-ahead log is left over (hwdb
    checkpoints and removes it when its last writer closes) and nothing can write to the disk.
    """
    uri = f"file:{quote(str(path))}?mode=ro"
    for attempt in (uri, uri + "&immutable=1"):
        try:
            connection = sqlite3.connect(attempt, uri=True, timeout=30, isolation_level=None)
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return connection
        except sqlite3.Error:
            wal = path.with_name(path.name + "-wal")
            if os.access(path.parent, os.W_OK) or (wal.exists() and wal.stat().st_size > 0):
                return None  # not the read-only case: the full path reports what is wrong
    return None


def read_sqlite(path: Path, fingerprint: str) -> Snapshot | None:
    """The catalog's current records, or None when the file is missing, at another schema, or filled from other data."""

    def read(connection) -> Snapshot:
        records = dict(connection.execute("SELECT slug, record FROM device_current"))
        names: dict[str, str] = {}
        for alias, slug in connection.execute(
            "SELECT alias.alias, device.slug FROM alias JOIN device ON device.id = alias.device_id"
        ):
            names[normalise(alias)] = slug
        for slug in records:
            names[normalise(slug)] = slug
        return Snapshot(records, names)

    return _current(path, fingerprint, read)


def sqlite_schema(path: Path) -> tuple[str | None] | None:
    """``(revision,)`` stamped in an SQLite catalog file (``(None,)``: no schema yet), or None when sqlite3
    cannot read the file (not a database, locked): the caller then takes the full path for its error."""
    connection = connect_read_only(path)
    if connection is None:
        return None
    try:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchall():
            return (None,)
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        if len(rows) > 1:
            return None  # several heads: alembic says what that means
        return (rows[0][0] if rows else None,)
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def read_sqlite_with(path: Path, fingerprint: str, use) -> tuple | None:
    """``(use(connection),)`` on an up-to-date catalog file, or None where `read_sqlite` would give None.

    An `sqlite3.Error` inside `use` (say, the file locked by a writer) also gives None: the caller then
    takes the full path, which waits for the lock.
    """
    return _current(path, fingerprint, lambda connection: (use(connection),))


PRICE_COLUMNS = ("device_slug", "kind", "provider", "offer", "devices", "usd", "date", "source_id", "note")


def read_sqlite_prices(path: Path, fingerprint: str) -> list[tuple] | None:
    """The latest release's price rows (`PRICE_COLUMNS`), or None where `read_sqlite` would give None."""
    query = (f"SELECT {', '.join(PRICE_COLUMNS)} FROM price "
             "WHERE release_id = (SELECT max(id) FROM catalog_release)")
    return _current(path, fingerprint, lambda connection: connection.execute(query).fetchall())
