"""The catalog over SQLAlchemy: set-up on first use, releases applied as revisions, and reads.

Every write is one transaction. Revisions are append-only: a changed figure makes a new revision
and the `device_current` row and aliases are rewritten in the same transaction.
"""

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from estimator.hardware import Hardware
from hwdb import db
from hwdb.config import resolve_database_url
from hwdb.current import Snapshot, names_of
from hwdb.errors import DatabaseError
from hwdb.loader import CatalogData, Price, load_catalog
from hwdb.models import Alias, CatalogRelease, Device, DeviceCurrent, PeakValue, PriceValue, Source, SpecRevision, SpecValue
from hwdb.resources import data_dir, fingerprint


def _now() -> datetime:
    return datetime.now(timezone.utc)


def comparable(record: Hardware) -> dict:
    """The parts of a record a revision captures (not its revision number or release)."""
    return {k: v for k, v in record.to_dict().items() if k not in ("revision", "release")}


class Catalog:
    """A hardware catalog in a database (SQLite file by default, or any SQLAlchemy URL)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, data: Path | None = None):
        self.url = str(engine.url) if engine is not None else resolve_database_url(url)
        self._engine = engine
        self.data_root = data or data_dir()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
        return self._engine

    def close(self) -> None:
        """Release pooled connections (an SQLite file is checkpointed when its last one closes)."""
        if self._engine is not None:
            self._engine.dispose()

    # -- set-up ----------------------------------------------------------------------------------
    def ensure(self) -> "Catalog":
        """Create or upgrade the schema and apply the shipped release if the database has not got it yet."""
        with db.exclusive(self.engine):
            db.upgrade(self.engine)
            if self.release_fingerprint() != fingerprint(self.data_root):
                self.apply_release(load_catalog(self.data_root))
        return self

    def release_fingerprint(self) -> str | None:
        try:
            with Session(self.engine) as session:
                latest = session.exec(select(CatalogRelease.fingerprint).order_by(CatalogRelease.id.desc()).limit(1)).first()
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot read the catalog: {db.describe(error)}") from None
        return latest[0] if latest else None

    def apply_release(self, data: CatalogData) -> int:
        """Write every device whose figures differ from its current revision; one transaction. Returns the count."""
        try:
            with Session(self.engine) as session, session.begin():
                for source in data.sources.values():
                    session.merge(Source(id=source.id, url=source.url, title=source.title, publisher=source.publisher))
                session.flush()
                changed = sum(
                    self._write_if_changed(session, record, release=data.release, origin="release",
                                           note=f"catalog release {data.release}", author=f"hwdb release {data.release}")
                    for record in data.devices
                )
                release = CatalogRelease(name=data.release, content_hash=data.content_hash, fingerprint=data.fingerprint,
                                         applied_at=_now(), devices_changed=changed)
                session.add(release)
                session.flush()
                for price in data.prices:
                    session.add(PriceValue(
                        release_id=release.id, device_slug=price.device, kind=price.kind, provider=price.provider,
                        offer=price.offer, devices=price.devices, usd=price.usd, date=price.date,
                        source_id=price.source, note=price.note,
                    ))
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot write the catalog: {db.describe(error)}") from None
        return changed

    def _write_if_changed(self, session: Session, record: Hardware, *, release: str | None, origin: str, note: str, author: str) -> bool:
        device = session.exec(select(Device).where(Device.slug == record.slug)).first()
        device = device[0] if device else None
        if device is not None:
            current = session.get(DeviceCurrent, device.id)
            if current is not None and comparable(Hardware.from_dict(json.loads(current.record))) == comparable(record):
                return False
        else:
            device = Device(slug=record.slug, created_at=_now())
            session.add(device)
            session.flush()
        self._write_revision(session, device, record, release=release, origin=origin, note=note, author=author)
        return True

    def _write_revision(self, session: Session, device: Device, record: Hardware, *, release, origin, note, author) -> SpecRevision:
        number = (session.exec(select(func.max(SpecRevision.number)).where(SpecRevision.device_id == device.id)).first()[0] or 0) + 1
        revision = SpecRevision(
            device_id=device.id, number=number, created_at=_now(), release=release, author=author, note=note,
            origin=origin, name=record.name, vendor=record.vendor, kind=record.kind, architecture=record.architecture,
            form_factor=record.form_factor, aliases=json.dumps(list(record.aliases)),
        )
        session.add(revision)
        session.flush()
        for spec in record.specs.values():
            numeric = isinstance(spec.value, (int, float))
            session.add(SpecValue(
                revision_id=revision.id, name=spec.name, value_num=float(spec.value) if numeric else None,
                value_text=None if numeric else str(spec.value), unit=spec.unit, direction=spec.direction,
                source_id=spec.source, note=spec.note,
            ))
        for peak in record.peaks:
            d = peak.derivation
            session.add(PeakValue(
                revision_id=revision.id, precision=peak.precision, engine=peak.engine, sparse=peak.sparse,
                accumulate=peak.accumulate or "", value=peak.value, origin=peak.origin, datasheet_value=peak.datasheet_value, source_id=peak.source,
                note=peak.note, derivation_source_id=peak.derivation_source,
                **({} if d is None else dict(chips=d.chips, clock_hz=d.clock_hz, clock_name=d.clock_name, unit_name=d.unit_name,
                                             units=d.units, ops_per_clock=d.ops_per_clock, sparse_factor=d.sparse_factor)),
            ))
        for precision, engine in sorted(record.unsupported):
            session.add(PeakValue(revision_id=revision.id, precision=precision, engine=engine, status="not_supported"))
        stored = replace(record, revision=number, release=release)
        session.merge(DeviceCurrent(device_id=device.id, slug=record.slug, revision_number=number,
                                    record=json.dumps(stored.to_dict(), sort_keys=True)))
        session.exec(delete(Alias).where(Alias.device_id == device.id))
        session.flush()
        for alias in sorted(set(record.aliases) - {record.slug}):
            session.merge(Alias(alias=alias, device_id=device.id))
        return revision

    # -- reads -----------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every current record and lookup name, read in one go."""
        with Session(self.engine) as session:
            records = {row.slug: row.record for row in session.exec(select(DeviceCurrent)).scalars()}
            names: dict[str, str] = {}
            for alias, slug in session.exec(select(Alias.alias, Device.slug).join(Device, Device.id == Alias.device_id)):
                names.update(names_of(slug, [alias]))
        for slug in records:
            names.update(names_of(slug, []))
        return Snapshot(records, names)

    def device(self, name: str) -> Hardware:
        return self.snapshot().device(name)

    def prices(self) -> list[Price]:
        """The dated prices of the latest applied release, cheapest per device-hour first."""
        with Session(self.engine) as session:
            latest = select(func.max(CatalogRelease.id)).scalar_subquery()
            rows = session.exec(select(PriceValue).where(PriceValue.release_id == latest)).scalars().all()
        prices = [Price(device=r.device_slug, kind=r.kind, provider=r.provider, offer=r.offer, devices=r.devices,
                        usd=r.usd, date=r.date, source=r.source_id, note=r.note) for r in rows]
        return sorted(prices, key=lambda p: (p.device, p.kind, p.usd / p.devices))

    def devices(self) -> list[Hardware]:
        return self.snapshot().devices()
