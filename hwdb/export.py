"""Save an Altair chart by file extension: .html (renders offline), .json (Vega-Lite spec), .png, .svg.

HTML inlines Vega, Vega-Lite and vega-embed (altair's default template loads them from a CDN, which
does not work without internet); altair takes the bundles from vl-convert. PNG and SVG are rendered by
vl-convert. Without the `charts` extra every format fails with one line naming it.
"""

from pathlib import Path

from hwdb.errors import HwdbError

FORMATS = (".html", ".json", ".png", ".svg")
EXTRA_HINT = 'pip install "hwdb[charts]"'
PNG_SCALE = 2.0  # pixels per CSS pixel: sharp in documents


class ChartExportError(HwdbError):
    """A chart cannot be written (unsupported extension, missing extra); one line."""


def check_chart_path(path: str | Path) -> Path:
    """`path` as a Path when its extension is one hwdb writes and the packages it needs are installed.

    Called before any work, so that a typo in `--chart` fails at once.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ChartExportError(f"--chart {path}: unsupported extension {suffix or '(none)'!r}; use one of {', '.join(FORMATS)}")
    try:
        import altair  # noqa: F401
    except ImportError:
        raise ChartExportError(f"charts need altair: {EXTRA_HINT}") from None
    if suffix != ".json":
        try:
            import vl_convert  # noqa: F401
        except ImportError:
            raise ChartExportError(f"{suffix} export needs vl-convert-python: {EXTRA_HINT}") from None
    if not path.parent.exists():
        raise ChartExportError(f"--chart {path}: folder {path.parent} does not exist")
    return path


def save_chart(chart, path: str | Path) -> Path:
    """Write `chart` (an Altair chart) to `path`, in the format its extension names."""
    path = check_chart_path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(chart.to_json(indent=2) + "\n")
    elif suffix == ".html":
        chart.save(str(path), format="html", inline=True)
    elif suffix == ".png":
        chart.save(str(path), format="png", scale_factor=PNG_SCALE)
    else:
        chart.save(str(path), format="svg")
    return path


def write_estimate_chart(estimate, path: str | Path) -> Path:
    """The roofline chart of one estimate, saved to `path`: an `estimator.roofline.Estimate` (its roof and its
    layers), or an `estimator.llm.LLMEstimate` (its roof, the prefill and the decode kernels as two sets of points)."""
    from estimator.charts import roofline_chart

    check_chart_path(path)
    if hasattr(estimate, "prefill"):
        phases = [p.roofline_view(estimate) for p in (estimate.prefill, estimate.decode) if p.steps]
        w = estimate.workload
        title = (f"Roofline: {estimate.model} on {estimate.device}, {estimate.dtypes.compute.upper()}, batch {w.batch}, "
                 f"prompt {w.prompt}" + (f", generate {w.generate}" if w.generate else ""))
        return save_chart(roofline_chart([estimate.roof], phases, title=title), path)
    return save_chart(roofline_chart([estimate.roof], [estimate]), path)
