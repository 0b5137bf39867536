"""`hwdb validate [PATH]`: check a catalog data tree (the shipped one by default)."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from hwdb.cli import _output as out
from hwdb.cli._options import JsonOpt
from hwdb.errors import ExitStatus


def validate(
    path: Annotated[Optional[Path], typer.Argument(help="A catalog data folder (release.toml, sources/, architectures/, devices/). Default: the shipped catalog.")] = None,
    json: JsonOpt = False,
) -> int:
    """Check every figure's source, derived peaks against datasheets (2%), sparse = 2 x dense, plausible ranges and runtime names.

    Exits 1 when a check fails, listing every problem.

    Example: hwdb validate
    """
    from hwdb.resources import data_dir
    from hwdb.validate import validate as run

    root = path or data_dir()
    if not root.exists():
        raise typer.BadParameter(f"{root}: no such folder")
    if not root.is_dir():
        raise typer.BadParameter(f"{root}: not a folder")
    report = run(root)
    if json:
        out.print_json({**report.__dict__, "ok": report.ok, "path": str(root)})
    else:
        out.echo(f"{root}: {report.devices} devices, {report.figures} figures, {report.peaks} peaks "
                 f"({report.cross_checked} derived and cross-checked within 2%), {report.sources} sources, {report.prices} prices")
        for problem in report.problems:
            out.echo(f"  problem: {problem}")
        out.echo("all checks passed" if report.ok else f"{len(report.problems)} problem{'s' if len(report.problems) != 1 else ''}")
    return int(ExitStatus.OK if report.ok else ExitStatus.NO_FIGURE)
