"""Models by name or path: the built-in zoo, the descriptions shipped in data/models/, or a user's file.

The estimator builds models from plain data; this module finds and reads the files, turning every
problem into a one-line `InvalidSpecError` (exit code 2 in the CLI).
"""

from pathlib import Path

from estimator.models import DescriptionError, Model, from_description
from estimator.zoo import ZOO, builtin
from hwdb.errors import InvalidSpecError
from hwdb.files import read_structured
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
    data = read_structured(path, max_bytes=MAX_MODEL_FILE_BYTES, what="model description")
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
