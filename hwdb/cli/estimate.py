"""`hwdb estimate MODEL --on DEVICE`, `hwdb util`, `hwdb models`: the roofline from the command line."""

import csv
import sys
from typing import Annotated, Optional

import typer

from estimator.units import FLOPS_PER_MAC, UnitError, format_rate, format_si, format_time, parse_duration, parse_quantity
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import (
    Bf16, DbOpt, Fp4, Fp6, Fp8, Fp16, Fp32, Fp64, Int4, Int8, JsonOpt, Tf32, chosen_precision,
)

OnOpt = Annotated[str, typer.Option("--on", help="Device slug or alias, e.g. t4, a100, h100-sxm.")]
BatchOpt = Annotated[int, typer.Option("--batch", min=1, help="Batch size: scales activations, not weights.")]
ComputeEffOpt = Annotated[float, typer.Option("--compute-eff", min=0.0, max=1.0, help="Fraction of peak FLOP/s attained (1 = pure roofline).")]
MemoryEffOpt = Annotated[float, typer.Option("--memory-eff", min=0.0, max=1.0, help="Fraction of peak bandwidth attained (1 = pure roofline).")]
OverheadOpt = Annotated[Optional[str], typer.Option("--overhead", metavar="TIME", help="Fixed time added per layer (kernel launch), e.g. 5us.")]


def _efficiency(compute: float, memory: float, overhead: str | None):
    from estimator.roofline import Efficiency

    if compute <= 0 or memory <= 0:
        raise typer.BadParameter("efficiencies must be greater than 0")
    try:
        seconds = parse_duration(overhead) if overhead else 0.0
    except UnitError as error:
        raise typer.BadParameter(str(error), param_hint="--overhead") from None
    return Efficiency(compute=compute, memory=memory, overhead_s=seconds)


def _pure(efficiency) -> bool:
    return efficiency.compute == 1 and efficiency.memory == 1 and efficiency.overhead_s == 0


def estimate(
    model: Annotated[str, typer.Argument(help="A built-in model (see `hwdb models`) or a .toml/.json model file.")],
    on: OnOpt,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    batch: BatchOpt = 1,
    layers: Annotated[bool, typer.Option("--layers", help="Per-layer table: MACs, bytes, intensity, bound, time, share, utilization.")] = False,
    compute_eff: ComputeEffOpt = 1.0,
    memory_eff: MemoryEffOpt = 1.0,
    overhead: OverheadOpt = None,
    json: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV (SI units): one row per layer with --layers, else the totals.")] = False,
    chart: Annotated[Optional[str], typer.Option("--chart", metavar="PATH", help="Write the roofline chart with the layers: .html, .json, .png or .svg.")] = None,
    db: DbOpt = None,
) -> None:
    """Predicted latency, throughput and utilization of a model on a device (roofline; FP32 unless a precision flag is given).

    Example: hwdb estimate resnet50 --on t4 --fp16 --batch 32 --layers
    """
    from estimator.roofline import estimate as run_estimate
    from hwdb.workloads import load_model

    if json and csv_out:
        raise typer.BadParameter("pick one of --json and --csv")
    precision = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4) or "fp32"
    efficiency = _efficiency(compute_eff, memory_eff, overhead)
    network = load_model(model)
    record = api.device(on, db=db)
    result = run_estimate(network, record, precision, batch, efficiency)
    if chart:
        from hwdb.export import write_estimate_chart

        out.note(f"wrote {write_estimate_chart(result, chart)}")
    if json:
        data = result.to_dict()
        if not layers:
            data.pop("layers")
        out.print_json(data)
    elif csv_out:
        _print_csv(result, layers)
    else:
        _print_estimate(result, record, layers)


def _print_estimate(result, record, with_layers: bool) -> None:
    roof, precision = result.roof, result.precision
    matrix = record.peak(precision)
    label = out.peak_label(record, matrix)
    eff = roof.efficiency
    how = "pure roofline" if _pure(eff) else f"compute x{eff.compute:g}, memory x{eff.memory:g}, +{format_time(eff.overhead_s)} per layer"
    if with_layers:
        rows = [
            [l.name, l.op, format_si(l.macs, "MAC") if l.macs else "-", format_si(l.bytes, "B"),
             f"{l.intensity:.3g}" if l.intensity == l.intensity else "-", l.bound, format_time(l.time_s),
             f"{l.share:.1%}", f"{l.utilization:.1%}" if l.flops else "-"]
            for l in result.layers
        ]
        out.table(None, ["layer", "op", "MACs", "bytes", "FLOP/B", "bound", "time", "share", "util"], rows, right=(2, 3, 4, 6, 7, 8))
    out.echo(f"{result.model} on {result.device}, {precision.upper()}, batch {result.batch} ({how})")
    out.echo(f"  latency     {format_time(result.latency_s)}  throughput {result.throughput:,.4g} samples/s")
    out.echo(f"  work        {format_si(result.flops, 'FLOP')} ({format_si(result.macs, 'MAC')}; FLOPs = {FLOPS_PER_MAC} x MACs + non-MAC work), "
             f"{format_si(result.bytes, 'B')} moved")
    unit = "OP" if precision.startswith("int") else "FLOP"
    out.echo(f"  achieved    {format_rate(result.achieved, precision)} = {result.mfu:.1%} of the {format_rate(matrix.value, precision)} {label} peak (MFU)")
    out.echo(f"  roof        ridge point {roof.ridge_point:.3g} {unit}/byte ({format_rate(roof.matrix_peak * eff.compute, precision)} / "
             f"{format_si(roof.bandwidth * eff.memory, 'B/s')}); {result.compute_bound_share:.0%} of the time in compute-bound layers")
    for note in result.notes:
        out.echo(f"  note        {note}")


def _print_csv(result, with_layers: bool) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if with_layers:
        fields = ["name", "op", "engine", "params", "macs", "flops", "bytes", "intensity", "compute_time_s", "memory_time_s",
                  "time_s", "bound", "achieved", "utilization", "share"]
        writer.writerow(fields)
        for layer in result.layers:
            writer.writerow([getattr(layer, f) for f in fields])
        return
    data = result.to_dict()
    data.pop("layers")
    data.pop("notes")
    efficiency = data.pop("efficiency")
    data.update({f"{k}_efficiency" if k != "overhead_s" else k: v for k, v in efficiency.items()})
    writer.writerow(list(data))
    writer.writerow(list(data.values()))


def util(
    on: OnOpt,
    time: Annotated[str, typer.Option("--time", metavar="TIME", help="Measured time per batch, e.g. 3.1ms.")],
    flops: Annotated[Optional[str], typer.Option("--flops", metavar="COUNT", help="FLOPs of the measured work, e.g. 8.2G (not MACs).")] = None,
    macs: Annotated[Optional[str], typer.Option("--macs", metavar="COUNT", help=f"MACs of the measured work, e.g. 4.1G (counted as {FLOPS_PER_MAC} FLOPs each).")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Take the FLOPs (and bytes) from a model instead.")] = None,
    batch: BatchOpt = 1,
    bytes_moved: Annotated[Optional[str], typer.Option("--bytes", metavar="SIZE", help="Bytes moved, e.g. 120MB: adds the memory roof to --flops.")] = None,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Utilization of a measured run: achieved FLOP/s against the peak and against the roofline.

    The chapter's 利用率: work / measured time = achieved FLOP/s; achieved / theoretical peak = utilization.

    Example: hwdb util --flops 8.2G --time 3.1ms --on t4 --fp16
    """
    from estimator.roofline import estimate as run_estimate
    from hwdb.workloads import load_model

    given = [name for name, value in (("--flops", flops), ("--macs", macs), ("--model", model)) if value]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --flops, --macs and --model")
    if model and bytes_moved:
        raise typer.BadParameter("--bytes goes with --flops/--macs; a model's bytes come from its layers")
    if batch != 1 and not model:
        raise typer.BadParameter("--batch goes with --model (--flops is the whole measured work)")
    precision = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4) or "fp32"
    try:
        seconds = parse_duration(time)
        work = parse_quantity(flops, "FLOP") if flops else parse_quantity(macs, "MAC") * FLOPS_PER_MAC if macs else None
        traffic = parse_quantity(bytes_moved, "B") if bytes_moved else None
    except UnitError as error:
        raise typer.BadParameter(str(error)) from None
    if (work is not None and work <= 0) or (traffic is not None and traffic <= 0):
        raise typer.BadParameter("--flops, --macs and --bytes must be positive")
    record = api.device(on, db=db)
    peak = record.peak(precision)
    predicted = None
    if model:
        result = run_estimate(load_model(model), record, precision, batch)
        work, traffic, predicted = result.flops, result.bytes, result.latency_s
    bandwidth = record.memory_bandwidth
    if predicted is None and traffic is not None and bandwidth:
        predicted = max(work / peak.value, traffic / bandwidth)
    achieved = work / seconds
    attainable = work / predicted if predicted else peak.value
    data = {
        "device": record.slug, "precision": precision, "flops": work, "bytes": traffic, "time_s": seconds,
        "achieved_per_s": achieved, "peak_per_s": peak.value, "utilization": achieved / peak.value,
        "roofline_time_s": predicted, "attainable_per_s": attainable, "utilization_of_attainable": achieved / attainable,
    }
    if json:
        out.print_json(data)
        return
    label = out.peak_label(record, peak)
    out.echo(f"{record.name}, {precision.upper()}: {format_si(work, 'FLOP')} in {format_time(seconds)}")
    out.echo(f"  achieved     {format_rate(achieved, precision)}")
    out.echo(f"  utilization  {achieved / peak.value:.1%} of the {format_rate(peak.value, precision)} {label} peak")
    if predicted:
        out.echo(f"  roofline     {format_time(predicted)} predicted at best, attainable {format_rate(attainable, precision)}: "
                 f"{achieved / attainable:.1%} of attainable")
    else:
        out.echo("  roofline     give --bytes (or --model) to compare with the memory roof as well")
    if achieved > peak.value * 1.0001:
        out.echo("  note         achieved exceeds the peak: check the work count (FLOPs, not MACs), the time and the precision")


def models(json: JsonOpt = False) -> None:
    """The built-in models: parameters, MACs and FLOPs per sample.

    Example: hwdb models
    """
    from hwdb.workloads import load_model, model_names

    networks = [load_model(name) for name in model_names()]
    if json:
        out.print_json([
            {"name": m.name, "description": m.description, "input_shape": list(m.input_shape), "params": m.params,
             "macs": m.macs, "flops": m.flops, "layers": len(m.layers), "reference": dict(m.reference) or None}
            for m in networks
        ])
        return
    rows = [
        [m.name, f"{m.params:,}", format_si(m.macs, "MAC"), format_si(m.flops, "FLOP"), "x".join(map(str, m.input_shape)),
         str(len(m.layers)), m.description]
        for m in networks
    ]
    out.table(None, ["model", "params", "MACs", "FLOPs", "input", "layers", "description"], rows, right=(1, 2, 3, 5))
    out.echo("MACs per sample; FLOPs = 2 x MACs + non-MAC work. torchvision's 'GFLOPS' column is MACs.")
