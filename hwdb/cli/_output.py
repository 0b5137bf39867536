"""The output funnel: data to stdout (text, rich tables or JSON), messages to stderr."""

import json
import os
import sys
import unicodedata
from typing import Any, Sequence

from estimator.hardware import Hardware, Peak
from estimator.units import format_rate, format_si, is_integer_precision


def echo(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> None:
    """A table on stdout: rich on a terminal; piped or captured, the same characters written directly.

    Cells are plain text, never rich markup: a device named "Card [rev B]" or a note with "[/]" prints
    as it is. Piped output keeps each row on one line, whatever the (absent) terminal width.
    """
    text = None if _styled() else plain_table(title, columns, rows, right=right)
    if text is not None:
        sys.stdout.write(text)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=None if title is None else Text(title), title_justify="left", show_edge=False, header_style="bold")
    for index, column in enumerate(columns):
        grid.add_column(Text(column), justify="right" if index in right else "left", overflow="fold")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else PIPED_WIDTH).print(grid)


PIPED_WIDTH = 200
"""The width rich lays a table out in when stdout is not a terminal."""


def _styled() -> bool:
    """Whether rich would style the output (a terminal, or colour forced): then rich renders it."""
    return sys.stdout.isatty() or any(os.environ.get(name) for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"))


def _narrow(character: str) -> bool:
    """One terminal cell wide, as rich measures it."""
    return character.isprintable() and not unicodedata.combining(character) and unicodedata.east_asian_width(character) not in "WF"


def plain_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> str | None:
    """Exactly what rich prints for `table` without a terminal, in a fraction of the time (importing and
    laying out with rich costs ~40 ms, more than the rest of `hwdb list`); None where rich would wrap,
    fold or measure a character differently, which rich then renders (a test checks the two agree)."""
    cells = [list(columns), *(list(row) for row in rows)]
    if any(len(row) != len(columns) for row in cells) or any(cell != cell.strip() or not all(map(_narrow, cell)) for row in cells for cell in row):
        return None  # rich strips and justifies edge spaces its own way
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    total = sum(widths) + 3 * len(widths) - 1
    if total > PIPED_WIDTH or (title and (len(title) > total or title != title.strip() or not all(map(_narrow, title)))):
        return None

    def line(row: Sequence[str], bar: str) -> str:
        return bar.join(" " + (cell.rjust(w) if i in right else cell.ljust(w)) + " " for i, (cell, w) in enumerate(zip(row, widths, strict=True)))

    lines = [title.ljust(total)] if title else []  # rich prints no empty title
    lines += [line(columns, "┃"), "╇".join("━" * (w + 2) for w in widths)]
    lines += [line(row, "│") for row in rows]
    return "\n".join(lines) + "\n"


def engine_label(record: Hardware, peak: Peak) -> str:
    return record.matrix_label if peak.engine == "matrix" else "vector"


def peak_label(record: Hardware, peak: Peak) -> str:
    """'FP16 tensor, dense' ('..., FP32 accumulate' where the vendor quotes rates per accumulate mode)."""
    accumulate = f", {peak.accumulate.upper()} accumulate" if peak.accumulate else ""
    return f"{peak.precision.upper()} {engine_label(record, peak)}, {'sparse' if peak.sparse else 'dense'}{accumulate}"


def peak_json(record: Hardware, peak: Peak) -> dict[str, Any]:
    d = peak.derivation
    return {
        "device": record.slug, "name": record.name, "precision": peak.precision, "engine": peak.engine,
        "sparse": peak.sparse, "accumulate": peak.accumulate, "value": peak.value, "unit": "OP/s" if is_integer_precision(peak.precision) else "FLOP/s",
        "origin": peak.origin, "datasheet_value": peak.datasheet_value, "derived_value": peak.derived_value,
        "source": _source_json(record, peak.source),
        "derivation": None if d is None else {
            "chips": d.chips, "clock_hz": d.clock_hz, "clock": d.clock_name, "unit": d.unit_name, "units": d.units,
            "ops_per_clock": d.ops_per_clock, "sparse_factor": d.sparse_factor,
            "source": _source_json(record, peak.derivation_source),
        },
    }


def _source_json(record: Hardware, source_id: str | None) -> dict[str, str] | None:
    source = record.sources.get(source_id) if source_id else None
    return None if source is None else {"id": source.id, "title": source.title, "url": source.url}


def cite(record: Hardware, source_id: str | None) -> str:
    source = record.sources.get(source_id) if source_id else None
    return f"{source.title} <{source.url}>" if source else "(no source)"


CLOCK_NAMES = {
    "boost_clock": "boost clock", "base_clock": "base clock", "all_core_clock": "all-core turbo clock",
    "vendor_rate_clock": "clock the vendor's figure assumes",
}


def explain_lines(record: Hardware, peak: Peak) -> list[str]:
    """The derivation beside the datasheet figure, each with its source."""
    lines = []
    d = peak.derivation
    if d is not None:
        clock = CLOCK_NAMES.get(d.clock_name, d.clock_name)
        boost = record.spec("boost_clock")
        if d.clock_name == "vendor_rate_clock" and boost and boost != d.clock_hz:
            clock += f" (boost clock {format_si(boost, 'Hz')})"
        unit = d.unit_name.replace("_", " ")
        sparse = f" x {d.sparse_factor:g} (2:4 sparsity)" if d.sparse_factor != 1 else ""
        lines.append(
            f"  derived:   {d.chips} chip{'s' if d.chips != 1 else ''} x {format_si(d.clock_hz, 'Hz')} {clock} x "
            f"{d.units:g} {unit} x {d.ops_per_clock:g} {'OP' if is_integer_precision(peak.precision) else 'FLOP'}/clock"
            f"{sparse} = {format_rate(d.value, peak.precision)}"
        )
        lines.append(f"             ops per clock: {cite(record, peak.derivation_source)}")
    if peak.datasheet_value is not None:
        lines.append(f"  datasheet: {format_rate(peak.datasheet_value, peak.precision)}, {cite(record, peak.source)}")
    if d is not None and peak.datasheet_value is not None:
        error = (d.value - peak.datasheet_value) / peak.datasheet_value
        lines.append(f"  check:     derived / datasheet = {d.value / peak.datasheet_value:.4f} ({error:+.2%}; limit ±2%)")
    if d is None and peak.datasheet_value is not None:
        lines.append("  check:     no derivation (the architecture gives no ops-per-clock figure for this engine)")
    if peak.origin == "measured":
        lines.append(f"  measured:  {format_rate(peak.value, peak.precision)}, {cite(record, peak.source)}")
        if d is not None:
            lines.append(f"  check:     measured / derived = {peak.value / d.value:.3f} (a measurement above the derivation means the "
                         "cores ran faster than the clock the OS reports)")
    if peak.note:
        lines.append(f"  note:      {peak.note}")
    return lines


def note(line: str) -> None:
    """A message for the person at the terminal (stderr), not data."""
    sys.stderr.write(f"hwdb: {line}\n")

