"""Charts of the roofline, device comparisons and sweeps, as Altair (Vega-Lite) chart objects.

Altair is imported inside each function (the `charts` extra: ``pip install "hwdb[charts]"``), so
importing the estimator stays light. Every chart has a title, axis titles with units (FLOP/s,
FLOP/byte; OP for integer precisions) and device names in its legend. Saving by file extension is
`hwdb.export.save_chart`; in a notebook the returned object displays itself.

    roofline_chart(roofs, estimates)   log-log roofs per device and precision, with ridge points; a
                                       model's layers as points coloured by bound, sized by share of time
    comparison_chart(records)          bars of metrics across devices, one panel per metric
    sweep_chart(sweep)                 latency or throughput vs batch size, one line per device
"""

import math
from typing import Any, Iterable, Mapping, Sequence

from estimator.hardware import FigureUnavailable
from estimator.units import format_si, format_time

WIDTH, HEIGHT = 560, 360
BOUND_COLOURS = {"compute": "#d62728", "memory": "#1f77b4"}
ROOF_COLOURS = ["#222222", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f",
                "#98df8a", "#c5b0d5", "#ffbb78", "#c49c94", "#9edae5", "#dbdb8d", "#f7b6d2"]
"""Roof colours: none is the red or blue of the layer bounds."""
DEVICE_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#eeca3b", "#bab0ac",
                  "#1f3a5f", "#8c3a00", "#2d6a2d", "#ff9da6", "#6b4c9a", "#b3b300", "#00a3a3", "#5c5c5c", "#d62728", "#9ecae9", "#ffbf79"]
"""Twenty distinguishable colours (Tableau's ten, then ten more): a device keeps its colour in every panel."""


class ChartsUnavailable(ImportError):
    """Altair is not installed."""


def _altair():
    try:
        import altair as alt
    except ImportError:
        raise ChartsUnavailable('charts need altair and vl-convert: pip install "hwdb[charts]"') from None
    return alt


def _unit(precision: str) -> str:
    return "OP" if precision.startswith("int") else "FLOP"


def _finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and not math.isinf(value) and value > 0


def _title(alt, text: str, subtitle: str | Sequence[str] | None = None):
    return alt.TitleParams(text=text, subtitle=subtitle or "", anchor="start", fontSize=15, subtitleFontSize=11)


# -- roofline -------------------------------------------------------------------------------------------
def roof_label(roof: Any) -> str:
    return f"{roof.device} {roof.precision.upper()}"


def roof_points(roofs: Sequence[Any], x_min: float, x_max: float) -> list[dict]:
    """The polyline of each roof: (x_min, bandwidth x x_min), (ridge, peak), (x_max, peak); attainable = min(peak, bandwidth x I).

    Roofs with an unknown peak or bandwidth are left out (see `roofline_chart`'s subtitle).
    """
    points = []
    for order, roof in enumerate(roofs):
        peak = roof.matrix_peak * roof.efficiency.compute
        bandwidth = roof.bandwidth * roof.efficiency.memory
        if not (_finite(peak) and _finite(bandwidth)):
            continue
        ridge = peak / bandwidth
        label = f"{roof_label(roof)}: ridge {ridge:.3g} {_unit(roof.precision)}/B"
        for x, y, kind in ((x_min, bandwidth * x_min, "memory roof"), (ridge, peak, "ridge point"), (x_max, peak, "compute roof")):
            points.append({"roof": label, "order": order, "intensity": x, "attainable": y, "point": kind,
                           "peak": format_si(peak, f"{_unit(roof.precision)}/s"), "bandwidth": format_si(bandwidth, "B/s"),
                           "ridge": f"{ridge:.3g} {_unit(roof.precision)}/byte"})
    return points


def layer_points(estimates: Sequence[Any]) -> list[dict]:
    """One point per layer that computes something (FLOPs > 0 and bytes > 0; log axes cannot show zero)."""
    points = []
    for estimate in estimates:
        unit = _unit(estimate.precision)
        for layer in estimate.layers:
            if layer.flops <= 0 or layer.bytes <= 0 or layer.time_s <= 0:
                continue
            points.append({
                "device": estimate.device, "run": f"{estimate.model} on {estimate.device} {estimate.precision.upper()}", "layer": layer.name, "op": layer.op,
                "bound": layer.bound, "intensity": layer.intensity, "achieved": layer.achieved, "share": layer.share,
                "flops": format_si(layer.flops, unit), "bytes": format_si(layer.bytes, "B"), "time": format_time(layer.time_s),
                "share_text": f"{layer.share:.2%}", "utilization": f"{layer.utilization:.1%}",
            })
    return points


def roofline_chart(roofs: Sequence[Any], estimates: Sequence[Any] = (), *, title: str | None = None,
                   width: int = WIDTH, height: int = HEIGHT):
    """A log-log roofline: one roof per `estimator.roofline.Roof` (device x precision) with its ridge point, and
    the layers of each `estimator.roofline.Estimate` as points (colour: bound; size: share of the model's time)."""
    alt = _altair()
    layers = layer_points(estimates)
    drawable = [r for r in roofs if _finite(r.matrix_peak) and _finite(r.bandwidth)]
    if not drawable:
        reasons = "; ".join(dict.fromkeys(r.problem or f"{r.device} {r.precision.upper()}: figure unknown" for r in roofs))
        raise FigureUnavailable(f"nothing to draw: no roof has a known peak and bandwidth ({reasons or 'no devices'})")
    ridges = [r.matrix_peak * r.efficiency.compute / (r.bandwidth * r.efficiency.memory) for r in drawable]
    xs = [p["intensity"] for p in layers] + ridges
    x_min = 10 ** math.floor(math.log10(min(xs + [1.0]) / 2))
    x_max = 10 ** math.ceil(math.log10(max(xs + [10.0]) * 4))
    roof_data = roof_points(drawable, x_min, x_max)
    unit = _unit(drawable[0].precision if drawable else (estimates[0].precision if estimates else "fp32"))
    x = alt.X("intensity:Q", scale=alt.Scale(type="log", domain=[x_min, x_max]), title=f"arithmetic intensity ({unit}/byte)",
              axis=alt.Axis(format="~g", grid=True))
    y_title = f"attainable and achieved {unit}/s"
    labels = list(dict.fromkeys(p["roof"] for p in roof_data))
    roof_scale = alt.Scale(domain=labels, range=(ROOF_COLOURS * 2)[:len(labels)] or ROOF_COLOURS)
    roof_colour = alt.Color("roof:N", title="roof (device, precision)", scale=roof_scale,
                            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400))
    base = alt.Chart(alt.Data(values=roof_data))
    # y: from the lowest point to a decade-rounded margin above the highest roof, so no roof sits on the frame.
    ys = [p["attainable"] for p in roof_data] + [p["achieved"] for p in layers]
    y_min = 10 ** math.floor(math.log10(min(ys or [1e9])))
    y_max = 10 ** math.ceil(math.log10(max(ys or [1e15]) * 2))
    y = alt.Y("attainable:Q", scale=alt.Scale(type="log", domain=[y_min, y_max]), title=y_title, axis=alt.Axis(format="~s"))
    lines = base.mark_line(strokeWidth=2).encode(
        x=x, y=y,
        color=roof_colour, order="intensity:Q", detail="roof:N",
        tooltip=[alt.Tooltip("roof:N"), alt.Tooltip("peak:N"), alt.Tooltip("bandwidth:N"), alt.Tooltip("ridge:N", title="ridge point")],
    )
    ridge_marks = base.transform_filter(alt.datum.point == "ridge point").mark_point(shape="diamond", size=160, filled=True, stroke="white", strokeWidth=1.5, opacity=1).encode(
        x=x, y=y, color=alt.Color("roof:N", scale=roof_scale, legend=None),
        tooltip=[alt.Tooltip("roof:N"), alt.Tooltip("ridge:N", title="ridge point"), alt.Tooltip("peak:N")],
    )
    chart = alt.layer(lines, ridge_marks)
    if layers:
        many = len({p["run"] for p in layers}) > 1
        dots = alt.Chart(alt.Data(values=layers)).mark_point(filled=True, opacity=0.7).encode(
            x=x, y=alt.Y("achieved:Q", scale=alt.Scale(type="log", domain=[y_min, y_max])),
            color=alt.Color("bound:N", title="layer bound", scale=alt.Scale(domain=list(BOUND_COLOURS), range=list(BOUND_COLOURS.values())),
                            legend=alt.Legend(orient="right")),
            size=alt.Size("share:Q", title="share of time", scale=alt.Scale(range=[15, 400]), legend=alt.Legend(format=".1~%", orient="right")),
            tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("op:N"), alt.Tooltip("device:N"), alt.Tooltip("bound:N"),
                     alt.Tooltip("flops:N", title=f"{unit}s"), alt.Tooltip("bytes:N"), alt.Tooltip("intensity:Q", format=".3g", title=f"{unit}/byte"),
                     alt.Tooltip("achieved:Q", format=".3s", title=f"achieved {unit}/s"), alt.Tooltip("time:N"),
                     alt.Tooltip("share_text:N", title="share"), alt.Tooltip("utilization:N")],
            **({"shape": alt.Shape("run:N", title="layers", legend=alt.Legend(orient="right", labelLimit=300))} if many else {}),
        )
        chart = alt.layer(lines, dots, ridge_marks).resolve_scale(color="independent")  # ridge points drawn over the layers
    subtitle = []
    if estimates:
        shown = len(layers)
        total = sum(len(e.layers) for e in estimates)
        subtitle.append(f"{shown} layers drawn" + (f" ({total - shown} that compute nothing, e.g. reshapes, gathers or cache writes, cannot sit on log axes)" if total > shown else "")
                        + "; points at achieved rate, sized by share of time; diamonds mark ridge points")
    missing = [f"{r.device} {r.precision.upper()} ({r.problem or 'figure unknown'})" for r in roofs if r not in drawable]
    if missing:
        subtitle.append("No roof (figure unknown): " + "; ".join(missing))
    if title is None and len(estimates) == 1:
        e = estimates[0]
        title = f"Roofline: {e.model} on {e.device}, {e.precision.upper()}, batch {e.batch}"
    elif title is None:
        runs = list(dict.fromkeys(f"{e.model}, batch {e.batch}" for e in estimates))
        title = "Roofline" + (f": {'; '.join(runs)}" if runs else "")
    return chart.properties(width=width, height=height, title=_title(alt, title, subtitle)).configure_legend(labelFontSize=11, titleFontSize=11)


# -- comparison -----------------------------------------------------------------------------------------
def comparison_chart(records: Iterable[Mapping[str, Any]], *, order: Sequence[str] | None = None, title: str = "Device comparison",
                     subtitle: str | None = None, width: int | None = None, height: int = 240):
    """Bars of each metric across devices: `records` are {"device", "metric" (its title, with unit), "value"}.

    One panel per metric (each with its own axis, as units differ), one bar per device in `order`, the value
    printed over each bar. A device without a value for a metric is left out of that panel: say why in `subtitle`.
    """
    alt = _altair()
    data = [dict(r, label=_short(r["value"])) for r in records]
    if not data:
        raise FigureUnavailable(f"nothing to draw: no device has a known value{' (' + subtitle.strip() + ')' if subtitle and subtitle.strip() else ''}")
    devices = list(order or dict.fromkeys(r["device"] for r in data))
    colour = alt.Color("device:N", title="device", scale=alt.Scale(domain=devices, range=(DEVICE_COLOURS * 2)[:len(devices)]),
                       legend=alt.Legend(orient="bottom", columns=2, labelLimit=300))
    width = width or max(170, 46 * len(devices))  # room for each bar's value label ("19.8k") without overlap
    panels = []
    for metric in dict.fromkeys(r["metric"] for r in data):
        rows = [r for r in data if r["metric"] == metric]
        top = max(r["value"] for r in rows)
        # Axis labels: SI prefixes for large numbers (12k, 8M), plain decimals below (0.12, never "120m").
        y = alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, top * 1.15], nice=False),
                  axis=alt.Axis(format=",~f", tickCount=5, **({"labelExpr": "datum.value == 0 ? '0' : format(datum.value, '~s')"} if top >= 1e4 else {})))
        # Every panel has a slot per device, in rank order: a device sits at the same place (and colour) in each,
        # and an unknown value leaves its slot empty rather than stretching the other bars.
        base = alt.Chart(alt.Data(values=rows)).encode(x=alt.X("device:N", sort=devices, scale=alt.Scale(domain=devices), axis=None), y=y)
        bars = base.mark_bar().encode(color=colour, tooltip=[alt.Tooltip("device:N"), alt.Tooltip("metric:N"), alt.Tooltip("value:Q", format=".4~g")])
        text = base.mark_text(dy=-7, fontSize=11).encode(text="label:N")
        panels.append(alt.layer(bars, text).properties(width=width, height=height, title=alt.TitleParams(metric, fontSize=12)))
    chart = alt.concat(*panels, columns=min(len(panels), 4 if width <= 260 else 2))
    return chart.properties(title=_title(alt, title, _wrap(subtitle.strip()) if subtitle and subtitle.strip() else None))


def _short(value: float) -> str:
    """3 significant figures with an SI prefix: 1.82k, 0.0523, 3.4M."""
    if value == 0:
        return "0"
    if abs(value) < 1:
        return f"{value:.3g}"
    return format_si(value, "").replace(" ", "")


def _wrap(text: str, width: int = 110) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


# -- sweeps ---------------------------------------------------------------------------------------------
def sweep_records(sweep: Any, metric: str = "throughput", model: int = 0, precision: int = 0) -> list[dict]:
    """Rows {device, x (batch), value} of an `estimator.roofline.Sweep` for one model and precision; unknown values left out."""
    values = sweep.throughput if metric == "throughput" else sweep.latency_s
    rows = []
    for d, device in enumerate(sweep.devices):
        for b, batch in enumerate(sweep.batches):
            value = float(values[model, d, precision, b])
            if _finite(value):
                rows.append({"device": device, "x": batch, "value": value})
    return rows


def sweep_chart(sweep: Any = None, *, metric: str = "throughput", unit: str = "samples", model: int = 0, precision: int = 0,
                records: Sequence[Mapping[str, Any]] | None = None, x_title: str = "batch size", title: str | None = None,
                subtitle: str | None = None, width: int = WIDTH, height: int = HEIGHT):
    """Latency or throughput against batch size (or, with `records` of {device, x, value}, any x such as
    sequence length), one line per device, log axes."""
    alt = _altair()
    if metric not in ("throughput", "latency"):
        raise ValueError(f"metric must be throughput or latency, got {metric!r}")
    rows = list(records) if records is not None else sweep_records(sweep, metric, model, precision)
    if not rows:
        raise FigureUnavailable("nothing to draw: no device has the figures the sweep needs"
                                + (f" ({', '.join(sweep.devices)})" if sweep is not None else ""))
    devices = list(dict.fromkeys(r["device"] for r in rows))
    if sweep is not None:
        missing = [d for d in sweep.devices if d not in devices]
        if missing and subtitle is None:
            subtitle = "No line (a figure is unknown): " + ", ".join(missing)
        if title is None:
            title = f"{sweep.models[model]}, {sweep.precisions[precision].upper()}: {metric} vs {x_title}"
    xs = sorted({r["x"] for r in rows})
    y_title = f"throughput ({unit}/s)" if metric == "throughput" else "latency (s)"
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("x:Q", title=x_title, scale=alt.Scale(type="log", base=2, domain=[xs[0], xs[-1]] if xs else None),
                axis=alt.Axis(values=xs, format="d")),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(type="log"), axis=alt.Axis(format="~s")),
        color=alt.Color("device:N", title="device", scale=alt.Scale(domain=devices, range=DEVICE_COLOURS[:len(devices)] or DEVICE_COLOURS),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=300)),
        tooltip=[alt.Tooltip("device:N"), alt.Tooltip("x:Q", title=x_title), alt.Tooltip("value:Q", format=".4~s", title=y_title)],
    )
    return chart.properties(width=width, height=height, title=_title(alt, title or f"{metric} vs {x_title}", subtitle))
