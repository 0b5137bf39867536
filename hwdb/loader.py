"""Read and validate the catalog's TOML files into plain `Hardware` records, with derived peaks checked.

The format is documented in data/README.md. Everything here is standard library plus `estimator`;
nothing touches the database. Errors raise `InvalidSpecError` naming the file and the key.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from estimator.hardware import Hardware, Peak, Source, Spec
from estimator.peak import DATASHEET_TOLERANCE, Derivation, relative_error
from estimator.units import ENGINES, PRECISIONS, UnitError, is_integer_precision, parse_quantity, rate_unit
from hwdb.errors import InvalidSpecError
from hwdb.resources import content_hash, fingerprint

# spec name -> (kind, SI unit). kind: int | text | date | quantity | link
SPEC_TYPES: dict[str, tuple[str, str]] = {
    "release_date": ("date", ""),
    "chips": ("int", ""),
    "sms": ("int", ""),
    "cuda_cores": ("int", ""),
    "fp64_cores": ("int", ""),
    "tensor_cores": ("int", ""),
    "base_clock": ("quantity", "Hz"),
    "boost_clock": ("quantity", "Hz"),
    "memory": ("quantity", "B"),
    "memory_type": ("text", ""),
    "memory_bandwidth": ("quantity", "B/s"),
    "l2_cache": ("quantity", "B"),
    "host_link": ("text", ""),
    "host_link_bandwidth": ("link", "B/s"),
    "scale_up_link": ("text", ""),
    "scale_up_bandwidth": ("link", "B/s"),
    "tdp": ("quantity", "W"),
    "launch_price": ("quantity", "USD"),
}
DIRECTIONS = ("bidirectional", "per_direction")
DEVICE_KEYS = {"slug", "name", "vendor", "kind", "architecture", "form_factor", "aliases", "specs", "peak"}
PEAK_KEYS = {"precision", "engine", "sparse", "value", "status", "clock", "source", "note"}


@dataclass(frozen=True)
class Rate:
    """Operations per clock per unit for one (engine, precision) of an architecture."""

    unit: str
    ops_per_clock: float
    note: str | None = None


@dataclass(frozen=True)
class Architecture:
    key: str
    name: str
    source: str
    rates: Mapping[tuple[str, str], Rate]  # (engine, precision) -> Rate
    matrix_sparse_factor: float = 1.0
    sparse_precisions: frozenset[str] = frozenset()  # matrix precisions that 2:4 sparsity speeds up
    not_supported: frozenset[tuple[str, str]] = frozenset()  # (precision, engine) the architecture lacks
    matrix_label: str = "matrix"


@dataclass(frozen=True)
class CatalogData:
    """Everything in a data tree, validated: what a release loads into the database."""

    release: str
    sources: Mapping[str, Source]
    architectures: Mapping[str, Architecture]
    devices: tuple[Hardware, ...]
    content_hash: str = ""  # SHA-256 of the files: the identity of the release
    fingerprint: str = ""  # the cheap change detector checked on every start


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InvalidSpecError(f"{path.name}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise InvalidSpecError(f"{path.name}: not a UTF-8 text file") from None
    except OSError as error:
        raise InvalidSpecError(f"{path}: cannot read: {error.strerror}") from None


def _require(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise InvalidSpecError(f"{where}: missing {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InvalidSpecError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _source(table: Mapping[str, Any], sources: Mapping[str, Any], where: str) -> str:
    """The table's `source` id, which must be in sources.toml."""
    source = _require(table, "source", str, where)
    if source not in sources:
        raise InvalidSpecError(f"{where}: unknown source {source!r} (add it to sources.toml)")
    return source


def parse_sources(table: Mapping[str, Any], where: str = "sources.toml") -> dict[str, Source]:
    sources = {}
    for key, entry in table.items():
        here = f"{where} [{key}]"
        if not isinstance(entry, dict):
            raise InvalidSpecError(f"{here}: must be a table with url and title")
        url = _require(entry, "url", str, here)
        if not url.startswith(("https://", "http://")):
            raise InvalidSpecError(f"{here}: url must be http(s), got {url!r}")
        title = _require(entry, "title", str, here).strip()
        if not title:
            raise InvalidSpecError(f"{here}: empty title")
        sources[key] = Source(id=key, url=url, title=title, publisher=str(entry.get("publisher", "")))
    return sources


def parse_architectures(table: Mapping[str, Any], sources: Mapping[str, str], where: str = "architectures.toml") -> dict[str, Architecture]:
    result = {}
    for key, entry in table.items():
        here = f"{where} [{key}]"
        if not isinstance(entry, dict):
            raise InvalidSpecError(f"{here}: must be a table")
        source = _source(entry, sources, here)
        rates = {}
        for engine in ENGINES:
            for precision, rate in entry.get(engine, {}).items():
                at = f"{here} {engine}.{precision}"
                if precision not in PRECISIONS:
                    raise InvalidSpecError(f"{at}: unknown precision")
                unit = _require(rate, "unit", str, at)
                if SPEC_TYPES.get(unit, ("",))[0] != "int":
                    raise InvalidSpecError(f"{at}: unit {unit!r} is not a unit-count spec (e.g. cuda_cores, tensor_cores)")
                ops = rate.get("ops_per_clock")
                if isinstance(ops, bool) or not isinstance(ops, (int, float)) or ops <= 0:
                    raise InvalidSpecError(f"{at}: ops_per_clock must be a positive number")
                rates[(engine, precision)] = Rate(unit=unit, ops_per_clock=float(ops), note=rate.get("note"))
        factor = entry.get("matrix_sparse_factor", 1)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1:
            raise InvalidSpecError(f"{here}: matrix_sparse_factor must be a number >= 1")
        sparse_precisions = _precision_list(entry.get("sparse_precisions", []), f"{here} sparse_precisions")
        if factor > 1 and not sparse_precisions:
            raise InvalidSpecError(f"{here}: matrix_sparse_factor > 1 needs sparse_precisions (the precisions 2:4 sparsity speeds up)")
        lacking = entry.get("not_supported", {})
        if not isinstance(lacking, dict) or set(lacking) - set(ENGINES):
            raise InvalidSpecError(f"{here}: not_supported must be a table {{matrix = [...], vector = [...]}}")
        not_supported = {
            (precision, engine)
            for engine, precisions in lacking.items()
            for precision in _precision_list(precisions, f"{here} not_supported.{engine}")
        }
        clash = {(p, e) for p, e in not_supported if (e, p) in rates}
        if clash:
            raise InvalidSpecError(f"{here}: {sorted(clash)} both have a rate and are not_supported")
        result[key] = Architecture(
            key=key, name=_require(entry, "name", str, here), source=source, rates=rates,
            matrix_sparse_factor=float(factor), sparse_precisions=frozenset(sparse_precisions),
            not_supported=frozenset(not_supported), matrix_label=str(entry.get("matrix_label", "matrix")),
        )
    return result


def _precision_list(value: Any, where: str) -> list[str]:
    if value == "all":
        return list(PRECISIONS)
    if not isinstance(value, list) or not all(isinstance(p, str) and p in PRECISIONS for p in value):
        raise InvalidSpecError(f"{where}: must be \"all\" or a list of precisions ({', '.join(PRECISIONS)})")
    return value


def _parse_spec(name: str, entry: Any, sources: Mapping[str, Any], where: str) -> Spec:
    here = f"{where} specs.{name}"
    if name not in SPEC_TYPES:
        raise InvalidSpecError(f"{here}: unknown spec name (known: {', '.join(SPEC_TYPES)})")
    if not isinstance(entry, dict) or "value" not in entry:
        raise InvalidSpecError(f"{here}: must be a table {{value = ..., source = ...}}")
    source = _source(entry, sources, here)
    kind, unit = SPEC_TYPES[name]
    raw, direction = entry["value"], entry.get("direction")
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise InvalidSpecError(f"{here}: must be a positive integer, got {raw!r}")
        value: Any = raw
    elif kind in ("text", "date"):
        value = str(raw) if kind == "date" else raw
        if not isinstance(value, str) or not value.strip():
            raise InvalidSpecError(f"{here}: must be a non-empty string")
        if kind == "date" and not _is_date(value):
            raise InvalidSpecError(f"{here}: must be a date YYYY-MM-DD or YYYY-MM, got {value!r}")
    else:
        try:
            value = parse_quantity(raw, unit)
        except UnitError as error:
            raise InvalidSpecError(f"{here}: {error}") from None
        if value <= 0:
            raise InvalidSpecError(f"{here}: must be positive")
        if kind == "link":
            if direction not in DIRECTIONS:
                raise InvalidSpecError(f"{here}: needs direction = \"bidirectional\" or \"per_direction\"")
            value = value / 2 if direction == "bidirectional" else value
    return Spec(name=name, value=value, unit=unit, source=source, note=entry.get("note"), direction=direction)


def _is_date(text: str) -> bool:
    parts = text.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return False
    month = int(parts[1])
    return 1 <= month <= 12 and (len(parts) == 2 or 1 <= int(parts[2]) <= 31)


@dataclass
class _PeakEntry:
    precision: str
    engine: str
    sparse: bool
    value: float | None
    status: str
    clock_hz: float | None
    source: str
    note: str | None


def _parse_peak(entry: Any, sources: Mapping[str, Any], where: str) -> _PeakEntry:
    if not isinstance(entry, dict):
        raise InvalidSpecError(f"{where}: a peak must be a table")
    unknown = set(entry) - PEAK_KEYS
    if unknown:
        raise InvalidSpecError(f"{where}: unknown keys {sorted(unknown)}")
    precision = _require(entry, "precision", str, where)
    engine = _require(entry, "engine", str, where)
    here = f"{where} ({precision} {engine})"
    if precision not in PRECISIONS:
        raise InvalidSpecError(f"{here}: unknown precision; choose from {', '.join(PRECISIONS)}")
    if engine not in ENGINES:
        raise InvalidSpecError(f"{here}: engine must be 'matrix' or 'vector'")
    sparse = entry.get("sparse", False)
    if not isinstance(sparse, bool):
        raise InvalidSpecError(f"{here}: sparse must be true or false")
    source = _source(entry, sources, here)
    status = entry.get("status", "supported")
    value = None
    if status == "not_supported":
        if "value" in entry:
            raise InvalidSpecError(f"{here}: a not_supported peak has no value")
    elif status != "supported":
        raise InvalidSpecError(f"{here}: status must be \"not_supported\" (or absent), got {status!r}")
    else:
        # Datasheets print FLOPS for floating point and TOPS for integers; a mix-up is a data error.
        try:
            value = parse_quantity(_require(entry, "value", str, here), rate_unit(precision))
        except UnitError as error:
            raise InvalidSpecError(f"{here}: {error}") from None
        if value <= 0:
            raise InvalidSpecError(f"{here}: value must be positive")
    clock_hz = None
    if "clock" in entry:
        try:
            clock_hz = parse_quantity(entry["clock"], "Hz")
        except UnitError as error:
            raise InvalidSpecError(f"{here}: clock: {error}") from None
    return _PeakEntry(precision, engine, sparse, value, status, clock_hz, source, entry.get("note"))


def _derive(specs: Mapping[str, Spec], arch: Architecture, key: tuple[str, str], sparse: bool, clock_hz: float | None) -> Derivation | None:
    """chips x clock x units x ops_per_clock for (engine, precision), or None when a figure is missing."""
    rate = arch.rates.get(key)
    units = specs.get(rate.unit).value if rate and rate.unit in specs else None
    boost = specs["boost_clock"].value if "boost_clock" in specs else None
    if rate is None or units is None or (clock_hz or boost) is None:
        return None
    chips = specs["chips"].value if "chips" in specs else 1  # a single-die device unless the data says otherwise
    return Derivation(
        chips=chips, clock_hz=clock_hz or boost, clock_name="boost_clock" if clock_hz is None else "vendor_rate_clock",
        unit_name=rate.unit, units=units, ops_per_clock=rate.ops_per_clock,
        sparse_factor=arch.matrix_sparse_factor if sparse else 1.0,
    )


def build_peaks(
    entries: list[_PeakEntry], specs: Mapping[str, Spec], arch: Architecture | None, where: str
) -> tuple[tuple[Peak, ...], frozenset[tuple[str, str]]]:
    """Merge datasheet entries with derivations; return the peaks and the (precision, engine) pairs the device lacks."""
    by_key: dict[tuple[str, str, bool], _PeakEntry] = {}
    unsupported = set()
    for entry in entries:
        key = (entry.precision, entry.engine, entry.sparse)
        if key in by_key:
            raise InvalidSpecError(f"{where}: two peaks for {entry.precision} {entry.engine}{' sparse' if entry.sparse else ''}")
        by_key[key] = entry
        if entry.status == "not_supported":
            unsupported.add((entry.precision, entry.engine))
    keys = {k for k, e in by_key.items() if e.status == "supported"}
    if arch is not None:
        for engine, precision in arch.rates:
            if (precision, engine) not in unsupported:
                keys.add((precision, engine, False))
                if engine == "matrix" and precision in arch.sparse_precisions:
                    keys.add((precision, engine, True))
        # What the architecture's sources say it lacks, unless the device's own data gives a figure.
        unsupported |= {pair for pair in arch.not_supported if not any(k[:2] == pair for k in keys)}
    peaks = []
    for precision, engine, sparse in sorted(keys, key=lambda k: (PRECISIONS.index(k[0]), ENGINES.index(k[1]), k[2])):
        entry = by_key.get((precision, engine, sparse))
        clock_hz = next((e.clock_hz for e in entries if (e.precision, e.engine) == (precision, engine) and e.clock_hz), None)
        derivable = arch is not None and (not sparse or precision in arch.sparse_precisions)
        derivation = _derive(specs, arch, (engine, precision), sparse, clock_hz) if derivable else None
        if entry is None and derivation is None:
            continue
        datasheet = entry.value if entry else None
        peaks.append(Peak(
            precision=precision, engine=engine, sparse=sparse,
            value=datasheet if datasheet is not None else derivation.value,
            origin="datasheet" if datasheet is not None else "derived",
            datasheet_value=datasheet, source=entry.source if entry else None,
            derivation=derivation, derivation_source=arch.source if derivation else None,
            note=entry.note if entry else None,
        ))
    return tuple(peaks), frozenset(unsupported)


def parse_device(entry: Any, sources: Mapping[str, Source], architectures: Mapping[str, Architecture], where: str) -> Hardware:
    """One ``[[device]]`` table into a `Hardware` record, with derived peaks checked against the datasheet."""
    if not isinstance(entry, dict):
        raise InvalidSpecError(f"{where}: a device must be a table")
    slug = _require(entry, "slug", str, where)
    here = f"{where} [{slug}]"
    unknown = set(entry) - DEVICE_KEYS
    if unknown:
        raise InvalidSpecError(f"{here}: unknown keys {sorted(unknown)}")
    if slug != slug.lower() or not slug.replace("-", "").isalnum():
        raise InvalidSpecError(f"{here}: slug must be lower-case letters, digits and '-'")
    arch_key = entry.get("architecture")
    arch = architectures.get(arch_key) if arch_key else None
    if arch_key and arch is None:
        raise InvalidSpecError(f"{here}: unknown architecture {arch_key!r} (add it to architectures.toml)")
    specs_table = entry.get("specs", {})
    if not isinstance(specs_table, dict):
        raise InvalidSpecError(f"{here}: specs must be a table")
    specs = {name: _parse_spec(name, value, sources, here) for name, value in specs_table.items()}
    raw_peaks = entry.get("peak", [])
    if not isinstance(raw_peaks, list):
        raise InvalidSpecError(f"{here}: peak must be an array of tables ([[device.peak]])")
    peaks, unsupported = build_peaks([_parse_peak(p, sources, here) for p in raw_peaks], specs, arch, here)
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise InvalidSpecError(f"{here}: aliases must be a list of names")
    used = {p.source for p in peaks} | {p.derivation_source for p in peaks} | {s.source for s in specs.values()}
    record = Hardware(
        slug=slug, name=_require(entry, "name", str, here), vendor=_require(entry, "vendor", str, here),
        kind=_require(entry, "kind", str, here), architecture=arch_key, form_factor=entry.get("form_factor"),
        aliases=tuple(a.strip().lower() for a in aliases), specs=specs, peaks=peaks, unsupported=unsupported,
        sources={k: sources[k] for k in sorted(used - {None})}, matrix_label=arch.matrix_label if arch else "matrix",
        sparse_precisions=arch.sparse_precisions if arch else None,
    )
    problems = derivation_problems(record)
    if problems:
        raise InvalidSpecError(f"{here}: {problems[0]}")
    return record


def derivation_problems(record: Hardware, tolerance: float = DATASHEET_TOLERANCE) -> list[str]:
    """Every peak whose derived figure is more than `tolerance` away from its datasheet figure."""
    problems = []
    for peak in record.peaks:
        if peak.datasheet_value is not None and peak.derived_value is not None:
            error = relative_error(peak.derived_value, peak.datasheet_value)
            if abs(error) > tolerance:
                problems.append(
                    f"{peak.precision} {peak.engine}{' sparse' if peak.sparse else ''}: derived "
                    f"{peak.derived_value:.4g} vs datasheet {peak.datasheet_value:.4g} ({error:+.1%}, over {tolerance:.0%})"
                )
    return problems


def iter_device_tables(root: Path) -> Iterator[tuple[Path, Any]]:
    for path in sorted((root / "devices").rglob("*.toml")):
        table = _read_toml(path)
        devices = table.get("device", [])
        if not isinstance(devices, list):
            raise InvalidSpecError(f"{path.name}: 'device' must be an array of tables ([[device]])")
        for entry in devices:
            yield path, entry


def load_catalog(root: Path) -> CatalogData:
    """Read, validate and derive a whole data tree; raises `InvalidSpecError` on the first problem."""
    if not root.is_dir():
        raise InvalidSpecError(f"{root}: not a catalog folder")
    release = _require(_read_toml(root / "release.toml"), "name", str, "release.toml")
    sources = parse_sources(_read_toml(root / "sources.toml"))
    architectures = parse_architectures(_read_toml(root / "architectures.toml"), sources)
    devices: dict[str, Hardware] = {}
    names: dict[str, str] = {}
    for path, entry in iter_device_tables(root):
        record = parse_device(entry, sources, architectures, path.relative_to(root).as_posix())
        if record.slug in devices:
            raise InvalidSpecError(f"{path.name}: duplicate device slug {record.slug!r}")
        for name in (record.slug, *record.aliases):
            if names.get(name, record.slug) != record.slug:
                raise InvalidSpecError(f"{path.name}: name {name!r} is used by both {names[name]} and {record.slug}")
            names[name] = record.slug
        devices[record.slug] = record
    return CatalogData(release=release, sources=sources, architectures=architectures, devices=tuple(devices.values()),
                       content_hash=content_hash(root), fingerprint=fingerprint(root))
