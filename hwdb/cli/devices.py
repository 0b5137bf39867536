"""`hwdb show DEVICE` and `hwdb list`."""

from typing import Annotated, Optional

import typer

from estimator.hardware import SPEC_NAMES, Hardware
from estimator.units import PRECISIONS, format_rate, format_si
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import DbOpt, JsonOpt
from hwdb.formatting import CACHE_SPECS, format_memory, format_spec_value

def format_spec(record: Hardware, name: str) -> str:
    """A spec with its unit: '16 GB', '320 GB/s', '1.59 GHz', '16 GB/s each way (32 GB/s bidirectional)'."""
    spec = record.specs[name]
    return format_spec_value(name, spec.value, spec.unit, spec.direction)


def show(
    device: Annotated[str, typer.Argument(help="Device slug or alias.")],
    rev: Annotated[Optional[int], typer.Option("--rev", min=1, help="An earlier revision (see `hwdb history`).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD", help="The device as it stood at the end of that day (UTC).")] = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Every figure of a device, with its source (now, or at a revision or date).

    Example: hwdb show h100-sxm
    """
    if rev is not None and as_of is not None:
        raise typer.BadParameter("give --rev or --as-of, not both")
    if rev is not None or as_of is not None:
        from datetime import date

        try:
            when = date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise typer.BadParameter(f"not a date: {as_of!r} (YYYY-MM-DD)", param_hint="--as-of") from None
        record = api.device_at(device, revision=rev, as_of=when, db=db)
    else:
        record = api.device(device, db=db)
    if json:
        out.print_json(record.to_dict())
        return
    out.echo(f"{record.name} ({record.slug})")
    details = [record.vendor, record.kind, record.architecture or "architecture unknown", record.form_factor or ""]
    out.echo("  " + " | ".join(d for d in details if d))
    if record.aliases:
        out.echo(f"  aliases: {', '.join(record.aliases)}")
    origin = "release " + record.release if record.release else "measured by hwdb probe" if record.probe else "local edit"
    out.echo(f"  revision {record.revision} ({origin})"
             f"{'  RETIRED: withdrawn from the catalog' if record.retired else ''}")
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


def _cell(target, record: Hardware) -> str:
    """A field's value as a table cell: a peak with its unit, a figure with the field's unit, '?' when unknown."""
    value = target.value(record)
    if value is None:
        precision = target.name.split("_")[0]
        return "not supported" if precision in PRECISIONS and not record.is_supported(precision) else "?"
    if target.text:
        return str(value)
    if target.unit in ("FLOP/s", "OP/s") and target.scale == 1.0:
        return format_si(value, target.unit)
    if target.name == "memory":
        return format_memory(value)
    if target.scale == 1.0 and target.unit:
        return format_si(value, target.unit, binary=target.name in CACHE_SPECS)
    return f"{value:,.4g}"


def _header(name: str) -> str:
    """'INT8 peak', 'FP16 sparse peak' for precisions; the field name otherwise."""
    precision, _, rest = name.partition("_")
    if precision in PRECISIONS and rest in ("", "sparse"):
        return f"{precision.upper()}{' sparse' if rest else ''} peak"
    return name


def list_devices(
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Only this vendor (case-insensitive).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only this kind: gpu, cpu, tpu, npu, soc.")] = None,
    where: Annotated[Optional[list[str]], typer.Option("--where", metavar="COND", help="Keep devices where FIELD OP VALUE holds, e.g. 'memory_gb>=80', 'bf16_tflops>500', 'vendor=amd'; repeat to combine.")] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", metavar="FIELD", help=f"Sort by a field, highest first: a precision ({', '.join(PRECISIONS)}: its dense peak), a figure (memory_gb, memory_bandwidth, tdp_w, launch_price_usd, ...) or text (vendor, name).")] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Lowest first (text fields: Z to A).")] = False,
    retired: Annotated[bool, typer.Option("--retired", help="Include retired devices.")] = False,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The devices in the catalog, filtered and sorted on any figure.

    Example: hwdb list --where "memory_gb>=80" --sort bf16
    """
    from hwdb.fields import condition, field

    from hwdb.loader import KINDS

    conditions = [condition(text) for text in where or []]
    target = field(sort) if sort else None
    if kind is not None and kind.lower() not in KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}", param_hint="--kind")
    every = api.devices(db=db, include_retired=True)
    vendors = {r.vendor.lower(): r.vendor for r in every}
    if vendor is not None and vendor.lower() not in vendors:
        from hwdb.lookup import suggestions

        close = [vendors[v] for v in suggestions(vendor.lower(), vendors)]
        hint = f"did you mean {', '.join(close)}?" if close else f"vendors: {', '.join(sorted(vendors.values(), key=str.lower))}"
        raise typer.BadParameter(f"no device of vendor {vendor!r}; {hint}", param_hint="--vendor")
    records = [
        r for r in every if (retired or not r.retired)
        if (vendor is None or r.vendor.lower() == vendor.lower()) and (kind is None or r.kind.lower() == kind.lower())
        and all(c(r) for c in conditions)
    ]
    if target is not None:
        known = [r for r in records if target.value(r) is not None]
        unknown = [r for r in records if target.value(r) is None]
        known.sort(key=lambda r: (str(target.value(r)).lower() if target.text else target.value(r)), reverse=not target.text)
        if reverse:
            known.reverse()
        records = known + unknown  # devices without the figure come last either way
    shown = list(dict.fromkeys([c.field for c in conditions] + ([target] if target else [])))
    shown = [f for f in shown if f.name not in ("vendor", "kind", "slug", "name")]
    if json:
        out.print_json([
            {"slug": r.slug, "name": r.name, "vendor": r.vendor, "kind": r.kind, "architecture": r.architecture,
             "memory_bytes": r.memory_bytes, "memory_bandwidth_byte_per_s": r.memory_bandwidth,
             **{f.name: f.value(r) for f in shown}}
            for r in records
        ])
        return
    columns = ["device", "name", "vendor", "kind", "memory", "bandwidth"] + [_header(f.name) for f in shown]
    rows = [
        [r.slug, r.name, r.vendor, r.kind, format_memory(r.memory_bytes) if r.memory_bytes else "?",
         format_si(r.memory_bandwidth, "B/s") if r.memory_bandwidth else "?", *[_cell(f, r) for f in shown]]
        for r in records
    ]
    out.table(None, columns, rows, right=tuple(range(4, len(columns))))


def prices(
    device: Annotated[Optional[str], typer.Argument(help="Only this device (slug or alias).")] = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Dated cloud prices from the catalog release (data/prices.toml), per device-hour.

    Example: hwdb prices h100-sxm
    """
    slug = api.device(device, db=db).slug if device else None
    found = [p for p in api.prices(db=db) if slug is None or p.device == slug]
    if json:
        out.print_json([{**p.__dict__, "usd_per_device_hour": p.usd_per_device_hour} for p in found])
        return
    if not found:
        out.echo(f"no dated price for {slug} in this release" if slug else "no prices in this release")
        return
    rows = [[p.device, p.provider, p.offer, str(p.devices), f"${p.usd:,.2f}" + ("/h" if p.kind == "cloud" else ""),
             f"${p.usd_per_device_hour:,.2f}" if p.usd_per_device_hour is not None else "-", p.date, p.source] for p in found]
    out.table(None, ["device", "provider", "offer", "devices", "price", "per device-hour", "date", "source"], rows, right=(3, 4, 5))
