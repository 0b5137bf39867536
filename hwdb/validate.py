"""`hwdb validate`: the provenance and plausibility checks of a catalog data tree.

`load_catalog` already refuses a tree with an unsourced figure, a unit of the wrong dimension, a
duplicate alias or a derived peak more than 2% away from its datasheet figure. This module adds the
checks across figures (sparse = 2 x dense, FP16 matrix >= FP32 vector, plausible ranges, dates) and
that runtime device names resolve, and reports every problem rather than the first.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from estimator.hardware import Hardware
from estimator.peak import DATASHEET_TOLERANCE, relative_error
from hwdb.errors import HwdbError, InvalidSpecError
from hwdb.loader import CatalogData, load_catalog, parse_device
from hwdb.lookup import normalise, resolve

PLAUSIBLE = {
    "memory": (2**28, 16e12, "B"),  # 256 MiB .. 16 TB (a CPU socket's maximum)
    "memory_bandwidth": (10e9, 100e12, "B/s"),
    "boost_clock": (100e6, 7e9, "Hz"), "base_clock": (100e6, 7e9, "Hz"), "all_core_clock": (100e6, 7e9, "Hz"),
    "tdp": (1, 10_000, "W"),
    "host_link_bandwidth": (1e9, 1e12, "B/s"), "scale_up_bandwidth": (1e9, 10e12, "B/s"),
    "launch_price": (50, 10_000_000, "USD"),
}
"""Ranges no real device falls outside: a figure outside one is a typo or a unit slip (GB/s vs MB/s)."""

RUNTIME_NAMES = {
    # torch.cuda.get_device_name() and similar runtime strings -> the catalog entry they denote.
    "Tesla T4": "nvidia-t4",
    "Tesla P100-PCIE-16GB": "nvidia-p100-pcie",
    "Tesla V100-SXM2-32GB": "nvidia-v100-sxm2",
    "NVIDIA A100-SXM4-80GB": "nvidia-a100-sxm4-80gb",
    "NVIDIA A100-PCIE-40GB": "nvidia-a100-pcie-40gb",
    "NVIDIA A10": "nvidia-a10",
    "NVIDIA L4": "nvidia-l4",
    "NVIDIA H100 80GB HBM3": "nvidia-h100-sxm",
    "NVIDIA H100 PCIe": "nvidia-h100-pcie",
    "NVIDIA H200": "nvidia-h200-sxm",
    "NVIDIA GeForce RTX 4090": "nvidia-geforce-rtx-4090",
    "NVIDIA RTX A6000": "nvidia-rtx-a6000",
    "NVIDIA RTX 6000 Ada Generation": "nvidia-rtx-6000-ada",
    "AMD Instinct MI300X": "amd-mi300x",
    "AMD Radeon RX 7900 XTX": "amd-rx-7900-xtx",
}
"""Names frameworks report, checked to resolve to the right device wherever that device is in the catalog."""


@dataclass
class Report:
    """What `validate` found: counts of what was checked, and one line per problem."""

    devices: int = 0
    figures: int = 0
    peaks: int = 0
    cross_checked: int = 0
    sources: int = 0
    prices: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(root: Path) -> Report:
    """Load the data tree at `root` and run every check; never raises for a bad tree (it is a problem)."""
    report = Report()
    try:
        data = load_catalog(root, for_release=False)  # checking a tree needs no data entries or release identity
    except InvalidSpecError as error:
        report.problems.append(str(error))
        return report
    report.devices = len(data.devices)
    report.figures = sum(len(d.specs) for d in data.devices)
    report.peaks = sum(len(d.peaks) for d in data.devices)
    report.cross_checked = sum(1 for d in data.devices for p in d.peaks if p.datasheet_value is not None and p.derived_value is not None)
    report.sources = len(data.sources)
    report.prices = len(data.prices)
    for record in data.devices:
        report.problems += check_device(record)
    report.problems += check_runtime_names(data)
    report.problems += check_prices(data)
    return report


def check_device(record: Hardware, today: date | None = None) -> list[str]:
    """Cross-figure checks of one device."""
    problems = []
    where = record.slug
    for peak in record.peaks:
        if peak.sparse and peak.datasheet_value:
            dense = next((p for p in record.peaks if (p.precision, p.engine, p.accumulate, p.sparse) == (peak.precision, peak.engine, peak.accumulate, False)), None)
            if dense is not None and dense.datasheet_value and abs(relative_error(peak.datasheet_value, 2 * dense.datasheet_value)) > DATASHEET_TOLERANCE:
                problems.append(f"{where}: {peak.precision} sparse {peak.datasheet_value:.4g} is not 2 x dense {dense.datasheet_value:.4g} (2:4 sparsity doubles the rate)")
    fp16 = _best(record, "fp16", "matrix")
    fp32 = _best(record, "fp32", "vector")
    if fp16 is not None and fp32 is not None and fp16 < fp32 * (1 - DATASHEET_TOLERANCE):
        problems.append(f"{where}: FP16 matrix peak {fp16:.4g} is below the FP32 vector peak {fp32:.4g}")
    for name, (low, high, unit) in PLAUSIBLE.items():
        value = record.spec(name)
        if value is not None and not low <= value <= high:
            problems.append(f"{where}: {name} = {value:.4g} {unit} is outside the plausible range {low:.3g}..{high:.3g} {unit}")
    released = record.spec("release_date")
    if released:
        year = int(released[:4])
        if not 1990 <= year <= (today or date.today()).year + 1:
            problems.append(f"{where}: release_date {released} is not a plausible date")
    base, boost = record.spec("base_clock"), record.spec("boost_clock")
    if base and boost and base > boost:
        problems.append(f"{where}: base clock {base:.4g} Hz is above the boost clock {boost:.4g} Hz")
    return problems


def checked_device(entry, sources, architectures, where: str) -> Hardware:
    """`parse_device`, then `check_device`: what `hwdb add`, `hwdb edit` and `hwdb probe --save` accept passes `hwdb validate`."""
    record = parse_device(entry, sources, architectures, where)
    problems = check_device(record)
    if problems:
        raise InvalidSpecError(f"{where}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return record


def _best(record: Hardware, precision: str, engine: str) -> float | None:
    values = [p.value for p in record.peaks if (p.precision, p.engine, p.sparse) == (precision, engine, False)]
    return max(values) if values else None


def check_runtime_names(data: CatalogData) -> list[str]:
    names = {normalise(n): d.slug for d in data.devices for n in (d.slug, *d.aliases)}
    problems = []
    for runtime, slug in RUNTIME_NAMES.items():
        if not any(d.slug == slug for d in data.devices):
            continue
        try:
            found = resolve(runtime, names)
        except HwdbError as error:
            problems.append(f"runtime name {runtime!r} does not resolve: {error}")
            continue
        if found != slug:
            problems.append(f"runtime name {runtime!r} resolves to {found}, not {slug}")
    return problems


def check_prices(data: CatalogData, today: date | None = None) -> list[str]:
    limit = (today or date.today()).isoformat()
    return [f"prices.toml: {p.device} {p.provider} {p.offer}: date {p.date} is in the future" for p in data.prices if p.date > limit]
