"""Models by name or path: the built-in zoo, the descriptions and transformer configs shipped in
data/models/, or a user's file.

A ``.toml``/``.json`` layer description becomes an `estimator.models.Model`; a Hugging Face style
``config.json`` (it has a ``model_type``), or a folder holding one, becomes an
`estimator.transformer.TransformerConfig`; an ``.onnx`` graph becomes a `Model` through
`estimator.onnx_io.from_onnx` (the ``onnx`` extra), with its dynamic dimensions set by `dims`. The estimator builds models from plain data; this module
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
MAX_ONNX_BYTES = 2**31
"""ONNX graphs with their weights inline are protobufs, which cannot exceed 2 GiB."""


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


def read_onnx(path: Path, dims=None) -> Model:
    """An ONNX graph's layer costs (`estimator.onnx_io.from_onnx`), with one-line errors."""
    from estimator.onnx_io import OnnxImportError, from_onnx

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidSpecError(f"{path}: no such file") from None
    except OSError as error:
        raise InvalidSpecError(f"{path}: cannot read: {error.strerror}") from None
    if path.is_dir():
        raise InvalidSpecError(f"{path}: is a folder, not an ONNX file")
    if size == 0:
        raise InvalidSpecError(f"{path}: empty file")
    if size > MAX_ONNX_BYTES:
        raise InvalidSpecError(f"{path}: {size:,} bytes is larger than an ONNX protobuf can be (2 GiB)")
    try:
        with open(path, "rb") as handle:
            first = handle.read(1)[0]
            # A protobuf starts with a field tag: field number >= 1 and a wire type (0, 1, 2 or 5). Anything
            # else (a zero-filled or sparse file, text) is refused before gigabytes are read.
            if first >> 3 == 0 or first & 7 not in (0, 1, 2, 5):
                raise InvalidSpecError(f"{path.name}: not an ONNX model (byte 0 is 0x{first:02x}, not a protobuf field tag)")
            handle.seek(0)
            data = handle.read()
    except OSError as error:
        raise InvalidSpecError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return from_onnx(data, dims, name=path.stem)
    except OnnxImportError as error:
        raise InvalidSpecError(f"{path.name}: {error}") from None


def load_model(name: str, dims=None) -> Workload:
    """A built-in model by name, a shipped description or config by name, or a path to a .toml/.json file
    (or a folder holding a Hugging Face ``config.json``), or to an .onnx graph (`dims` sets its dynamic
    dimensions: ``{"sequence": 128}``)."""
    path = Path(name)
    if path.suffix.lower() == ".onnx":
        return read_onnx(path, dims)
    if dims:
        raise InvalidSpecError(f"--dim sets an ONNX graph's dynamic dimensions; {name} is not an .onnx file")
    try:
        return builtin(name)
    except KeyError:
        pass
    shipped = shipped_models()
    if name.lower() in shipped:
        return read_model_file(shipped[name.lower()])
    if path.suffix.lower() in (".toml", ".json") or path.exists():
        return read_model_file(path)
    import difflib

    close = difflib.get_close_matches(name.lower(), model_names(), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; built-in: {', '.join(model_names())}, or a path to a .toml/.json/.onnx file"
    raise InvalidSpecError(f"unknown model {name!r}{hint}")
