"""`hwdb peak DEVICE --fp16`: one peak, or all of a device's peaks."""

from typing import Annotated, Optional

import typer

from estimator.hardware import ACCUMULATE
from estimator.units import format_rate
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import Bf16, DbOpt, Fp4, Fp6, Fp8, Fp16, Fp32, Fp64, Int4, Int8, JsonOpt, Tf32, chosen_precision


def peak(
    device: Annotated[str, typer.Argument(help="Device slug or alias, e.g. t4, h100-sxm, nvidia-a100-sxm4-80gb.")],
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False,
    fp16: Fp16 = False, fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    sparse: Annotated[bool, typer.Option("--sparse", help="The 2:4 structured-sparsity figure instead of the dense one.")] = False,
    vector: Annotated[bool, typer.Option("--vector", help="The vector engine (CUDA cores / SIMD), not the tensor/matrix engine.")] = False,
    accumulate: Annotated[Optional[str], typer.Option("--accumulate", metavar="MODE", help="fp32 or fp16: the figure for this accumulator precision, where the vendor quotes both (GeForce tensor cores). Default: FP32 accumulate.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show the derivation (chips x clock x units x ops/clock) beside the datasheet figure and its source.")] = False,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Theoretical peak FLOP/s (OP/s for integers) of a device, dense unless --sparse.

    Example: hwdb peak t4 --fp16
    """
    precision = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4)
    record = api.device(device, db=db)
    engine = "vector" if vector else None
    if precision is None:
        peaks = [p for p in record.peaks if p.sparse == sparse and (engine is None or p.engine == engine)]
        if json:
            out.print_json([out.peak_json(record, p) for p in peaks])
            return
        rows = [[out.peak_label(record, p), format_rate(p.value, p.precision), p.origin] for p in peaks]
        out.table(f"{record.name} peaks", ["precision", "peak", "origin"], rows, right=(1,))
        return
    if accumulate is not None and accumulate.lower() not in ACCUMULATE:
        raise typer.BadParameter(f"choose from {', '.join(ACCUMULATE)}", param_hint="--accumulate")
    found = record.peak(precision, engine=engine, sparse=sparse, accumulate=accumulate and accumulate.lower())
    if json:
        out.print_json(out.peak_json(record, found))
        return
    out.echo(f"{record.name}  {out.peak_label(record, found)}: {format_rate(found.value, found.precision)}")
    if explain:
        for line in out.explain_lines(record, found):
            out.echo(line)
