"""hwdb: a versioned catalog of accelerator and CPU specs, and the roofline estimates they drive.

    >>> import hwdb
    >>> hwdb.peak("t4", "fp16")            # FLOP/s, dense, tensor cores   # doctest: +SKIP
    65000000000000.0
    >>> hwdb.device("p100").spec("boost_clock")                            # doctest: +SKIP
    1480000000.0

Importing hwdb is cheap: the database layer (SQLAlchemy, alembic) loads only when needed.
"""

from estimator.hardware import Hardware, Peak, PeakUnavailable
from hwdb.api import (
    compare, device, device_at, devices, diff, estimate, export, history, model, peak, prices, releases, roofline_chart, save_chart, snapshot,
    sweep_chart,
)
from hwdb.errors import AmbiguousDeviceError, DatabaseError, HwdbError, InvalidSpecError, SchemaVersionError, UnknownDeviceError

__all__ = [
    "AmbiguousDeviceError", "DatabaseError", "Hardware", "HwdbError", "InvalidSpecError", "Peak", "PeakUnavailable",
    "SchemaVersionError", "UnknownDeviceError", "compare", "device", "device_at", "devices", "diff", "estimate", "export", "history", "model",
    "open_catalog", "peak", "prices", "releases", "roofline_chart", "save_chart", "snapshot", "sweep_chart",
]


def open_catalog(db: str | None = None):
    """A `hwdb.catalog.Catalog` for `db` (URL or SQLite path; default: HWDB_URL, else the user's data folder), set up and ready."""
    from hwdb.catalog import Catalog

    return Catalog(db).ensure()
