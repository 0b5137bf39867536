"""Options shared by every command, as Annotated aliases."""

from typing import Annotated, Optional

import typer

DbOpt = Annotated[
    Optional[str],
    typer.Option("--db", envvar="HWDB_URL", show_envvar=True, metavar="URL",
                 help="Catalog database: an SQLAlchemy URL or an SQLite file path. Default: hwdb.sqlite in your data folder."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (SI units) instead of text.")]

PRECISION_FLAGS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")


def _flag(precision: str) -> typer.models.OptionInfo:
    return typer.Option(f"--{precision}", help=f"{precision.upper()} peak.", rich_help_panel="Precision (pick one)")


Fp64 = Annotated[bool, _flag("fp64")]
Fp32 = Annotated[bool, _flag("fp32")]
Tf32 = Annotated[bool, _flag("tf32")]
Bf16 = Annotated[bool, _flag("bf16")]
Fp16 = Annotated[bool, _flag("fp16")]
Fp8 = Annotated[bool, _flag("fp8")]
Fp6 = Annotated[bool, _flag("fp6")]
Fp4 = Annotated[bool, _flag("fp4")]
Int8 = Annotated[bool, _flag("int8")]
Int4 = Annotated[bool, _flag("int4")]


def chosen_precision(**flags: bool) -> str | None:
    """The one precision flag given, None for none; two or more is a usage error."""
    picked = [name for name in PRECISION_FLAGS if flags.get(name)]
    if len(picked) > 1:
        raise typer.BadParameter(f"pick one precision, got {' and '.join('--' + p for p in picked)}")
    return picked[0] if picked else None
