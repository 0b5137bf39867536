"""`hwdb show DEVICE` and `hwdb list`."""

from typing import Annotated, Optional

import typer

from estimator.hardware import SPEC_NAMES, Hardware, PeakUnavailable
from estimator.units import PRECISIONS, format_rate, format_si
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import DbOpt, JsonOpt

CACHE_SPECS = {"l2_cache", "l3_cache"}  # on-chip SRAM sizes are powers of two: shown in MiB


def format_spec(record: Hardware, name: str) -> str:
    """A spec with its unit: '16 GiB', '320 GB/s', '1.59 GHz', '16 GB/s per direction (quoted 32 GB/s bidirectional)'."""
    spec = record.specs[name]
    if spec.unit == "USD":
        return f"${spec.value:,.0f}"
    if not spec.unit:
        return str(spec.value)
    if name == "memory":
        return format_memory(spec.value)
    text = format_si(spec.value, spec.unit, binary=name in CACHE_SPECS)
    if spec.direction == "bidirectional":
        return f"{text} each way ({format_si(spec.value * 2, spec.unit)} bidirectional)"
    if spec.direction == "per_direction":
        return f"{text} each way"
    return text


def format_memory(value: float) -> str:
    """Capacity in GB (10^9 bytes), with GiB beside it where the vendor quoted GiB: '80 GB', '16 GiB (17.2 GB)'."""
    decimal = format_si(value, "B")
    if value % 2**30 == 0 and value % 1e9 != 0:
        return f"{format_si(value, 'B', binary=True)} ({decimal})"
    return decimal


def show(
    device: Annotated[str, typer.Argument(help="Device slug or alias.")],
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Every figure of a device, with its source.

    Example: hwdb show h100-sxm
    """
    record = api.device(device, db=db)
    if json:
        out.print_json(record.to_dict())
        return
    out.echo(f"{record.name} ({record.slug})")
    details = [record.vendor, record.kind, record.architecture or "architecture unknown", record.form_factor or ""]
    out.echo("  " + " | ".join(d for d in details if d))
    if record.aliases:
        out.echo(f"  aliases: {', '.join(record.aliases)}")
    out.echo(f"  revision {record.revision} (release {record.release or 'local'})")
    spec_rows = [[name, format_spec(record, name), record.specs[name].source or ""] for name in SPEC_NAMES if name in record.specs]
    out.table("Figures", ["figure", "value", "source"], spec_rows)
    peak_rows = [
        [out.peak_label(record, p), format_rate(p.value, p.precision), p.origin, p.source or p.derivation_source or ""]
        for p in record.peaks
    ]
    out.table("Peaks", ["precision", "peak", "origin", "source"], peak_rows, right=(1,))
    lacking = sorted({p for p, _ in record.unsupported if not record.is_supported(p)}, key=PRECISIONS.index)
    if lacking:
        out.echo(f"  not supported: {', '.join(p.upper() for p in lacking)}")
    out.echo("Sources:")
    for source in record.sources.values():
        out.echo(f"  {source.id}: {source.title} <{source.url}>")


def _best(record: Hardware, precision: str) -> float | None:
    try:
        return record.peak(precision).value
    except PeakUnavailable:
        return None


def list_devices(
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Only this vendor (case-insensitive).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only this kind: gpu, cpu, tpu, npu, ...")] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", metavar="PRECISION", help=f"Sort by dense peak at this precision, highest first ({', '.join(PRECISIONS)}).")] = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The devices in the catalog.

    Example: hwdb list --vendor nvidia --sort bf16
    """
    if sort is not None and sort.lower() not in PRECISIONS:
        raise typer.BadParameter(f"unknown precision {sort!r}; choose from {', '.join(PRECISIONS)}", param_hint="--sort")
    records = [
        r for r in api.devices(db=db)
        if (vendor is None or r.vendor.lower() == vendor.lower()) and (kind is None or r.kind.lower() == kind.lower())
    ]
    precision = sort.lower() if sort else None
    if precision:
        records.sort(key=lambda r: -(_best(r, precision) or -1.0))
    if json:
        out.print_json([
            {"slug": r.slug, "name": r.name, "vendor": r.vendor, "kind": r.kind, "architecture": r.architecture,
             "memory_bytes": r.memory_bytes, "memory_bandwidth_byte_per_s": r.memory_bandwidth,
             **({f"{precision}_peak": _best(r, precision)} if precision else {})}
            for r in records
        ])
        return
    columns = ["device", "name", "vendor", "kind", "memory", "bandwidth"] + ([f"{precision.upper()} peak"] if precision else [])
    rows = []
    for r in records:
        row = [r.slug, r.name, r.vendor, r.kind,
               format_memory(r.memory_bytes) if r.memory_bytes else "?",
               format_si(r.memory_bandwidth, "B/s") if r.memory_bandwidth else "?"]
        if precision:
            value = _best(r, precision)
            row.append(format_rate(value, precision) if value else ("not supported" if not r.is_supported(precision) else "?"))
        rows.append(row)
    out.table(None, columns, rows, right=(4, 5, 6))
