"""Files shipped with hwdb: the catalog data and the alembic migrations.

In a wheel they sit inside the package (``hwdb/_data``, ``hwdb/_migrations``, mapped there by the
build); in a source checkout they are the top-level ``data/`` and ``migrations/`` folders.
"""

from functools import cache
from pathlib import Path


@cache
def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def _locate(packaged: str, top_level: str) -> Path:
    installed = _package_dir() / packaged
    if installed.is_dir():  # a wheel installed on a file system: what importlib.resources would return
        return installed
    from importlib.resources import files  # other loaders; kept off the start-up path of `hwdb peak`

    inside = files("hwdb") / packaged
    if inside.is_dir():
        return Path(str(inside))
    checkout = _package_dir().parent / top_level
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"hwdb is installed without its {top_level}/ folder (looked in {inside} and {checkout})")


@cache
def data_dir() -> Path:
    """The shipped catalog: release.toml, prices.toml, sources/, architectures/, devices/."""
    return _locate("_data", "data")


@cache
def migrations_dir() -> Path:
    """The alembic environment (env.py, versions/)."""
    return _locate("_migrations", "migrations")


def catalog_files(root: Path) -> list[Path]:
    """The files that make up a catalog release, in a stable order (README and scratch folders excluded)."""
    fixed = [root / "release.toml", root / "prices.toml"]
    folders = [sorted((root / name).rglob("*.toml")) for name in ("sources", "architectures", "devices")]
    return [p for p in fixed if p.is_file()] + [path for paths in folders for path in paths]


CATALOG_FORMAT = 2
"""Bump when the loader derives records differently (new fields, new rules): databases filled by an
older hwdb then re-apply the release on next start, as they do when the data changes."""


def fingerprint(root: Path) -> str:
    """A cheap fingerprint of the catalog files (CRC-32 and size over paths and contents).

    Checked on every start to notice that the shipped data changed; zlib is already imported by
    the CLI framework, where hashlib would cost 10 ms of start-up. The release's SHA-256
    (`digests`) is what identifies a release; this only detects change.
    """
    return digests(root, sha256=False)[1]


def digests(root: Path, *, sha256: bool = True) -> tuple[str, str]:
    """(SHA-256 over the files' paths and contents: the identity of a release; `fingerprint`) of a data tree, each file read once ("" for the hash when not `sha256`)."""
    import zlib

    digest = None
    if sha256:
        import hashlib

        digest = hashlib.sha256()
    crc, size = 0, 0
    for path in catalog_files(root):
        name, content = path.relative_to(root).as_posix().encode(), path.read_bytes()
        crc = zlib.crc32(content, zlib.crc32(name, crc))
        size += len(content)
        if digest is not None:
            digest.update(name + b"\0" + content + b"\0")
    return (digest.hexdigest() if digest is not None else ""), f"{CATALOG_FORMAT}-{crc:08x}-{size}"
