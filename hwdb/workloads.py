"""Models by name or path: the built-in zoo, the descriptions shipped in data/models/, or a user's file.

The estimator builds models from plain data; this module finds and reads the files, turning every
problem into a one-line `InvalidSpecError` (exit code 2 in the CLI).
"""

import json
import tomllib
from pathlib import Path

from estimator.models import DescriptionError, Model, from_description
from estimator.zoo import ZOO, builtin
from hwdb.errors import InvalidSpecError
from hwdb.resources import data_dir

MAX_MODEL_FILE_BYTES = 10 * 2**20
"""A model description is a few kB; anything far larger is not one (refused before it is read)."""


def shipped_models() -> dict[str, Path]:
    """Model descriptions shipped in data/models/, by file stem."""
    folder = data_dir() / "models"
    return {path.stem: path for path in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}


def model_names() -> list[str]:
    return [*ZOO, *shipped_models()]


def read_model_file(path: Path) -> Model:
    """A TOML or JSON model description (format: `estimator.models`)."""
    if not path.exists():
        raise InvalidSpecError(f"{path}: no such file")
    if not path.is_file():
        raise InvalidSpecError(f"{path}: not a file")
    if path.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise InvalidSpecError(f"{path}: {path.stat().st_size:,} bytes is too large for a model description")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSpecError(f"{path}: not a UTF-8 text file") from None
    except OSError as error:
        raise InvalidSpecError(f"{path}: cannot read: {error.strerror}") from None
    if not text.strip():
        raise InvalidSpecError(f"{path}: empty file")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidSpecError(f"{path.name}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {error}") from None
    try:
        return from_description(data, path.name)
    except DescriptionError as error:
        raise InvalidSpecError(str(error)) from None


def load_model(name: str) -> Model:
    """A built-in model by name, a shipped description by name, or a path to a .toml/.json file."""
    try:
        return builtin(name)
    except KeyError:
        pass
    shipped = shipped_models()
    if name.lower() in shipped:
        return read_model_file(shipped[name.lower()])
    path = Path(name)
    if path.suffix.lower() in (".toml", ".json") or path.exists():
        return read_model_file(path)
    import difflib

    close = difflib.get_close_matches(name.lower(), model_names(), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; built-in: {', '.join(model_names())}, or a path to a .toml/.json file"
    raise InvalidSpecError(f"unknown model {name!r}{hint}")
