"""Where the catalog lives (resolved at call time, never at import), and URLs made fit to print."""

import os
import sys
from pathlib import Path

ENV_URL = "HWDB_URL"
DATABASE_FILE = "hwdb.sqlite"


def user_data_dir() -> Path:
    """The per-user data folder (XDG on Linux, Application Support on macOS, LOCALAPPDATA on Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "hwdb"


def resolve_database_url(explicit: str | None = None) -> str:
    """The catalog URL, by precedence:

    1. `explicit` (the ``--db`` option or the ``url=`` argument);
    2. the ``HWDB_URL`` environment variable;
    3. an SQLite file in the user's data folder, created on first use.

    A plain path (no ``://``) is taken as an SQLite file.
    """
    url = explicit or os.environ.get(ENV_URL)
    if not url:
        return f"sqlite:///{user_data_dir() / DATABASE_FILE}"
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().absolute()}"
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (``sqlite:///path``), or None for other databases and in-memory SQLite."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def redact(url: str) -> str:
    """`url` with any password embedded in it replaced by ***, fit for a message or a revision note.

    >>> redact("https://alice:s3cret@hw.example.com/catalog.json?x=1")
    'https://alice:***@hw.example.com/catalog.json?x=1'
    """
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if "@" not in parts.netloc:
        return url
    credentials, _, host = parts.netloc.rpartition("@")
    user = credentials.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}" if ":" in credentials else f"{user}@{host}"))
