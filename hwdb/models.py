"""The catalog's tables (SQLModel). Spec revisions are append-only; `device_current` is a denormalised
read model of each device's latest revision, written in the same transaction as that revision."""

from datetime import datetime

from sqlalchemy import Column, MetaData, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints, so that alembic migrations can refer to them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class Source(SQLModel, table=True):
    """A datasheet, whitepaper or product page that figures cite."""

    __tablename__ = "source"
    id: str = Field(primary_key=True, max_length=200)
    url: str = Field(max_length=2000)
    title: str = Field(max_length=500)
    publisher: str = Field(default="", max_length=200)


class CatalogRelease(SQLModel, table=True):
    """A shipped catalog release applied to this database."""

    __tablename__ = "catalog_release"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50, index=True)
    content_hash: str = Field(max_length=64)  # SHA-256 of the release's files
    fingerprint: str = Field(max_length=40)  # cheap change detector checked on every start
    applied_at: datetime
    devices_changed: int = 0
    last_revision_id: int | None = None  # the newest spec_revision.id when the release was applied: the catalog "as of" it


class Device(SQLModel, table=True):
    """A device's identity; everything that can change lives in its revisions."""

    __tablename__ = "device"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=100, unique=True, index=True)
    created_at: datetime


class Alias(SQLModel, table=True):
    """A lookup name (lower case) of a device, as of its latest revision."""

    __tablename__ = "alias"
    alias: str = Field(primary_key=True, max_length=100)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")


class SpecRevision(SQLModel, table=True):
    """One immutable snapshot of a device's figures."""

    __tablename__ = "spec_revision"
    __table_args__ = (UniqueConstraint("device_id", "number", name="uq_spec_revision_device_number"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    number: int
    created_at: datetime
    release: str | None = Field(default=None, max_length=50)
    author: str = Field(max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text))
    origin: str = Field(max_length=20)  # release | user | pull | measured
    name: str = Field(max_length=200)
    vendor: str = Field(max_length=100)
    kind: str = Field(max_length=50)
    architecture: str | None = Field(default=None, max_length=100)
    form_factor: str | None = Field(default=None, max_length=100)
    aliases: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    retired: bool = False
    record: str | None = Field(default=None, sa_column=Column(Text))  # Hardware.to_dict() as JSON: the figures as derived
    entry: str | None = Field(default=None, sa_column=Column(Text))  # the data-file entry (JSON) the record was derived from


class SpecValue(SQLModel, table=True):
    """One sourced figure of a revision: numeric (SI, `unit` names it) or text."""

    __tablename__ = "spec_value"
    __table_args__ = (UniqueConstraint("revision_id", "name", name="uq_spec_value_revision_name"),)
    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="spec_revision.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=50)
    value_num: float | None = None
    value_text: str | None = Field(default=None, max_length=500)
    unit: str = Field(default="", max_length=20)
    direction: str | None = Field(default=None, max_length=20)
    source_id: str | None = Field(default=None, foreign_key="source.id")
    note: str | None = Field(default=None, sa_column=Column(Text))


class PeakValue(SQLModel, table=True):
    """A peak of a revision for one (precision, engine, sparsity), with its datasheet figure and derivation."""

    __tablename__ = "peak"
    __table_args__ = (
        UniqueConstraint("revision_id", "precision", "engine", "sparse", "accumulate", name="uq_peak_revision_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="spec_revision.id", index=True, ondelete="CASCADE")
    precision: str = Field(max_length=10)
    engine: str = Field(max_length=10)
    sparse: bool = False
    accumulate: str = Field(default="", max_length=10, sa_column_kwargs={"server_default": ""})  # "" = not stated separately
    status: str = Field(default="supported", max_length=20)  # supported | not_supported
    value: float | None = None  # reported FLOP/s or OP/s
    origin: str | None = Field(default=None, max_length=20)  # datasheet | derived
    datasheet_value: float | None = None
    source_id: str | None = Field(default=None, foreign_key="source.id")
    note: str | None = Field(default=None, sa_column=Column(Text))
    chips: int | None = None
    clock_hz: float | None = None
    clock_name: str | None = Field(default=None, max_length=30)
    unit_name: str | None = Field(default=None, max_length=30)
    units: float | None = None
    ops_per_clock: float | None = None
    sparse_factor: float | None = None
    derivation_source_id: str | None = Field(default=None, foreign_key="source.id")


class DeviceCurrent(SQLModel, table=True):
    """The latest revision of each device as one JSON record: what `hwdb peak` reads, with no ORM."""

    __tablename__ = "device_current"
    device_id: int = Field(primary_key=True, foreign_key="device.id", ondelete="CASCADE")
    slug: str = Field(max_length=100, unique=True)
    revision_number: int
    record: str = Field(sa_column=Column(Text, nullable=False))  # Hardware.to_dict() as JSON


class PriceValue(SQLModel, table=True):
    """A dated price of a catalog release: a cloud offer (USD per hour) or a street price (USD)."""

    __tablename__ = "price"
    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="catalog_release.id", index=True, ondelete="CASCADE")
    device_slug: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=10)  # cloud | street
    provider: str = Field(max_length=100)
    offer: str = Field(default="", max_length=200)
    devices: int = 1
    usd: float  # per hour for cloud offers
    date: str = Field(max_length=10)
    source_id: str = Field(foreign_key="source.id")
    note: str | None = Field(default=None, sa_column=Column(Text))
