"""The Python API: what `hwdb peak/show/list` do, callable from scripts and notebooks.

>>> import hwdb
>>> hwdb.peak("t4", "fp16") / 1e12      # doctest: +SKIP
65.0
"""

from estimator.hardware import Hardware
from hwdb.config import resolve_database_url, sqlite_path
from hwdb.current import Snapshot, read_sqlite


release_reporter = None
"""Called with one line when start-up applied a new catalog release to an existing database (the CLI
prints it on stderr; the library stays quiet)."""


def snapshot(db: str | None = None) -> Snapshot:
    """The current catalog, created and filled on first use.

    The common case (an up-to-date SQLite file) is read with the standard library alone; anything
    else goes through `hwdb.catalog.Catalog`, which creates, upgrades and applies the release.
    """
    from hwdb.resources import data_dir, fingerprint

    url = resolve_database_url(db)
    path = sqlite_path(url)
    if path is not None:
        found = read_sqlite(path, fingerprint(data_dir()))
        if found is not None:
            return found
    from hwdb.catalog import Catalog  # SQLAlchemy, alembic: only when the fast path cannot answer

    catalog = _ready(Catalog(url))
    try:
        return catalog.snapshot()
    finally:
        catalog.close()


def _ready(catalog, *, fill: bool = True):
    """`catalog` set up; a release applied to an existing database is reported through `release_reporter`."""
    catalog.ensure(fill=fill)
    if release_reporter is not None and catalog.last_release is not None and not catalog.last_release.first:
        release_reporter(catalog.last_release.summary())
    return catalog


def device(name: str, *, db: str | None = None) -> Hardware:
    """The device `name` denotes (slug or alias, case-insensitive), as a plain record.

    Raises:
        hwdb.UnknownDeviceError: no such device; ``.suggestions`` holds the closest names.
    """
    return snapshot(db).device(name)


def devices(*, db: str | None = None, include_retired: bool = False) -> list[Hardware]:
    """Every device in the catalog, by slug (retired ones too with `include_retired`)."""
    found = snapshot(db)
    found.include_retired = include_retired
    return found.devices()


def peak(name: str, precision: str = "fp32", *, sparse: bool = False, engine: str | None = None, db: str | None = None) -> float:
    """Peak rate of `name` at `precision` in FLOP/s (OP/s for int8/int4): dense unless `sparse`.

    The matrix engine (tensor cores) is used where the device has one for that precision, unless
    ``engine="vector"``. Raises `estimator.PeakUnavailable` when the device lacks the precision or no
    source gives the figure.
    """
    return device(name, db=db).peak(precision, engine=engine, sparse=sparse).value


def model(name: str, *, dims=None):
    """A built-in model (`hwdb models`), a description or config shipped in data/models/, a .toml/.json
    file, or an .onnx graph (`dims` sets its dynamic dimensions): an `estimator.models.Model`, or an
    `estimator.transformer.TransformerConfig` for a config.json."""
    from hwdb.workloads import load_model

    return load_model(name, dims)


def estimate(model_name: str, device_name: str, precision: str | None = None, *, batch: int = 1, efficiency=None,
             calibrated: bool | None = None, fused: bool = False, dims=None,
             prompt: int = 512, generate: int | None = None, tp: int = 1, weights: str | None = None, kv: str | None = None,
             activations: str | None = None, attention: str = "flash", causal: bool | None = None, db: str | None = None):
    """The roofline estimate of a model on a catalog device.

    A layer model (resnet50, a .toml description) gives an `estimator.roofline.Estimate` at `precision`
    (default FP32). A transformer config (llama-3-8b, a config.json) gives an `estimator.llm.LLMEstimate`
    with prefill and decode: `precision` is the matrix-engine precision (default FP16), `weights`, `kv`
    and `activations` the storage dtypes by role, `tp` the tensor-parallel degree, `generate` the output
    tokens (default 128; 0 for encoders).

    `calibrated`: None (the default) uses the device's calibration where it has one (`hwdb probe --save`),
    False the pure roofline, True requires a calibration. `fused` costs a layer model as an inference
    runtime runs it (`estimator.models.fuse`). `dims` sets an ONNX graph's dynamic dimensions.

    >>> e = hwdb.estimate("resnet50", "t4", "fp16", batch=32)   # doctest: +SKIP
    >>> e.latency_s, e.throughput, e.mfu                        # doctest: +SKIP
    (0.0176, 1819.1, 0.23)
    >>> e = hwdb.estimate("llama-2-7b", "a100-sxm4-40gb", prompt=1024, generate=128)   # doctest: +SKIP
    >>> e.ttft_s, e.tpot_s, e.tokens_per_s                                          # doctest: +SKIP
    (0.0478, 0.00887, 109.0)
    """
    from estimator.transformer import TransformerConfig

    network, hardware = model(model_name, dims=dims), device(device_name, db=db)
    if isinstance(network, TransformerConfig):
        from estimator.llm import Dtypes, Workload, estimate_llm

        workload = Workload(prompt=prompt, generate=(128 if network.is_decoder else 0) if generate is None else generate,
                            batch=batch, tp=tp, attention=attention, causal=causal)
        return estimate_llm(network, hardware, Dtypes(precision or "fp16", weights, activations, kv), workload, efficiency, calibrated)
    from estimator.models import fuse
    from estimator.roofline import estimate as run

    return run(fuse(network) if fused else network, hardware, precision or "fp32", batch, efficiency, calibrated)


def versions(db: str | None = None, *, fill: bool = True):
    """The versioned catalog (`hwdb.versions.Versions`): edits, additions, history, releases, export and pull."""
    from hwdb.catalog import Catalog
    from hwdb.versions import Versions

    return Versions(_ready(Catalog(resolve_database_url(db)), fill=fill))


def _read(db: str | None, use):
    """`use(reader)` with a `hwdb.reads.Reader` of the catalog: on an up-to-date SQLite file through the
    standard library (as `snapshot`), else through `versions(db)` (set-up, upgrade, PostgreSQL)."""
    from hwdb.current import read_sqlite_with
    from hwdb.reads import Reader
    from hwdb.resources import data_dir, fingerprint

    path = sqlite_path(resolve_database_url(db))
    if path is not None:
        found = read_sqlite_with(path, fingerprint(data_dir()), lambda connection: use(Reader(lambda sql, params: connection.execute(sql, params).fetchall())))
        if found is not None:
            return found[0]
    with versions(db).reader() as reader:
        return use(reader)


def device_at(name: str, *, revision: int | None = None, as_of=None, db: str | None = None) -> Hardware:
    """A device as of revision `revision` or as it stood at the end of day `as_of` (a `datetime.date`)."""
    return _read(db, lambda reader: reader.device_at(name, revision=revision, as_of=as_of))


def history(name: str, *, db: str | None = None):
    """Every revision of a device, oldest first, with the figures each changed (`hwdb.reads.RevisionInfo`)."""
    return _read(db, lambda reader: reader.revisions(name))


def releases(*, db: str | None = None):
    """The catalog releases applied to this database, oldest first (`hwdb.reads.ReleaseInfo`)."""
    return _read(db, lambda reader: reader.releases())


def diff(release_a: str, release_b: str | None = None, *, db: str | None = None):
    """Devices added, removed and changed between two releases (None: the catalog now): a `hwdb.reads.Diff`."""
    return _read(db, lambda reader: reader.diff(release_a, release_b))


def export(release: str | None = None, *, db: str | None = None) -> dict:
    """The whole catalog with every revision and source, as JSON-ready data for `hwdb pull` (`release`: as of it)."""
    from hwdb.current import SCHEMA_HEAD

    return _read(db, lambda reader: reader.export(release, SCHEMA_HEAD))


def prices(*, db: str | None = None):
    """The dated cloud and street prices of the current release (`hwdb.loader.Price`)."""
    from hwdb.current import read_sqlite_prices
    from hwdb.loader import Price, by_device_hour
    from hwdb.resources import data_dir, fingerprint

    url = resolve_database_url(db)
    path = sqlite_path(url)
    rows = read_sqlite_prices(path, fingerprint(data_dir())) if path is not None else None
    if rows is not None:  # the common case, with the standard library alone (as `snapshot`)
        return by_device_hour(Price(*row) for row in rows)
    from hwdb.catalog import Catalog

    catalog = _ready(Catalog(url))
    try:
        return catalog.prices()
    finally:
        catalog.close()


def compare(device_names, *, model: str | None = None, precision: str = "fp16", batch: int = 1, prompt: int | None = None,
            generate: int | None = None, tp: int = 1, weights: str | None = None, kv: str | None = None, cloud: bool = False, price_per_hour=None, tco_years: float | None = None,
            kwh_price: float | None = None, sort: str | None = None, budget: float | None = None, power: float | None = None,
            db: str | None = None):
    """Devices side by side (what `hwdb compare` prints): a `hwdb.comparison.Comparison`, ranked.

    ``.rows`` (best first), ``.to_dict()``, and ``.chart(metrics)`` returns the Altair comparison chart.

    >>> c = hwdb.compare(["t4", "l40s"], model="resnet50", batch=32, cloud=True)   # doctest: +SKIP
    >>> c.chart(["throughput", "per-watt"])                                        # doctest: +SKIP
    >>> hwdb.compare(["l4", "h100-pcie"], model="llama-3-8b", prompt=1024, generate=256, cloud=True)   # doctest: +SKIP
    """
    from hwdb.comparison import DEFAULT_TCO_YEARS, Pricing, Workload, compare as run

    basis = "cloud" if cloud else "hourly" if price_per_hour is not None else "launch"
    pricing = Pricing(basis=basis, tco_years=tco_years or DEFAULT_TCO_YEARS, kwh_price=kwh_price, per_hour=price_per_hour)
    workload = Workload(model, precision, batch, prompt, generate, tp=tp, weights=weights, kv=kv) if model else None
    records = [device(name, db=db) for name in ([device_names] if isinstance(device_names, str) else device_names)]
    return run(records, precision=precision, workload=workload, pricing=pricing, prices=prices(db=db) if cloud else (),
               sort=sort, budget=budget, power=power)


def roofline_chart(device_names, precisions=("fp16",), *, model: str | None = None, batch: int = 1, db: str | None = None):
    """The roofline chart (an Altair chart: it displays itself in a notebook) of devices at precisions, with a model's layers.

    Devices or precisions without a figure get no roof (the chart's subtitle says why); the model is placed on those that have one.
    """
    from estimator.charts import roofline_chart as draw
    from estimator.hardware import FigureUnavailable
    from estimator.roofline import Roof, estimate as run

    records = [device(name, db=db) for name in ([device_names] if isinstance(device_names, str) else device_names)]
    precisions = [precisions] if isinstance(precisions, str) else list(precisions)
    roofs = [Roof.of(r, p) for r in records for p in precisions]
    estimates = []
    if model is not None:
        from hwdb.workloads import load_model

        network = load_model(model)
        for r in records:
            for p in precisions:
                try:
                    estimates.append(run(network, r, p, batch))
                except FigureUnavailable:
                    pass  # no roof either: named in the subtitle
    return draw(roofs, estimates)


def sweep_chart(device_names, model_name: str, batches=(1, 2, 4, 8, 16, 32, 64, 128, 256), *, precision: str = "fp16",
                metric: str = "throughput", db: str | None = None):
    """Throughput (or latency) of a model against batch size, one line per device, as an Altair chart
    (a transformer config: generated tokens/s or end-to-end latency at 512 prompt and 128 output tokens)."""
    from estimator.charts import sweep_chart as draw
    from estimator.roofline import sweep
    from estimator.transformer import TransformerConfig

    records = [device(name, db=db) for name in ([device_names] if isinstance(device_names, str) else device_names)]
    network = model(model_name)
    if isinstance(network, TransformerConfig):
        from hwdb.comparison import Workload, compare as run

        return run(records, precision=precision, workload=Workload(model_name, precision)).sweep_chart(list(batches), metric)
    unit = "images" if len(network.input_shape) == 3 else "samples"
    return draw(sweep([network], records, list(batches), [precision]), metric=metric, unit=unit)


def save_chart(chart, path):
    """Write an Altair chart by extension: .html (offline), .json (Vega-Lite), .png, .svg (the `charts` extra)."""
    from hwdb.export import save_chart as save

    return save(chart, path)
