"""Engines, the schema (alembic), one-transaction writes, and the lock that serialises first use."""

import contextlib
import os
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from hwdb.config import redact, sqlite_path, user_data_dir
from hwdb.errors import DatabaseError, SchemaVersionError
from hwdb.resources import migrations_dir

SCHEMA_HEAD = "0003"
"""The alembic head this hwdb writes; hwdb.current checks it without importing alembic (a test keeps it true)."""

ADVISORY_LOCK_KEY = 0x68776462  # "hwdb": PostgreSQL advisory lock serialising upgrades and releases


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout.

    The default SQLite file's folder is created; a path the user named must be in an existing folder.
    """
    path = sqlite_path(url)
    if path is not None:
        if path.is_dir():
            raise DatabaseError(f"{path} is a folder, not a database file")
        if path.parent == user_data_dir():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create {path.parent}: {error.strerror}") from None
        elif not path.parent.is_dir():
            raise DatabaseError(f"folder {path.parent} does not exist")
    url = _with_driver(url)
    try:
        engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    except ImportError as error:
        hint = " (pip install 'hwdb[postgres]')" if url.startswith("postgres") else ""
        raise DatabaseError(f"cannot use database URL {_redact(url)}: {error}{hint}") from None
    except (SQLAlchemyError, ValueError) as error:
        raise DatabaseError(f"cannot use database URL {_redact(url)}: {error}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _with_driver(url: str) -> str:
    """'postgresql://' means psycopg 3 (hwdb's postgres extra) unless psycopg2 is what is installed."""
    if url.startswith(("postgresql://", "postgres://")):
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + url.partition("://")[2]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def describe(error: SQLAlchemyError, engine: Engine | None = None) -> str:
    """The driver's own message where there is one (SQLAlchemy wraps it with a long preamble), and for an
    SQLite file on a read-only or full file system, that cause."""
    message = str(getattr(error, "orig", None) or error)
    path = sqlite_path(str(engine.url)) if engine is not None else None
    if path is not None:
        try:
            stat = os.statvfs(path.parent)
        except OSError:
            return message
        if stat.f_flag & os.ST_RDONLY:
            return f"{message} ({path.parent} is on a read-only file system)"
        if stat.f_bavail * stat.f_frsize < 1 << 20 and "full" not in message:
            return f"{message} (the disk holding {path.parent} is full)"
    return message


def _redact(url: str) -> str:
    """The URL without a password and with the dialect as users write it (not the driver hwdb picked)."""
    scheme, sep, rest = url.partition("://")
    return redact(scheme.split("+")[0] + sep + rest)


@contextlib.contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """Serialise first-use set-up across processes: a lock file beside an SQLite file, an advisory lock on PostgreSQL."""
    path = sqlite_path(str(engine.url))
    if path is not None:
        import fcntl
        import hashlib

        # The lock lives in hwdb's own folder, never beside a file the user named.
        locks = user_data_dir() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
        with open(locks / f"{name}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        try:
            connection = engine.connect()
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot open the catalog at {_redact(str(engine.url))}: {describe(error, engine)}") from None
        with connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                connection.commit()
    else:
        yield


def alembic_config(connection=None):
    """An alembic Config pointing at the shipped migrations, optionally bound to `connection`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None for an empty database."""
    from alembic.migration import MigrationContext

    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as error:
        raise DatabaseError(f"cannot open the catalog at {_redact(str(engine.url))}: {describe(error, engine)}") from None


def known_revisions() -> set[str]:
    return set(revision_order())


def revision_order() -> list[str]:
    """The shipped schema revisions, oldest first."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()][::-1]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction; refuse a database from a newer hwdb."""
    from alembic import command

    try:
        found = current_revision(engine)
        if found is not None and found not in known_revisions():
            raise SchemaVersionError(
                f"the catalog at {_redact(str(engine.url))} has schema {found}, newer than this hwdb knows; upgrade hwdb"
            )
        with _migration_connection(engine) as connection:
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as error:
        raise DatabaseError(f"cannot open the catalog at {_redact(str(engine.url))}: {describe(error, engine)}") from None


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    try:
        with _migration_connection(engine) as connection:
            command.downgrade(alembic_config(connection), revision)
    except SQLAlchemyError as error:
        raise DatabaseError(f"cannot downgrade the catalog at {_redact(str(engine.url))}: {describe(error, engine)}") from None


@contextlib.contextmanager
def _migration_connection(engine: Engine) -> Iterator:
    """One transaction for a migration. On SQLite, foreign keys are off while it runs: alembic rebuilds a
    table to alter it, and dropping the old copy would otherwise cascade-delete every row that refers to
    it. The keys are checked before the transaction commits."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise DatabaseError(f"the migration would leave {len(broken)} rows pointing at missing rows (first: {broken[0]}); nothing was changed")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def author() -> str:
    """Who makes a revision: HWDB_AUTHOR, else the OS user."""
    import getpass

    try:
        return os.environ.get("HWDB_AUTHOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
