"""Hardware comparisons: the same workload on several devices, with price and power.

One function evaluates a workload on one device, `evaluate_workload`; everything else (costs,
filters, ranking) is computed from its `WorkloadResult`. Layer models (the CNN zoo, ViT, model
files) go through the roofline of `estimator.roofline`; transformer configs (llama-3-8b, a config.json)
through `estimator.llm` (prefill + decode; tokens are the generated ones). A tensor-parallel workload
(`tp` devices) is priced and powered as `tp` devices.

Costs. Every device gets a price in USD per device-hour from one basis:
  - launch (default): launch price / (``tco_years`` x 8766 h) + energy (TDP x ``kwh_price``) when given;
  - cloud: the cheapest dated cloud offer per device-hour in data/prices.toml (energy is included);
  - hourly: a price per device-hour given by the user (plus energy when ``kwh_price`` is given).
Cost per million units = USD per hour x devices / (units per second x 3600) x 10^6, assuming the device runs the
workload at the predicted throughput the whole hour. A figure the catalog lacks is reported as unknown
with its reason: never counted as zero.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from estimator.hardware import FigureUnavailable, Hardware, PeakUnavailable
from estimator.units import BYTES_PER_ELEMENT, PRECISIONS
from hwdb.errors import InvalidSpecError

HOURS_PER_YEAR = 8766.0  # 365.25 days
DEFAULT_TCO_YEARS = 3.0

LIMITS = ("compute", "memory bandwidth", "capacity", "interconnect")


@dataclass(frozen=True)
class Workload:
    """What to run: a model at a precision and batch size; for transformer configs, `prompt` and `generate`
    tokens (default 512 and 128), tensor parallelism over `tp` devices and the weight and KV dtypes."""

    model: str
    precision: str = "fp16"
    batch: int = 1
    prompt: int | None = None
    generate: int | None = None
    efficiency: Any = None  # estimator.roofline.EfficiencySpec
    tp: int = 1
    weights: str | None = None
    kv: str | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise InvalidSpecError(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        for name in ("batch", "prompt", "generate", "tp"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidSpecError(f"{name} must be a positive integer, got {value!r}")

    def load(self):
        """The model: an `estimator.models.Model`, or an `estimator.transformer.TransformerConfig`.

        Raises InvalidSpecError when LLM options are given for a layer model.
        """
        from estimator.transformer import TransformerConfig
        from hwdb.workloads import load_model

        network = load_model(self.model)
        if not isinstance(network, TransformerConfig):
            given = [f"--{k}" for k in ("prompt", "generate", "weights", "kv") if getattr(self, k) is not None] + (["--tp"] if self.tp != 1 else [])
            if given:
                raise InvalidSpecError(f"{', '.join(given)}: only for transformer configs (e.g. llama-3-8b); {network.name} is a layer model")
        return network

    @property
    def is_transformer(self) -> bool:
        from estimator.transformer import TransformerConfig

        return isinstance(self.load(), TransformerConfig)


@dataclass(frozen=True)
class WorkloadResult:
    """A workload on one device. `latency_s`/`throughput_per_s` are None when a figure is unknown (`problem` says why)."""

    device: str  # slug
    latency_s: float | None
    throughput_per_s: float | None  # units per second
    unit: str  # "images" | "tokens" | "samples"
    limited_by: str | None  # one of LIMITS
    fits: bool | None  # weights + activations (+ KV cache) within device memory; None when unknown
    memory_needed_bytes: float | None = None
    problem: str | None = None
    notes: tuple[str, ...] = ()
    estimate: Any = None  # estimator.roofline.Estimate (layer models) or estimator.llm.LLMEstimate (transformers)
    devices: int = 1  # devices the workload runs on (tensor parallelism): priced and powered as that many

    @property
    def mfu(self) -> float | None:
        """Model FLOPs utilization (of the prefill for a transformer)."""
        if self.estimate is None:
            return None
        return getattr(self.estimate, "prefill_mfu", None) or getattr(self.estimate, "mfu", None)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "latency_s": self.latency_s, "throughput_per_s": self.throughput_per_s, "unit": self.unit,
            "limited_by": self.limited_by, "fits": self.fits, "memory_needed_bytes": self.memory_needed_bytes,
            "problem": self.problem, "notes": list(self.notes), "devices": self.devices, "mfu": self.mfu,
        }
        e = self.estimate
        if e is not None and hasattr(e, "ttft_s"):
            data.update(ttft_s=e.ttft_s, tpot_s=e.tpot_s, e2e_s=e.e2e_s, output_tokens_per_s=e.tokens_per_s)
        elif e is not None:
            data["compute_bound_share"] = e.compute_bound_share
        return data


def evaluate_workload(hardware: Hardware, workload: Workload, model=None) -> WorkloadResult:
    """The one place a workload is evaluated on a device.

    `model` is the loaded model or transformer config (`workload.load()` when None). A figure the
    catalog lacks gives a result with `problem` set, not an exception.
    """
    from estimator.transformer import TransformerConfig

    network = model if model is not None else workload.load()
    if isinstance(network, TransformerConfig):
        return _evaluate_transformer(hardware, workload, network)
    return _evaluate_layers(hardware, workload, network)


def _evaluate_transformer(hardware: Hardware, workload: Workload, config) -> WorkloadResult:
    """Prefill and decode (`estimator.llm`): latency = end to end (TTFT + every decode step), throughput =
    generated tokens per second over the batch (sequences per second for an encoder); limited by what
    `LLMEstimate.limited_by` says (capacity when it does not fit, else the bound with most of the time)."""
    from estimator.llm import Dtypes, Workload as LLMWorkload, estimate_llm

    generate = workload.generate if workload.generate is not None else (128 if config.is_decoder else 0)
    try:
        dtypes = Dtypes(workload.precision, workload.weights, None, workload.kv).resolved()
        run = LLMWorkload(prompt=workload.prompt or 512, generate=generate, batch=workload.batch, tp=workload.tp)
    except ValueError as error:
        raise InvalidSpecError(str(error)) from None
    unit = "tokens" if generate else "sequences"
    try:
        e = estimate_llm(config, hardware, dtypes, run, workload.efficiency)
    except FigureUnavailable as error:
        return WorkloadResult(hardware.slug, None, None, unit, None, None, problem=_reason(error), devices=workload.tp)
    except ValueError as error:
        raise InvalidSpecError(str(error)) from None
    m = e.memory
    notes = list(e.notes)
    if m.fits is None:
        notes.append(f"{hardware.name}: memory capacity unknown, so the fit is not checked")
    elif not m.fits:
        fewest = f"; fewest devices that hold it: {m.min_devices} (tp {m.min_devices})" if m.min_devices else ""
        notes.append(f"needs {m.total / 1e9:.3g} GB per device (weights + KV cache + activations), has {m.available / 1e9:.3g} GB{fewest}")
    throughput = e.tokens_per_s if generate else e.sequences_per_s
    return WorkloadResult(hardware.slug, e.e2e_s, throughput, unit, e.limited_by, m.fits, m.total, notes=tuple(notes),
                          estimate=e, devices=workload.tp)


def _evaluate_layers(hardware: Hardware, workload: Workload, network) -> WorkloadResult:
    from estimator.roofline import estimate

    unit = "images" if len(network.input_shape) == 3 else "samples"
    size = BYTES_PER_ELEMENT[workload.precision]
    weights = sum(layer.weight_elements for layer in network.layers) * size
    activations = max((layer.input_elements + layer.output_elements for layer in network.layers), default=0) * size
    needed = weights + workload.batch * activations
    memory = hardware.memory_bytes
    fits = None if not memory else needed <= memory
    try:
        result = estimate(network, hardware, workload.precision, workload.batch, workload.efficiency)
    except FigureUnavailable as error:  # PeakUnavailable too
        return WorkloadResult(hardware.slug, None, None, unit, None, fits, needed, problem=_reason(error))
    notes = list(result.notes)
    if fits is None:
        notes.append(f"{hardware.name}: memory capacity unknown, so the fit is not checked")
    limited = "compute" if result.compute_bound_share >= 0.5 else "memory bandwidth"
    if fits is False:
        limited = "capacity"
        notes.append(f"needs {needed / 1e9:.3g} GB (weights + largest layer's activations x batch), has {memory / 1e9:.3g} GB")
    return WorkloadResult(hardware.slug, result.latency_s, result.throughput, unit, limited, fits, needed,
                          notes=tuple(notes), estimate=result)


def _reason(error: Exception) -> str:
    return " ".join(str(error).split())


# -- prices -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pricing:
    """How devices are priced: "launch" (amortised over `tco_years`), "cloud" (data/prices.toml) or "hourly" (given)."""

    basis: str = "launch"
    tco_years: float = DEFAULT_TCO_YEARS
    kwh_price: float | None = None  # USD per kWh: adds TDP x hours to launch and hourly bases
    per_hour: Mapping[str, float] | float | None = None  # hourly basis: one USD/h for all, or per slug

    def __post_init__(self) -> None:
        if self.basis not in ("launch", "cloud", "hourly"):
            raise InvalidSpecError(f"unknown price basis {self.basis!r}")
        if self.tco_years <= 0:
            raise InvalidSpecError("--tco-years must be positive")
        if self.kwh_price is not None and self.kwh_price < 0:
            raise InvalidSpecError("--kwh-price must be >= 0")
        if self.basis == "cloud" and self.kwh_price is not None:
            raise InvalidSpecError("--kwh-price goes with launch prices or --price-per-hour: cloud prices include energy")
        if self.basis == "hourly" and self.per_hour is None:
            raise InvalidSpecError("the hourly basis needs --price-per-hour")


@dataclass(frozen=True)
class Cost:
    """A device's price: `usd_per_hour` (None when unknown, `problem` says why), `usd` (the budget figure)."""

    usd_per_hour: float | None
    usd: float | None  # what --budget is compared with: the launch price, or USD per device-hour
    basis: str  # "launch" | "cloud" | "hourly"
    detail: str  # where the price comes from, one line
    energy_usd_per_hour: float | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"usd_per_hour": self.usd_per_hour, "budget_usd": self.usd, "basis": self.basis, "detail": self.detail,
                "energy_usd_per_hour": self.energy_usd_per_hour, "problem": self.problem}


def device_cost(hardware: Hardware, pricing: Pricing, prices: Sequence[Any] = ()) -> Cost:
    """The price of one device-hour on `pricing`'s basis; `prices` are the release's `hwdb.loader.Price`s."""
    energy, energy_problem = None, None
    if pricing.kwh_price is not None:
        if hardware.tdp_w:
            energy = hardware.tdp_w / 1000 * pricing.kwh_price
        else:
            energy_problem = f"{hardware.name}: TDP unknown, so its energy cost is unknown"
    if pricing.basis == "cloud":
        offers = [p for p in prices if p.device == hardware.slug and p.kind == "cloud"]
        if not offers:
            return Cost(None, None, "cloud", "", problem=f"{hardware.name}: no dated cloud price in data/prices.toml")
        best = min(offers, key=lambda p: p.usd_per_device_hour)
        detail = f"{best.provider} {best.offer}, {best.date} ({best.source})"
        return Cost(best.usd_per_device_hour, best.usd_per_device_hour, "cloud", detail)
    if pricing.basis == "hourly":
        given = pricing.per_hour if isinstance(pricing.per_hour, (int, float)) else (pricing.per_hour or {}).get(hardware.slug)
        if given is None:
            return Cost(None, None, "hourly", "", problem=f"{hardware.name}: no --price-per-hour given for it")
        if energy_problem:
            return Cost(None, float(given), "hourly", "given", problem=energy_problem)
        return Cost(float(given) + (energy or 0.0), float(given), "hourly", "given" + (" + energy" if energy else ""), energy)
    launch = hardware.spec("launch_price")
    if not launch:
        return Cost(None, None, "launch", "", problem=f"{hardware.name}: launch price unknown (no public source in the catalog)")
    if energy_problem:
        return Cost(None, launch, "launch", "", problem=energy_problem)
    capital = launch / (pricing.tco_years * HOURS_PER_YEAR)
    detail = f"launch price ${launch:,.0f} over {pricing.tco_years:g} years" + (f" + energy at ${pricing.kwh_price:g}/kWh" if energy else "")
    return Cost(capital + (energy or 0.0), launch, "launch", detail, energy)


# -- the comparison ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One device in a comparison: its figures, its price, and the workload's result on it."""

    hardware: Hardware
    precision: str
    peak: float | None
    peak_problem: str | None
    cost: Cost
    result: WorkloadResult | None = None
    rank: int | None = None

    @property
    def slug(self) -> str:
        return self.hardware.slug

    @property
    def ridge_point(self) -> float | None:
        bandwidth = self.hardware.memory_bandwidth
        return self.peak / bandwidth if self.peak and bandwidth else None

    @property
    def cost_per_million(self) -> float | None:
        """USD per million units (images, tokens) at the predicted throughput, on all the devices the workload uses."""
        if self.result is None or not self.result.throughput_per_s or self.cost.usd_per_hour is None:
            return None
        return self.cost.usd_per_hour * self.result.devices / (self.result.throughput_per_s * 3600) * 1e6

    @property
    def per_dollar(self) -> float | None:
        """Units per USD (with a workload), else peak FLOP/s per USD per hour."""
        if self.result is not None:
            cost = self.cost_per_million
            return 1e6 / cost if cost else None
        return self.peak / self.cost.usd_per_hour if self.peak and self.cost.usd_per_hour else None

    @property
    def per_watt(self) -> float | None:
        """Units per second per W of TDP (= units per joule; all the workload's devices) with a workload, else peak FLOP/s per W."""
        tdp = self.hardware.tdp_w
        value = self.result.throughput_per_s / self.result.devices if self.result is not None and self.result.throughput_per_s else \
            None if self.result is not None else self.peak
        return value / tdp if value and tdp else None

    def metric(self, name: str) -> float | None:
        return METRICS[name][0](self)

    def to_dict(self) -> dict[str, Any]:
        h = self.hardware
        data = {
            "rank": self.rank, "device": h.slug, "name": h.name, "precision": self.precision, "peak_per_s": self.peak,
            "peak_problem": self.peak_problem, "memory_bytes": h.memory_bytes, "memory_bandwidth_byte_per_s": h.memory_bandwidth,
            "ridge_point_flop_per_byte": self.ridge_point, "host_link": interconnect(h)[0], "scale_up": interconnect(h)[1],
            "scale_up_bandwidth_byte_per_s_per_direction": h.spec("scale_up_bandwidth"), "tdp_w": h.tdp_w,
            "launch_price_usd": h.spec("launch_price"), "cost": self.cost.to_dict(),
            "per_dollar": self.per_dollar, "per_watt": self.per_watt,
        }
        if self.result is not None:
            data["workload"] = self.result.to_dict()
            data["cost_per_million_usd"] = self.cost_per_million
        return data


def interconnect(hardware: Hardware) -> tuple[str | None, str | None]:
    """('PCIe 4.0 x16, 32 GB/s each way', 'NVLink 4, 450 GB/s each way') from the stored figures (per direction)."""
    def link(name: str, bandwidth: str) -> str | None:
        text, value = hardware.spec(name), hardware.spec(bandwidth)
        if not text and not value:
            return None
        return ", ".join(part for part in (text, f"{value / 1e9:.3g} GB/s each way" if value else None) if part)
    return link("host_link", "host_link_bandwidth"), link("scale_up_link", "scale_up_bandwidth")


# name -> (value of a row, higher is better, title with unit)
METRICS: dict[str, tuple[Any, bool, str]] = {
    "cost": (lambda r: r.cost_per_million, False, "USD per million {unit}"),
    "throughput": (lambda r: r.result.throughput_per_s if r.result else None, True, "{unit}/s"),
    "latency": (lambda r: r.result.latency_s if r.result else None, False, "latency (s)"),
    "per-dollar": (lambda r: r.per_dollar, True, "{unit} per USD"),
    "per-watt": (lambda r: r.per_watt, True, "{unit}/s per W"),
    "peak": (lambda r: r.peak, True, "peak {rate}"),
    "bandwidth": (lambda r: r.hardware.memory_bandwidth, True, "memory bandwidth (byte/s)"),
    "memory": (lambda r: r.hardware.memory_bytes, True, "memory (bytes)"),
    "ridge": (lambda r: r.ridge_point, True, "ridge point ({unit_op}/byte)"),
    "tdp": (lambda r: r.hardware.tdp_w, False, "TDP (W)"),
    "price": (lambda r: r.cost.usd_per_hour, False, "USD per device-hour"),
}
WORKLOAD_METRICS = ("cost", "throughput", "latency")


@dataclass(frozen=True)
class Comparison:
    """Devices side by side, ranked on `sort`; `excluded` holds (slug, reason) for devices a filter removed."""

    rows: tuple[Row, ...]
    precision: str
    workload: Workload | None
    pricing: Pricing
    sort: str
    excluded: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def unit(self) -> str:
        units = {r.result.unit for r in self.rows if r.result is not None}
        return units.pop() if len(units) == 1 else "samples"

    def title(self, metric: str) -> str:
        """The metric's name with its unit, as chart panels and JSON consumers show it."""
        unit_op = "OP" if self.precision.startswith("int") else "FLOP"
        if self.workload is None and metric == "per-dollar":
            return f"peak {unit_op}/s per USD/hour"
        if self.workload is None and metric == "per-watt":
            return f"peak {unit_op}/s per W"
        return METRICS[metric][2].format(unit=self.unit, rate=f"{self.precision.upper()} {unit_op}/s", unit_op=unit_op)

    def sweep_chart(self, batches: Sequence[int], metric: str = "throughput"):
        """Throughput (or latency) of the workload against batch size on each device, one line per device (Altair)."""
        from estimator.charts import sweep_chart
        from estimator.roofline import sweep
        from estimator.transformer import TransformerConfig

        if self.workload is None:
            raise InvalidSpecError("a sweep needs a workload (--model)")
        network = self.workload.load()
        if isinstance(network, TransformerConfig):
            records = []
            for row in self.rows:
                for batch in batches:
                    result = evaluate_workload(row.hardware, replace(self.workload, batch=batch), network)
                    value = result.throughput_per_s if metric == "throughput" else result.latency_s
                    if value is not None:
                        records.append({"device": row.hardware.name, "x": batch, "value": value})
            return sweep_chart(records=records, metric=metric, unit=self.unit, x_title="batch (sequences)")
        found = sweep([network], [r.hardware for r in self.rows], list(batches), [self.workload.precision], self.workload.efficiency)
        return sweep_chart(found, metric=metric, unit=self.unit)

    def chart(self, metrics: Sequence[str] | None = None):
        """A grouped bar chart (an Altair chart) of `metrics` across the devices, in rank order."""
        from estimator.charts import comparison_chart

        if not self.rows:
            raise FigureUnavailable("nothing to draw: every device was excluded ("
                                    + "; ".join(f"{slug}: {reason}" for slug, reason in self.excluded) + ")")
        metrics = list(metrics or default_chart_metrics(self))
        for name in metrics:
            if name not in METRICS:
                raise InvalidSpecError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
            if name in WORKLOAD_METRICS and self.workload is None:
                raise InvalidSpecError(f"metric {name} needs a workload (--model)")
        records, missing = [], []
        for row in self.rows:
            lacking = []
            for name in metrics:
                value = row.metric(name)
                if value is None:
                    lacking.append(name)
                else:
                    records.append({"device": row.hardware.name, "metric": self.title(name), "value": value})
            if lacking:
                missing.append(f"{row.hardware.name} ({', '.join(lacking)})")
        what = f"{self.workload.model}, {self.precision.upper()}, batch {self.workload.batch}" if self.workload else f"{self.precision.upper()} peaks"
        priced = any(name in ("cost", "per-dollar", "price") for name in metrics)
        subtitle = (f"{basis_text(self)}. " if priced else "") + (f"Unknown, not drawn: {'; '.join(missing)}." if missing else "")
        return comparison_chart(records, order=[r.hardware.name for r in self.rows], title=f"Device comparison: {what}", subtitle=subtitle)

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {
            "precision": self.precision, "sort": self.sort,
            "workload": None if w is None else {"model": w.model, "precision": w.precision, "batch": w.batch, "prompt": w.prompt,
                                                "generate": w.generate, "tp": w.tp, "weights": w.weights, "kv": w.kv, "unit": self.unit},
            "pricing": {"basis": self.pricing.basis, "tco_years": self.pricing.tco_years, "kwh_price_usd": self.pricing.kwh_price},
            "devices": [r.to_dict() for r in self.rows],
            "excluded": [{"device": slug, "reason": reason} for slug, reason in self.excluded],
            "notes": list(self.notes),
        }


def default_chart_metrics(comparison: Comparison) -> list[str]:
    if comparison.workload is None:
        return ["peak", "bandwidth", "per-watt"]
    return ["throughput", "cost", "per-dollar", "per-watt"]


def basis_text(comparison: Comparison) -> str:
    p = comparison.pricing
    if p.basis == "cloud":
        return "Prices: cheapest dated cloud offer per device-hour (data/prices.toml)"
    if p.basis == "hourly":
        return "Prices: given per device-hour" + (f", plus energy at TDP x ${p.kwh_price:g}/kWh" if p.kwh_price is not None else "")
    return (f"Prices: launch price over {p.tco_years:g} years of continuous use"
            + (f", plus energy at TDP x ${p.kwh_price:g}/kWh" if p.kwh_price is not None else ""))


def compare(hardware: Sequence[Hardware], *, precision: str = "fp16", workload: Workload | None = None,
            pricing: Pricing | None = None, prices: Sequence[Any] = (), sort: str | None = None,
            budget: float | None = None, power: float | None = None) -> Comparison:
    """Compare devices: figures, prices and (with `workload`) the workload's speed and cost on each, ranked on `sort`.

    `budget` (USD: the launch price, or USD per device-hour on the cloud and hourly bases) and `power` (W of
    TDP) drop devices over the limit, and devices whose figure is unknown (listed in `excluded`).
    """
    pricing = pricing or Pricing()
    if workload is not None:
        precision = workload.precision
    if precision not in PRECISIONS:
        raise InvalidSpecError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if not hardware:
        raise InvalidSpecError("name at least one device to compare")
    if sort is None:
        sort = ("cost" if pricing.basis != "launch" or any(h.spec("launch_price") for h in hardware) else "throughput") if workload else "peak"
    if sort not in METRICS:
        raise InvalidSpecError(f"unknown sort key {sort!r}; choose from {', '.join(METRICS)}")
    if sort in WORKLOAD_METRICS and workload is None:
        raise InvalidSpecError(f"--sort {sort} needs a workload (--model)")
    if budget is not None and budget <= 0 or power is not None and power <= 0:
        raise InvalidSpecError("--budget and --power must be positive")
    model = workload.load() if workload is not None else None
    devices = workload.tp if workload is not None else 1
    rows, excluded = [], []
    for h in {h.slug: h for h in hardware}.values():  # a device named twice is compared once
        cost = device_cost(h, pricing, prices)
        if budget is not None:
            if cost.usd is None:
                excluded.append((h.slug, f"price unknown, so not checked against the budget ({cost.problem})"))
                continue
            if cost.usd * devices > budget:
                many = f" x {devices} devices" if devices > 1 else ""
                excluded.append((h.slug, f"over budget: ${cost.usd:,.2f}{many} > ${budget:,.2f}"))
                continue
        if power is not None:
            if not h.tdp_w:
                excluded.append((h.slug, "TDP unknown, so not checked against --power"))
                continue
            if h.tdp_w * devices > power:
                many = f" x {devices} devices" if devices > 1 else ""
                excluded.append((h.slug, f"over the power limit: {h.tdp_w:g} W{many} > {power:g} W"))
                continue
        try:
            peak, problem = h.peak(precision).value, None
        except PeakUnavailable as error:
            peak, problem = None, _reason(error)
        result = evaluate_workload(h, workload, model) if workload is not None else None
        rows.append(Row(h, precision, peak, problem, cost, result))
    ranked = rank(rows, sort)
    notes = []
    if workload is not None and any(r.result and r.result.fits is False for r in ranked):
        notes.append("devices the workload does not fit in are ranked after those it fits")
    return Comparison(tuple(ranked), precision, workload, pricing, sort, tuple(excluded), tuple(notes))


def rank(rows: Sequence[Row], sort: str) -> list[Row]:
    """Best first on `sort`; devices the workload does not fit in, then devices with the figure unknown, come last (unranked)."""
    getter, higher_better, _ = METRICS[sort]
    known = [r for r in rows if getter(r) is not None and not (r.result is not None and r.result.fits is False)]
    misfits = [r for r in rows if getter(r) is not None and r.result is not None and r.result.fits is False]
    unknown = [r for r in rows if getter(r) is None]
    known.sort(key=getter, reverse=higher_better)
    misfits.sort(key=getter, reverse=higher_better)
    return [replace(r, rank=i) for i, r in enumerate(known, 1)] + misfits + unknown


def unknown_reason(row: Row, sort: str) -> str | None:
    """Why `row` has no value for `sort` (None when it has one)."""
    if row.metric(sort) is not None:
        return None
    if row.result is not None and row.result.problem:
        return row.result.problem
    if sort in ("cost", "per-dollar", "price") and row.cost.problem:
        return row.cost.problem
    if sort in ("peak", "ridge") and row.peak_problem:
        return row.peak_problem
    if sort == "per-watt" and not row.hardware.tdp_w:
        return f"{row.hardware.name}: TDP unknown"
    return f"{row.hardware.name}: {sort} unknown"
