"""Reading a user's TOML or JSON file (a model description, devices to add) with one-line errors."""

import json
from pathlib import Path
from typing import Any

import tomli  # TOML 1.1; compiled on CPython, ~3x the standard library's tomllib (bench/toml_parse.py)

from hwdb.errors import InvalidSpecError


def read_structured(path: Path, *, max_bytes: int, what: str = "file") -> Any:
    """The parsed contents of a .json file (JSON) or any other (TOML); refuses what cannot be one."""
    if not path.exists():
        raise InvalidSpecError(f"{path}: no such file")
    if not path.is_file():
        raise InvalidSpecError(f"{path}: not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidSpecError(f"{path}: {size:,} bytes is too large for a {what}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSpecError(f"{path}: not a UTF-8 text file") from None
    except OSError as error:
        raise InvalidSpecError(f"{path}: cannot read: {error.strerror}") from None
    if not text.strip():
        raise InvalidSpecError(f"{path}: empty file")
    is_json = path.suffix.lower() == ".json"
    try:
        return json.loads(text) if is_json else tomli.loads(text)
    except (json.JSONDecodeError, tomli.TOMLDecodeError) as error:
        raise InvalidSpecError(f"{path.name}: not valid {'JSON' if is_json else 'TOML'}: {error}") from None
