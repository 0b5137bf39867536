"""`hwdb probe`: measure this machine, show measured against theoretical, and save it as a device."""

from typing import Annotated, Optional

import typer

from estimator.units import UnitError, format_bytes, format_rate, format_si, format_time, parse_quantity
from hwdb.cli import _output as out
from hwdb.cli._options import DbOpt, JsonOpt


def probe(
    quick: Annotated[bool, typer.Option("--quick", help="Fewer, smaller measurements: under 10 s instead of under a minute.")] = False,
    save: Annotated[bool, typer.Option("--save", help="Store the machine in the catalog (kind cpu, origin measured) with its calibration.")] = False,
    name: Annotated[str, typer.Option("--name", metavar="SLUG", help="The slug to save it as (estimate with --on SLUG).")] = "local",
    clock: Annotated[Optional[str], typer.Option("--clock", metavar="FREQ", help="The sustained all-core clock, e.g. 3.7GHz, where the OS reports another (a hypervisor's nominal clock).")] = None,
    runtime: Annotated[str, typer.Option("--runtime", help="What runs the calibration's micro-benchmarks: auto (onnxruntime where installed), numpy or onnxruntime.")] = "auto",
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="Threads for the bandwidth measurements (default: one per physical core).")] = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Measure this machine: achievable matmul FLOP/s (MAMF-style), memory bandwidth (STREAM-style), cache
    bandwidth and a calibration of per-layer efficiencies, against the theoretical peak.

    Example: hwdb probe --save   (then: hwdb estimate resnet50 --on local)
    """
    from hwdb import probe as probing

    try:
        clock_hz = parse_quantity(clock, "Hz") if clock else None
    except UnitError as error:
        raise typer.BadParameter(str(error), param_hint="--clock") from None
    if clock_hz is not None and clock_hz <= 0:
        raise typer.BadParameter("the clock must be positive", param_hint="--clock")
    if not name or name != name.lower() or not name.replace("-", "").isalnum():
        raise typer.BadParameter("a slug is lower-case letters, digits and '-'", param_hint="--name")
    runtime = probing.runtime_name(runtime)
    if save:
        from hwdb import api

        versions = api.versions(db)  # a database problem is found before a minute of measuring
        _check_target(api, name, db)
    result = _measure(probing, quick, threads, clock_hz, runtime)
    saved = None
    if save:
        entry, sources = probing.device_entry(result, name)
        written = versions.add_entries([entry], sources, where="hwdb probe", origin="measured",
                                       note=f"measured by hwdb probe at {result.started_at} ({'quick, ' if quick else ''}{result.runtime})")
        saved = written[0] if written else (name, None)
    if json:
        data = result.to_dict()
        data.pop("timings")
        data["calibration"] = result.calibration().to_dict()
        data["saved"] = None if saved is None else {"slug": saved[0], "revision": saved[1]}
        out.print_json(data)
        return
    _report(result)
    if saved is not None:
        revision = f"revision {saved[1]}" if saved[1] else "unchanged"
        out.echo(f"  saved       {saved[0]} ({revision}, origin measured): hwdb estimate MODEL --on {saved[0]}")


def _check_target(api, name: str, db: str | None) -> None:
    """`--name` may replace an earlier measurement of a machine, never a catalog device, nor be another device's alias."""
    from hwdb.lookup import normalise

    snapshot = api.snapshot(db)
    owner = snapshot.names.get(normalise(name))
    if owner is None:
        return
    if owner != name:
        raise typer.BadParameter(f"{name!r} already names {owner}; choose another slug", param_hint="--name")
    if snapshot.device(owner).probe is None:
        raise typer.BadParameter(f"{owner} is a catalog device, not a machine hwdb probe measured; choose another slug",
                                 param_hint="--name")


def _measure(probing, quick: bool, threads: int | None, clock_hz: float | None, runtime: str):
    """Run the probe under a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("probing", total=None)

        def progress(text: str, done: int, total: int) -> None:
            bar.update(task, description=text, completed=done, total=total)

        return probing.run(quick=quick, threads=threads, clock_hz=clock_hz, runtime=runtime, progress=progress)


def _report(result) -> None:
    cpu = result.cpu
    out.echo(f"{cpu.model} on {cpu.hostname}: {cpu.cores} cores ({cpu.threads} logical CPUs), "
             + (f"{format_si(cpu.clock_hz, 'Hz')} ({cpu.clock_source})" if cpu.clock_hz else "clock unknown"))
    arch = result.theoretical and next(iter(result.theoretical.values()))
    out.echo(f"  SIMD        {', '.join(cpu.isa) or 'none reported'}"
             + (f"; {arch['architecture_name']} ({arch['architecture']})" if arch else "; microarchitecture not in the catalog: no theoretical peak"))
    caches = [f"L2 {format_bytes(cpu.l2_bytes)}" if cpu.l2_bytes else "", f"L3 {format_bytes(cpu.l3_bytes)}" if cpu.l3_bytes else "",
              f"memory {format_bytes(cpu.memory_bytes)}" if cpu.memory_bytes else ""]
    out.echo(f"  caches      {', '.join(c for c in caches if c) or 'unknown'}")
    rows = []
    for precision in ("fp64", "fp32"):
        theory = result.theoretical.get(precision)
        ratio = result.ratio(precision)
        rows.append([
            f"{precision.upper()} matmul", format_rate(result.matmul_best(precision), precision), format_rate(result.matmul_typical(precision), precision),
            format_rate(theory["value"], precision) if theory else "unknown",
            f"{ratio:.0%}" if ratio else "-",
            (f"{theory['cores']} x {format_si(theory['clock_hz'], 'Hz')} x {theory['ops_per_clock']:g} FLOP/clock" if theory else ""),
        ])
    out.table(None, ["measured", "best", "typical", "theoretical", "best/theor.", "theoretical = cores x clock x FLOP/clock/core"], rows,
              right=(1, 2, 3, 4))
    out.echo(f"  best kernel {', '.join(f'{p.upper()} {result.best_kernel(p)}' for p in ('fp64', 'fp32'))}")
    for precision in ("fp32", "fp64"):
        ratio, implied = result.ratio(precision), result.implied_clock(precision)
        if ratio and ratio > 1.02:
            out.echo(f"  note        {precision.upper()} measured is {ratio:.0%} of the theoretical at the {format_si(result.cpu.clock_hz, 'Hz')} "
                     f"the OS reports: the cores ran at {format_si(implied, 'Hz')} or more (turbo, or a hypervisor's nominal clock); "
                     "give --clock for the sustained clock")
            break
    stream = result.stream_dram()
    out.echo("  STREAM      " + ", ".join(f"{k} {format_si(t.best_bandwidth, 'B/s')}" for k, t in stream.items())
             + f" ({format_si(next(iter(stream.values())).elements * 8, 'B')} arrays, {result.settings.threads} threads, bytes read + written)")
    size, rate = result.cache_bandwidth
    out.echo(f"  cache       {format_si(rate, 'B/s')} (add over a {format_si(size, 'B')} working set) = "
             f"{rate / result.memory_bandwidth:.1f}x DRAM")
    cal = result.calibration()
    fit = cal.gemm.get("fp32")
    out.echo(f"  calibration {result.runtime}: per-layer overhead {format_time(cal.overhead_s)}"
             + (f"; FP32 GEMM {fit.reference[0]}x{fit.reference[1]}x{fit.reference[2]} at {fit.efficiency:.0%} of the best, "
                f"N={fit.n.points[0][0]:g} {fit.n.points[0][1]:.0%}, K={fit.k.points[0][0]:g} {fit.k.points[0][1]:.0%}" if fit else "")
             + (f"; depthwise conv {cal.depthwise['fp32']:.0%}" if "fp32" in cal.depthwise else ""))
    out.echo(f"  took        {result.duration_s:.1f} s ({'quick' if result.settings.quick else 'default'} settings)")
