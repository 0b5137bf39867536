"""Read and validate the catalog's TOML files into plain `Hardware` records, with derived peaks checked.

The format is documented in data/README.md. Everything here is standard library plus `estimator`;
nothing touches the database. Errors raise `InvalidSpecError` naming the file and the key.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from estimator.hardware import ACCUMULATE, Hardware, Peak, Source, Spec
from estimator.peak import DATASHEET_TOLERANCE, Derivation, relative_error
from estimator.units import ENGINES, PRECISIONS, UnitError, parse_quantity, rate_unit
from hwdb.errors import InvalidSpecError
from hwdb.resources import digests

# spec name -> (kind, SI unit). kind: int | text | date | quantity | link
SPEC_TYPES: dict[str, tuple[str, str]] = {
    "release_date": ("date", ""),
    "chips": ("int", ""),
    "cores": ("int", ""),
    "sms": ("int", ""),
    "cuda_cores": ("int", ""),
    "fp64_cores": ("int", ""),
    "tensor_cores": ("int", ""),
    "base_clock": ("quantity", "Hz"),
    "boost_clock": ("quantity", "Hz"),
    "all_core_clock": ("quantity", "Hz"),
    "memory": ("quantity", "B"),
    "memory_type": ("text", ""),
    "memory_bus_width": ("int", ""),
    "memory_bandwidth": ("quantity", "B/s"),
    "l2_cache": ("quantity", "B"),
    "l3_cache": ("quantity", "B"),
    "host_link": ("text", ""),
    "host_link_bandwidth": ("link", "B/s"),
    "scale_up_link": ("text", ""),
    "scale_up_links": ("int", ""),
    "scale_up_topology": ("text", ""),
    "scale_up_bandwidth": ("link", "B/s"),
    "tdp": ("quantity", "W"),
    "launch_price": ("quantity", "USD"),
}
DIRECTIONS = ("bidirectional", "per_direction")
DEVICE_KEYS = {"slug", "name", "vendor", "kind", "architecture", "form_factor", "aliases", "matrix_label", "specs", "peak",
               "calibration", "probe"}
PEAK_KEYS = {"precision", "engine", "sparse", "accumulate", "value", "status", "clock", "source", "note", "origin"}
PEAK_ORIGINS = ("datasheet", "measured")
"""A peak entry's figure is a datasheet's (checked against its derivation) or a measurement (`hwdb probe`:
the best rate attained, which no derivation bounds, so it is not cross-checked)."""
KINDS = ("gpu", "cpu", "tpu", "npu", "soc")
"""gpu; cpu; tpu (Google); npu (other AI accelerators: Gaudi, Inferentia, Trainium); soc (CPU, GPU and
NPU sharing one memory, e.g. Apple M-series: the figures are the whole chip's)."""
PRICE_KEYS = {"device", "kind", "provider", "instance", "offer", "devices", "usd_per_hour", "usd", "date", "source", "note"}
RATE_KEYS = {"unit", "ops_per_clock", "accumulate", "clock", "note"}
CLOCK_SPECS = ("boost_clock", "all_core_clock", "base_clock")


@dataclass(frozen=True)
class Rate:
    """Operations per clock per unit for one (engine, precision) of an architecture."""

    unit: str
    ops_per_clock: float
    accumulate: str | None = None
    clock: str = "boost_clock"  # the clock spec the rate runs at: all_core_clock for CPU SIMD/AMX
    note: str | None = None


@dataclass(frozen=True)
class Architecture:
    key: str
    name: str
    source: str
    rates: Mapping[tuple[str, str, str | None], Rate]  # (engine, precision, accumulate) -> Rate
    matrix_sparse_factor: float = 1.0
    sparse_precisions: frozenset[str] = frozenset()  # matrix precisions that 2:4 sparsity speeds up
    not_supported: frozenset[tuple[str, str]] = frozenset()  # (precision, engine) the architecture lacks
    matrix_label: str = "matrix"


@dataclass(frozen=True)
class Price:
    """A dated price: a cloud offer in USD per hour (for `devices` devices) or a street price in USD."""

    device: str  # device slug
    kind: str  # cloud | street
    provider: str
    offer: str  # instance type or shop listing
    devices: int
    usd: float  # per hour for cloud offers, once for street prices
    date: str
    source: str
    note: str | None = None

    @property
    def usd_per_device_hour(self) -> float | None:
        return self.usd / self.devices if self.kind == "cloud" else None


def by_device_hour(prices) -> list["Price"]:
    """Prices by device, kind, then USD per device (per hour for cloud offers): cheapest first."""
    return sorted(prices, key=lambda p: (p.device, p.kind, p.usd / p.devices))


@dataclass(frozen=True)
class CatalogData:
    """Everything in a data tree, validated: what a release loads into the database."""

    release: str
    sources: Mapping[str, Source]
    architectures: Mapping[str, Architecture]
    devices: tuple[Hardware, ...]
    prices: tuple[Price, ...] = ()
    entries: Mapping[str, dict] = field(default_factory=dict)  # slug -> the device's data entry (JSON-safe)
    content_hash: str = ""  # SHA-256 of the files: the identity of the release
    fingerprint: str = ""  # the cheap change detector checked on every start


def _read_toml(path: Path) -> dict[str, Any]:
    import tomli  # here, not at the top: `hwdb prices` imports this module and reads no TOML

    try:
        with path.open("rb") as handle:
            return tomli.load(handle)
    except tomli.TOMLDecodeError as error:
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


def _text(table: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional free-text field (note, form_factor, publisher): a string or absent."""
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidSpecError(f"{where}: {key} must be a string, got {type(value).__name__}")
    return value


def _source(table: Mapping[str, Any], sources: Mapping[str, Any], where: str) -> str:
    """The table's `source` id, which must be in one of the sources/*.toml files."""
    source = _require(table, "source", str, where)
    if source not in sources:
        raise InvalidSpecError(f"{where}: unknown source {source!r} (add it to a file in sources/)")
    return source


def parse_sources(table: Mapping[str, Any], where: str = "sources.toml") -> dict[str, Source]:
    if not isinstance(table, dict):
        raise InvalidSpecError(f"{where}: sources must be [source.ID] tables with url and title")
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
        sources[key] = Source(id=key, url=url, title=title, publisher=_text(entry, "publisher", here) or "")
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
            for precision, given in entry.get(engine, {}).items():
                at = f"{here} {engine}.{precision}"
                if precision not in PRECISIONS:
                    raise InvalidSpecError(f"{at}: unknown precision")
                # One rate, or one per accumulate mode: fp16 = [{accumulate = "fp32", ...}, {accumulate = "fp16", ...}]
                for rate in given if isinstance(given, list) else [given]:
                    rate = _parse_rate(rate, at)
                    if (engine, precision, rate.accumulate) in rates:
                        raise InvalidSpecError(f"{at}: two rates with accumulate {rate.accumulate!r}")
                    rates[(engine, precision, rate.accumulate)] = rate
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
        clash = {(p, e) for p, e in not_supported if any(k[:2] == (e, p) for k in rates)}
        if clash:
            raise InvalidSpecError(f"{here}: {sorted(clash)} both have a rate and are not_supported")
        result[key] = Architecture(
            key=key, name=_require(entry, "name", str, here), source=source, rates=rates,
            matrix_sparse_factor=float(factor), sparse_precisions=frozenset(sparse_precisions),
            not_supported=frozenset(not_supported), matrix_label=str(entry.get("matrix_label", "matrix")),
        )
    return result


def _table(value: Any, allowed: set[str], where: str, what: str) -> dict:
    """`value` as a table with only `allowed` keys, or a one-line error naming `what` it should be."""
    if not isinstance(value, dict):
        raise InvalidSpecError(f"{where}: {what} must be a table")
    unknown = set(value) - allowed
    if unknown:
        raise InvalidSpecError(f"{where}: unknown keys {sorted(unknown)}")
    return value


def _parse_rate(rate: Any, at: str) -> Rate:
    _table(rate, RATE_KEYS, at, "a rate {unit = ..., ops_per_clock = ...}")
    unit = _require(rate, "unit", str, at)
    if SPEC_TYPES.get(unit, ("",))[0] != "int":
        raise InvalidSpecError(f"{at}: unit {unit!r} is not a unit-count spec (e.g. cuda_cores, tensor_cores, cores)")
    ops = rate.get("ops_per_clock")
    if isinstance(ops, bool) or not isinstance(ops, (int, float)) or ops <= 0:
        raise InvalidSpecError(f"{at}: ops_per_clock must be a positive number")
    clock = rate.get("clock", "boost_clock")
    if clock not in CLOCK_SPECS:
        raise InvalidSpecError(f"{at}: clock must name a clock spec ({', '.join(CLOCK_SPECS)}), got {clock!r}")
    return Rate(unit=unit, ops_per_clock=float(ops), accumulate=_accumulate(rate, at), clock=clock, note=rate.get("note"))


def _accumulate(table: Mapping[str, Any], where: str) -> str | None:
    accumulate = table.get("accumulate")
    if accumulate is not None and accumulate not in ACCUMULATE:
        raise InvalidSpecError(f"{where}: accumulate must be one of {', '.join(ACCUMULATE)}, got {accumulate!r}")
    return accumulate


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
    return Spec(name=name, value=value, unit=unit, source=source, note=_text(entry, "note", here), direction=direction)


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
    accumulate: str | None
    value: float | None
    status: str
    clock_hz: float | None
    source: str
    note: str | None
    origin: str = "datasheet"


def _parse_peak(entry: Any, sources: Mapping[str, Any], where: str) -> _PeakEntry:
    _table(entry, PEAK_KEYS, where, "a peak")
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
    accumulate = _accumulate(entry, here)
    origin = entry.get("origin", "datasheet")
    if origin not in PEAK_ORIGINS:
        raise InvalidSpecError(f"{here}: origin must be one of {', '.join(PEAK_ORIGINS)}, got {origin!r}")
    return _PeakEntry(precision, engine, sparse, accumulate, value, status, clock_hz, source, _text(entry, "note", here), origin)


def _derive(specs: Mapping[str, Spec], arch: Architecture, key: tuple[str, str, str | None], sparse: bool, clock_hz: float | None) -> Derivation | None:
    """chips x clock x units x ops_per_clock for (engine, precision, accumulate), or None when a figure is missing.

    The clock is the one the vendor's figure assumes where the data names it (a peak's `clock`), else
    the rate's clock spec (`all_core_clock` for CPU SIMD rates), else the boost clock.
    """
    rate = arch.rates.get(key)
    if rate is None or rate.unit not in specs:
        return None
    clock_name = "vendor_rate_clock" if clock_hz else rate.clock
    clock = clock_hz or (specs[rate.clock].value if rate.clock in specs else None)
    if clock is None:
        return None
    chips = specs["chips"].value if "chips" in specs else 1  # a single-die device unless the data says otherwise
    return Derivation(
        chips=chips, clock_hz=clock, clock_name=clock_name, unit_name=rate.unit, units=specs[rate.unit].value,
        ops_per_clock=rate.ops_per_clock, sparse_factor=arch.matrix_sparse_factor if sparse else 1.0,
    )


PeakKey = tuple[str, str, bool, str | None]  # (precision, engine, sparse, accumulate)


def _describe(key: PeakKey) -> str:
    precision, engine, sparse, accumulate = key
    return f"{precision} {engine}{' sparse' if sparse else ''}{f' ({accumulate} accumulate)' if accumulate else ''}"


def build_peaks(
    entries: list[_PeakEntry], specs: Mapping[str, Spec], arch: Architecture | None, where: str
) -> tuple[tuple[Peak, ...], frozenset[tuple[str, str]]]:
    """Merge datasheet entries with derivations; return the peaks and the (precision, engine) pairs the device lacks."""
    by_key: dict[PeakKey, _PeakEntry] = {}
    unsupported = set()
    for entry in entries:
        key = (entry.precision, entry.engine, entry.sparse, entry.accumulate)
        if key in by_key:
            raise InvalidSpecError(f"{where}: two peaks for {_describe(key)}")
        by_key[key] = entry
        if entry.status == "not_supported":
            unsupported.add((entry.precision, entry.engine))
    keys = {k for k, e in by_key.items() if e.status == "supported"}
    if arch is not None:
        modes: dict[tuple[str, str], set[str | None]] = {}  # (engine, precision) -> the accumulate modes rated
        for engine, precision, accumulate in arch.rates:
            modes.setdefault((engine, precision), set()).add(accumulate)
        for key in keys:
            pair_modes = modes.get((key[1], key[0]), set())
            if key[3] is None and pair_modes and None not in pair_modes:
                raise InvalidSpecError(
                    f"{where}: {_describe(key)}: the architecture rates {key[0]} by accumulate mode "
                    f"({', '.join(sorted(pair_modes))}); say which with accumulate = ..."
                )
        for engine, precision, accumulate in arch.rates:
            if (precision, engine) not in unsupported:
                keys.add((precision, engine, False, accumulate))
                if engine == "matrix" and precision in arch.sparse_precisions:
                    keys.add((precision, engine, True, accumulate))
        # What the architecture's sources say it lacks, unless the device's own data gives a figure.
        unsupported |= {pair for pair in arch.not_supported if not any(k[:2] == pair for k in keys)}
    peaks = []
    order = lambda k: (PRECISIONS.index(k[0]), ENGINES.index(k[1]), k[2], ACCUMULATE.index(k[3]) if k[3] else -1)
    clocks: dict[tuple[str, str, str | None], float] = {}  # the clock a vendor's figure assumes, where the data names one
    for e in entries:
        if e.clock_hz:
            clocks.setdefault((e.precision, e.engine, e.accumulate), e.clock_hz)
    for key in sorted(keys, key=order):
        precision, engine, sparse, accumulate = key
        entry = by_key.get(key)
        clock_hz = clocks.get((precision, engine, accumulate))
        derivable = arch is not None and (not sparse or precision in arch.sparse_precisions)
        derivation = _derive(specs, arch, (engine, precision, accumulate), sparse, clock_hz) if derivable else None
        if entry is None and derivation is None:
            continue
        measured = entry is not None and entry.origin == "measured"
        datasheet = entry.value if entry and not measured else None
        value = entry.value if entry and entry.value is not None else derivation.value
        peaks.append(Peak(
            precision=precision, engine=engine, sparse=sparse, accumulate=accumulate, value=value,
            origin="measured" if measured else "datasheet" if datasheet is not None else "derived",
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
    _table(entry, DEVICE_KEYS, here, "a device")
    if slug != slug.lower() or not slug.replace("-", "").isalnum():
        raise InvalidSpecError(f"{here}: slug must be lower-case letters, digits and '-'")
    arch_key = entry.get("architecture")
    if arch_key is not None and not isinstance(arch_key, str):
        raise InvalidSpecError(f"{here}: architecture must be the name of a table in architectures/")
    arch = architectures.get(arch_key) if arch_key else None
    if arch_key and arch is None:
        raise InvalidSpecError(f"{here}: unknown architecture {arch_key!r} (add it to a file in architectures/)")
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
    kind = _require(entry, "kind", str, here)
    if kind not in KINDS:
        raise InvalidSpecError(f"{here}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    calibration = entry.get("calibration")
    if calibration is not None:
        from estimator.calibration import Calibration

        try:
            Calibration.from_dict(calibration)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidSpecError(f"{here}: calibration is not a fitted calibration table ({type(error).__name__}: {error})") from None
    probe = entry.get("probe")
    if probe is not None and not isinstance(probe, dict):
        raise InvalidSpecError(f"{here}: probe must be a table")
    record = Hardware(
        slug=slug, name=_require(entry, "name", str, here), vendor=_require(entry, "vendor", str, here),
        kind=kind, architecture=arch_key, form_factor=_text(entry, "form_factor", here),
        aliases=tuple(a.strip().lower() for a in aliases), specs=specs, peaks=peaks, unsupported=unsupported,
        sources={k: sources[k] for k in sorted(used - {None})}, matrix_label=_matrix_label(entry, arch, here),
        sparse_precisions=arch.sparse_precisions if arch else None,
        calibration=plain(calibration) if calibration is not None else None, probe=plain(probe) if probe is not None else None,
    )
    problems = derivation_problems(record)
    if problems:
        raise InvalidSpecError(f"{here}: {problems[0]}")
    return record


def _matrix_label(entry: Mapping[str, Any], arch: Architecture | None, where: str) -> str:
    """What the vendor calls the matrix engine: the device's own `matrix_label`, else its architecture's."""
    label = entry.get("matrix_label", arch.matrix_label if arch else "matrix")
    if not isinstance(label, str) or not label.strip():
        raise InvalidSpecError(f"{where}: matrix_label must be a non-empty string")
    return label.strip()


def derivation_problems(record: Hardware, tolerance: float = DATASHEET_TOLERANCE) -> list[str]:
    """Every peak whose derived figure is more than `tolerance` away from its datasheet figure."""
    problems = []
    for peak in record.peaks:
        if peak.datasheet_value is not None and peak.derived_value is not None:
            error = relative_error(peak.derived_value, peak.datasheet_value)
            if abs(error) > tolerance:
                problems.append(
                    f"{_describe((peak.precision, peak.engine, peak.sparse, peak.accumulate))}: derived "
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


def _merged_tables(root: Path, folder: str) -> dict[str, Any]:
    """The top-level tables of every ``folder/*.toml``, keyed by id; an id defined twice is an error."""
    merged: dict[str, Any] = {}
    where: dict[str, str] = {}
    for path in sorted((root / folder).glob("*.toml")):
        name = path.relative_to(root).as_posix()
        for key, value in _read_toml(path).items():
            if key in merged:
                raise InvalidSpecError(f"{name}: [{key}] is also defined in {where[key]}")
            merged[key], where[key] = value, name
    return merged


def parse_prices(table: Mapping[str, Any], sources: Mapping[str, Any], devices: Mapping[str, Hardware], where: str = "prices.toml") -> tuple[Price, ...]:
    """The dated cloud and street prices: ``[[price]]`` tables, each naming a device and a source."""
    entries = table.get("price", [])
    if not isinstance(entries, list):
        raise InvalidSpecError(f"{where}: 'price' must be an array of tables ([[price]])")
    prices = []
    for index, entry in enumerate(entries, 1):
        here = f"{where} price #{index}"
        _table(entry, PRICE_KEYS, here, "a price")
        device = _require(entry, "device", str, here)
        if device not in devices:
            raise InvalidSpecError(f"{here}: unknown device {device!r}")
        kind = entry.get("kind", "cloud")
        if kind not in ("cloud", "street"):
            raise InvalidSpecError(f"{here}: kind must be \"cloud\" or \"street\"")
        date = str(_require(entry, "date", object, here))
        if not _is_date(date):
            raise InvalidSpecError(f"{here}: date must be YYYY-MM-DD or YYYY-MM, got {date!r}")
        count = entry.get("devices", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidSpecError(f"{here}: devices must be a positive integer")
        try:
            if kind == "cloud":
                value = parse_quantity(_require(entry, "usd_per_hour", (int, float), here), "USD")
            else:
                value = parse_quantity(_require(entry, "usd", (int, float), here), "USD")
        except UnitError as error:
            raise InvalidSpecError(f"{here}: {error}") from None
        if value <= 0:
            raise InvalidSpecError(f"{here}: price must be positive")
        prices.append(Price(
            device=device, kind=kind, provider=_require(entry, "provider", str, here),
            offer=str(entry.get("instance", entry.get("offer", ""))), devices=count, usd=value, date=date,
            source=_source(entry, sources, here), note=_text(entry, "note", here),
        ))
    return tuple(prices)


def load_architectures(root: Path) -> dict[str, Architecture]:
    """The architecture rate tables of a data tree alone (what `hwdb probe` derives a CPU's peak from)."""
    sources = parse_sources(_merged_tables(root, "sources"), "sources/")
    return parse_architectures(_merged_tables(root, "architectures"), sources, "architectures/")


def load_catalog(root: Path, *, for_release: bool = True) -> CatalogData:
    """Read, validate and derive a whole data tree; raises `InvalidSpecError` on the first problem.

    `for_release=False` leaves out what only applying the tree as a release needs (the devices' data
    entries, the content hash and the fingerprint): `hwdb validate` checks a tree 15% faster so.
    """
    if not root.is_dir():
        raise InvalidSpecError(f"{root}: not a catalog folder")
    release = _require(_read_toml(root / "release.toml"), "name", str, "release.toml")
    sources = parse_sources(_merged_tables(root, "sources"), "sources/")
    architectures = parse_architectures(_merged_tables(root, "architectures"), sources, "architectures/")
    devices: dict[str, Hardware] = {}
    entries: dict[str, dict] = {}
    names: dict[str, str] = {}
    for path, entry in iter_device_tables(root):
        record = parse_device(entry, sources, architectures, path.relative_to(root).as_posix())
        if for_release:
            entries[record.slug] = plain(entry)
        if record.slug in devices:
            raise InvalidSpecError(f"{path.name}: duplicate device slug {record.slug!r}")
        for name in (record.slug, *record.aliases):
            if names.get(name, record.slug) != record.slug:
                raise InvalidSpecError(f"{path.name}: name {name!r} is used by both {names[name]} and {record.slug}")
            names[name] = record.slug
        devices[record.slug] = record
    prices_file = root / "prices.toml"
    prices = parse_prices(_read_toml(prices_file), sources, devices) if prices_file.is_file() else ()
    content_hash, fingerprint = digests(root) if for_release else ("", "")
    return CatalogData(release=release, sources=sources, architectures=architectures, devices=tuple(devices.values()),
                       prices=prices, entries=entries, content_hash=content_hash, fingerprint=fingerprint)


def plain(value: Any) -> Any:
    """A TOML value as JSON-safe data (dates and times become ISO strings)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
