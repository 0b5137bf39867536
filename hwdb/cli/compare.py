"""`hwdb compare DEV...` and `hwdb roofline DEV...`: devices side by side, and their rooflines as charts."""

from typing import Annotated, Optional

import typer

from estimator.units import format_rate, format_si, format_time
from hwdb import api
from hwdb.cli import _output as out
from hwdb.cli._options import (
    PRECISION_FLAGS, Bf16, DbOpt, Fp4, Fp6, Fp8, Fp16, Fp32, Fp64, Int4, Int8, JsonOpt, Tf32, chosen_precision,
)
from hwdb.formatting import format_memory

DevicesArg = Annotated[list[str], typer.Argument(help="Device slugs or aliases, e.g. l4 a10g l40s h100-pcie.")]
ChartOpt = Annotated[Optional[str], typer.Option("--chart", metavar="PATH", help="Write a chart: .html (works offline), .json (Vega-Lite), .png or .svg.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="A workload: a built-in model (`hwdb models`) or a .toml/.json model file.")]


def _note_written(path) -> None:
    out.note(f"wrote {path}")


def compare(
    devices: DevicesArg,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    model: ModelOpt = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Batch size of the workload.")] = 1,
    prompt: Annotated[Optional[int], typer.Option("--prompt", min=1, help="Transformer configs: prompt tokens per sequence (default 512).")] = None,
    generate: Annotated[Optional[int], typer.Option("--generate", min=1, help="Transformer configs: generated tokens per sequence (default 128).")] = None,
    tp: Annotated[int, typer.Option("--tp", min=1, help="Transformer configs: tensor parallelism over N devices (priced and powered as N).")] = 1,
    weights: Annotated[Optional[str], typer.Option("--weights", metavar="DTYPE", help="Transformer configs: block weight dtype (int4, fp8, ...).")] = None,
    kv: Annotated[Optional[str], typer.Option("--kv", metavar="DTYPE", help="Transformer configs: KV-cache dtype.")] = None,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Rank on: cost (per million units; default with a workload and prices), throughput, latency, per-dollar, per-watt, peak (default without a workload), bandwidth, memory, ridge, tdp, price.")] = None,
    cloud: Annotated[bool, typer.Option("--cloud", help="Price each device at its cheapest dated cloud offer per device-hour (data/prices.toml).")] = False,
    price_per_hour: Annotated[Optional[list[str]], typer.Option("--price-per-hour", metavar="[DEV=]USD", help="USD per device-hour: one figure for all, or DEV=USD per device (repeat).")] = None,
    budget: Annotated[Optional[float], typer.Option("--budget", metavar="USD", help="Keep devices whose price is at most this: launch price in USD, or USD per device-hour with --cloud/--price-per-hour.")] = None,
    power: Annotated[Optional[float], typer.Option("--power", metavar="W", help="Keep devices with a TDP of at most this many watts.")] = None,
    tco_years: Annotated[Optional[float], typer.Option("--tco-years", metavar="N", help="Years a bought device's launch price is spread over (default 3).")] = None,
    kwh_price: Annotated[Optional[float], typer.Option("--kwh-price", metavar="USD", help="Electricity price per kWh: adds TDP x hours to the cost.")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", metavar="BATCHES", help="With --chart: a sweep chart over these batch sizes, e.g. 1,4,16,64,256.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", help="Chart these metrics (repeat; default throughput, cost, per-dollar, per-watt); with --sweep: throughput or latency.")] = None,
    chart: ChartOpt = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Devices side by side: peaks, memory, bandwidth, ridge point, interconnect, TDP, price; with --model, the
    workload's latency, throughput, cost per million images/tokens, per dollar and per watt, ranked (FP16
    unless a precision flag is given).

    Example: hwdb compare t4 l40s h100-pcie --model resnet50 --batch 32 --cloud
    """
    from hwdb.comparison import DEFAULT_TCO_YEARS, Pricing, Workload, compare as run_compare
    from hwdb.export import check_chart_path, save_chart

    precision = chosen_precision(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4) or "fp16"
    if chart:
        check_chart_path(chart)
    if model is None and (prompt or generate or batch != 1 or sweep or tp != 1 or weights or kv):
        raise typer.BadParameter("--batch, --prompt, --generate, --tp, --weights, --kv and --sweep describe a workload: give --model")
    if sweep and not chart:
        raise typer.BadParameter("--sweep draws a chart: give --chart")
    if cloud and price_per_hour:
        raise typer.BadParameter("pick one of --cloud and --price-per-hour")
    if tco_years is not None and (cloud or price_per_hour):
        raise typer.BadParameter("--tco-years spreads a launch price; it does not apply to --cloud or --price-per-hour")
    records = [api.device(name, db=db) for name in devices]
    per_hour = _per_hour(price_per_hour, db) if price_per_hour else None
    pricing = Pricing(basis="cloud" if cloud else "hourly" if per_hour is not None else "launch",
                      tco_years=DEFAULT_TCO_YEARS if tco_years is None else tco_years, kwh_price=kwh_price, per_hour=per_hour)
    workload = Workload(model, precision, batch, prompt, generate, tp=tp, weights=weights.lower() if weights else None,
                        kv=kv.lower() if kv else None) if model else None
    prices = api.prices(db=db) if cloud else ()
    result = run_compare(records, precision=precision, workload=workload, pricing=pricing, prices=prices, sort=sort, budget=budget, power=power)
    if chart:
        if sweep:
            figure = _sweep_chart(result, _batches(sweep), metric)
        else:
            figure = result.chart(metric)
        _note_written(save_chart(figure, chart))
    if json:
        out.print_json(result.to_dict())
        return
    _print(result)


def _per_hour(values: list[str], db) -> float | dict[str, float]:
    plain = [v for v in values if "=" not in v]
    if plain and (len(values) > 1):
        raise typer.BadParameter("give one --price-per-hour USD for all devices, or DEV=USD for each", param_hint="--price-per-hour")
    try:
        if plain:
            value = float(plain[0].lstrip("$"))
            if value <= 0:
                raise ValueError
            return value
        prices = {}
        for item in values:
            name, _, usd = item.partition("=")
            value = float(usd.lstrip("$"))
            if value <= 0:
                raise ValueError
            prices[api.device(name.strip(), db=db).slug] = value
        return prices
    except ValueError:
        raise typer.BadParameter(f"not a positive price: {' '.join(values)!r} (USD per device-hour, e.g. 2.5 or l4=0.8)",
                                 param_hint="--price-per-hour") from None


def _batches(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1:
        raise typer.BadParameter(f"not a list of positive batch sizes: {text!r} (e.g. 1,4,16,64)", param_hint="--sweep")
    return values


def _sweep_chart(result, batches: list[int], metric: list[str] | None):
    choice = (metric or ["throughput"])[0]
    if metric and (len(metric) > 1 or choice not in ("throughput", "latency")):
        raise typer.BadParameter("with --sweep, --metric is throughput or latency", param_hint="--metric")
    return result.sweep_chart(batches, choice)


def _print(result) -> None:
    rows = []
    for r in result.rows:
        h = r.hardware
        host, scale_up = _links(h)
        rows.append([
            *([str(r.rank) if r.rank else "-"] if result.workload is None else []), h.slug, format_rate(r.peak, r.precision) if r.peak else "unknown",
            format_memory(h.memory_bytes) if h.memory_bytes else "?", format_si(h.memory_bandwidth, "B/s") if h.memory_bandwidth else "?",
            f"{r.ridge_point:.3g}" if r.ridge_point else "?", host, scale_up,
            f"{h.tdp_w:g} W" if h.tdp_w else "?", _price(r.cost),
        ])
    unit_op = "OP" if result.precision.startswith("int") else "FLOP"
    label = f"{result.precision.upper()} peak"
    title = None if result.workload else f"ranked by {result.sort}"
    columns = ["device", label, "memory", "bandwidth", f"ridge {unit_op}/B", "host link", "scale-up link", "TDP", "price"]
    right = (1, 2, 3, 4, 7, 8)
    if result.workload is None:
        columns, right = ["rank", *columns], (0, *(i + 1 for i in right))
    out.table(title, columns, rows, right=right)
    w = result.workload
    if w is not None:
        unit = result.unit
        ranked = []
        for r in result.rows:
            res = r.result
            if res.throughput_per_s is None:
                ranked.append(["-", r.hardware.slug, "unknown", "", "", "", "", "", ""])
                continue
            ranked.append([
                str(r.rank) if r.rank else "-", r.hardware.slug, format_time(res.latency_s), _amount(res.throughput_per_s),
                res.limited_by + ("" if res.fits is not False else " (does not fit)"),
                f"${r.cost_per_million:,.3g}" if r.cost_per_million is not None else "?",
                _amount(r.per_dollar) if r.per_dollar else "?", _amount(r.per_watt) if r.per_watt else "?",
                f"{res.mfu:.1%}" if res.mfu is not None else "",
            ])
        out.echo()
        tokens = f", prompt {w.prompt or 512}, generate {w.generate or 128}" if unit == "tokens" else ""
        many = f", {w.tp} devices each (tensor parallel)" if w.tp > 1 else ""
        out.table(f"{w.model}, {w.precision.upper()}, batch {w.batch}{tokens}{many}: ranked by {result.sort}",
                  ["rank", "device", "latency", f"{unit}/s", "limited by", f"$ per M {unit}", f"{unit}/$", f"{unit}/s per W", "MFU"],
                  ranked, right=(0, 2, 3, 5, 6, 7, 8))
    for r in result.rows:
        for reason in _unknowns(r, result):
            out.echo(f"  unknown: {reason}")
    for slug, reason in result.excluded:
        out.echo(f"  excluded: {slug}: {reason}")
    from hwdb.comparison import basis_text

    out.echo(f"  {basis_text(result)}; " + ("a device is priced per hour of continuous use at the predicted throughput."
                                              if w is not None else "per-dollar = peak per USD per device-hour."))
    for note in result.notes:
        out.echo(f"  note: {note}")


def _amount(value: float) -> str:
    """1,819 / 5,200 / 8.32 M / 14.9: three significant figures, thousands separated, SI prefix from a million."""
    if value >= 1e6:
        return format_si(value, "")
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _unknowns(row, result) -> list[str]:
    reasons = []
    if row.result is not None and row.result.problem:
        reasons.append(row.result.problem)
    elif row.peak_problem and row.result is None:
        reasons.append(row.peak_problem)
    if row.cost.problem:
        reasons.append(row.cost.problem)
    return list(dict.fromkeys(reasons))


def _links(h) -> tuple[str, str]:
    from hwdb.comparison import interconnect

    host, scale_up = interconnect(h)
    return host or "?", scale_up or "-"


def _price(cost) -> str:
    if cost.usd_per_hour is None:
        return "?"
    if cost.basis == "launch":
        return f"${cost.usd:,.0f} (${cost.usd_per_hour:,.3g}/h)"
    return f"${cost.usd_per_hour:,.2f}/h"


def roofline(
    devices: DevicesArg,
    fp64: Fp64 = False, fp32: Fp32 = False, tf32: Tf32 = False, bf16: Bf16 = False, fp16: Fp16 = False,
    fp8: Fp8 = False, fp6: Fp6 = False, fp4: Fp4 = False, int8: Int8 = False, int4: Int4 = False,
    model: ModelOpt = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Batch size of the model.")] = 1,
    chart: ChartOpt = None,
    json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """The roofline of each device at each precision given (several flags allowed; FP16 by default): peak,
    bandwidth and ridge point, and with --model where each layer sits. --chart draws it (log-log).

    Example: hwdb roofline t4 a100 --fp16 --model resnet50 --chart roofline.png
    """
    from estimator.roof import Roof
    from hwdb.export import check_chart_path, save_chart

    flags = dict(fp64=fp64, fp32=fp32, tf32=tf32, bf16=bf16, fp16=fp16, fp8=fp8, fp6=fp6, fp4=fp4, int8=int8, int4=int4)
    precisions = [p for p in PRECISION_FLAGS if flags[p]] or ["fp16"]
    if chart:
        check_chart_path(chart)
    if model is None and batch != 1:
        raise typer.BadParameter("--batch goes with --model")
    records = list({r.slug: r for r in (api.device(name, db=db) for name in devices)}.values())
    roofs = [Roof.of(r, p) for r in records for p in precisions]
    estimates, problems = [], []
    if model:
        from estimator.hardware import FigureUnavailable
        from estimator.roofline import estimate
        from hwdb.workloads import load_model

        network = load_model(model)
        for r in records:
            for p in precisions:
                try:
                    estimates.append(estimate(network, r, p, batch))
                except FigureUnavailable as error:
                    problems.append(" ".join(str(error).split()))
    if chart:
        from estimator.charts import roofline_chart

        _note_written(save_chart(roofline_chart(roofs, estimates), chart))
    if json:
        out.print_json({
            "roofs": [{"device": roof.device, "precision": roof.precision, "peak_per_s": _num(roof.matrix_peak),
                       "bandwidth_byte_per_s": _num(roof.bandwidth), "ridge_point": _num(roof.ridge_point), "problem": roof.problem}
                      for roof in roofs],
            "estimates": [{k: v for k, v in e.to_dict().items() if k != "layers"} for e in estimates],
            "problems": problems,
        })
        return
    rows = [[roof.device, roof.precision.upper(), format_rate(roof.matrix_peak, roof.precision) if _num(roof.matrix_peak) else "unknown",
             format_si(roof.bandwidth, "B/s") if _num(roof.bandwidth) else "unknown",
             f"{roof.ridge_point:.3g} {'OP' if roof.precision.startswith('int') else 'FLOP'}/B" if _num(roof.ridge_point) else "?"] for roof in roofs]
    out.table(None, ["device", "precision", "peak", "bandwidth", "ridge point"], rows, right=(2, 3, 4))
    for e in estimates:
        counts = {"compute": 0, "memory": 0}
        for layer in e.layers:
            counts[layer.bound] = counts.get(layer.bound, 0) + 1
        out.echo(f"  {e.model} on {e.device} {e.precision.upper()}, batch {e.batch}: {format_time(e.latency_s)}; "
                 f"{counts['compute']} compute-bound and {counts['memory']} memory-bound layers, "
                 f"{e.compute_bound_share:.0%} of the time compute bound")
    for roof in roofs:
        if roof.problem:
            out.echo(f"  unknown: {roof.problem}")
    for problem in problems:
        if not any(problem == roof.problem for roof in roofs):
            out.echo(f"  unknown: {problem}")


def _num(value: float) -> float | None:
    return None if value != value else value
