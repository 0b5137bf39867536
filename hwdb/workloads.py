"""Models by name or path: the built-in zoo, the descriptions and transformer configs shipped in
data/models/, or a user's file.

A ``.toml``/``.json`` layer description becomes an `estimator.models.Model`; a Hugging Face style
``config.json`` (it has a ``model_type``), or a folder holding one, becomes an
`estimator.transformer.TransformerConfig`. The estimator builds models from plain data; this module
finds and reads the files, turning every problem into a one-line `InvalidSpecError` (exit code 2 in
the CLI).
"""

from pathlib import Path

from estimator.models import DescriptionError, Model, from_description
from estimator.transformer import ConfigError, TransformerConfig
from estimator.zoo import ZOO, builtin
from hwdb.errors import InvalidSpecError
from hwdb.files import read_structured
from hwdb.resources import data_dir

MAX_MODEL_FILE_BYTES = 10 * 2**20
"""A model description is a few kB; anything far larger is not one (refused before it is read)."""


def shipped_models() -> dict[str, Path]:
    """Model descriptions and transformer configs shipped in data/models/, by file stem."""
    folder = data_dir() / "models"
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted([*folder.glob("*.toml"), *folder.glob("*.json")])}


def model_names() -> list[str]:
    return [*ZOO, *shipped_models()]


Workload = Model | TransformerConfig


def read_model_file(path: Path) -> Workload:
    """A TOML or JSON layer description (format: `estimator.models`), or a transformer ``config.json``."""
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    data = read_structured(path, max_bytes=MAX_MODEL_FILE_BYTES, what="model description")
    try:
        if isinstance(data, dict) and "model_type" in data:
            name = path.parent.name if path.name == "config.json" and path.parent.name else path.stem
            return TransformerConfig.from_hf(data, name)
        return from_description(data, path.name)
    except (DescriptionError, ConfigError) as error:
        raise InvalidSpecError(str(error)) from None


def load_model(name: str) -> Workload:
    """A built-in model by name, a shipped description or config by name, or a path to a .toml/.json file
    (or a folder holding a Hugging Face ``config.json``)."""
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
