"""The catalog over SQLAlchemy: set-up on first use, releases and edits applied as revisions, and reads.

Every write is one transaction, serialised across processes (`hwdb.db.exclusive`). Revisions are
append-only: a changed figure, a user's edit, a pull or a retirement makes a new revision; nothing is
updated in place or deleted. Each revision keeps the data entry it was derived from, so that edits
and new releases re-derive peaks with the loader's checks and merge field by field.
"""

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from estimator.hardware import Hardware, Source as SourceRecord
from hwdb import db
from hwdb.config import resolve_database_url
from hwdb.current import Snapshot, names_of
from hwdb.errors import DatabaseError, InvalidSpecError
from hwdb.loader import CatalogData, Price, by_device_hour, load_catalog, parse_device
from hwdb.models import Alias, CatalogRelease, Device, DeviceCurrent, PeakValue, PriceValue, Source, SpecRevision, SpecValue
from hwdb.resources import data_dir, fingerprint


def _now() -> datetime:
    return datetime.now(timezone.utc)


def comparable(record: Hardware) -> dict:
    """The parts of a record a revision captures (not its revision number or release)."""
    return {k: v for k, v in record.to_dict().items() if k not in ("revision", "release")}


@dataclass
class ReleaseResult:
    """What applying a release did: devices written, and the user edits it kept over a release change."""

    release: str
    first: bool = False  # the database was empty: this filled it
    changed: int = 0
    retired: int = 0
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kept = f"; kept {len(self.conflicts)} of your edits over the release's figures ({'; '.join(self.conflicts)})" if self.conflicts else ""
        retired = f", {self.retired} retired" if self.retired else ""
        return f"applied catalog release {self.release}: {self.changed} device{'s' if self.changed != 1 else ''} changed{retired}{kept}"


class Catalog:
    """A hardware catalog in a database (SQLite file by default, or any SQLAlchemy URL)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, data: Path | None = None):
        self.url = str(engine.url) if engine is not None else resolve_database_url(url)
        self._engine = engine
        self.data_root = data or data_dir()
        self._shipped: CatalogData | None = None
        self.last_release: ReleaseResult | None = None  # set when ensure() applied a release

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
        return self._engine

    def close(self) -> None:
        """Release pooled connections (an SQLite file is checkpointed when its last one closes)."""
        if self._engine is not None:
            self._engine.dispose()

    def shipped(self) -> CatalogData:
        """The catalog data this hwdb ships (architectures for derivations, the release's entries)."""
        if self._shipped is None:
            self._shipped = load_catalog(self.data_root)
        return self._shipped

    # -- set-up ----------------------------------------------------------------------------------
    def ensure(self, *, fill: bool = True) -> "Catalog":
        """Create or upgrade the schema and apply the shipped release if the database has not got it yet.

        With ``fill=False`` only the schema is made (an empty catalog, e.g. for `pull`).
        """
        with db.exclusive(self.engine):
            db.upgrade(self.engine)
            previous = self.latest_release()
            if fill and (previous is None or previous[1] != fingerprint(self.data_root)):
                shipped = self.shipped()
                # An older hwdb (an older release) never rolls back what a newer one applied.
                if previous is None or release_key(shipped.release) >= release_key(previous[0]):
                    self.last_release = self.apply_release(shipped)
                    self.last_release.first = previous is None
        return self

    def latest_release(self) -> tuple[str, str] | None:
        """(name, fingerprint) of the release applied last, None for an empty catalog."""
        try:
            with Session(self.engine) as session:
                latest = session.exec(select(CatalogRelease.name, CatalogRelease.fingerprint).order_by(CatalogRelease.id.desc()).limit(1)).first()
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot read the catalog: {db.describe(error, self.engine)}") from None
        return (latest[0], latest[1]) if latest else None

    def apply_release(self, data: CatalogData) -> ReleaseResult:
        """Write every device whose figures the release changes, in one transaction.

        A device the user edited since the last release is merged field by field: a figure only the
        release changed is taken, one only the user changed is kept, and one both changed keeps the
        user's value and is reported in `ReleaseResult.conflicts`. A device the previous release had
        and this one lacks is retired (a revision too).
        """
        result = ReleaseResult(data.release)
        try:
            with Session(self.engine) as session, session.begin():
                self._merge_sources(session, data.sources.values())
                sources = self._sources(session)
                author, note = f"hwdb release {data.release}", f"catalog release {data.release}"
                for record in data.devices:
                    merged, conflicts = self._merge_with_user_edits(session, record, data, sources)
                    result.conflicts += conflicts
                    entry = merged[1] if merged else data.entries.get(record.slug)
                    target = merged[0] if merged else record
                    if self._write_if_changed(session, target, entry, release=data.release, origin="release", note=note, author=author,
                                              retired=target.retired):
                        result.changed += 1
                shipped = [d.slug for d in data.devices]
                released = set(session.exec(select(SpecRevision.device_id).where(SpecRevision.origin == "release").distinct()).scalars())
                for device in session.exec(select(Device).where(Device.slug.not_in(shipped))).scalars().all():
                    latest = self._latest(session, device.id) if device.id in released else None
                    if latest is not None and not latest.retired:  # a device an earlier release had (not one you added)
                        record = replace(Hardware.from_dict(json.loads(latest.record)), retired=True)
                        self._write_revision(session, device, record, _loads(latest.entry), release=data.release, origin="release",
                                             note=f"{note}: no longer in the catalog", author=author, retired=True)
                        result.retired += 1
                session.flush()
                last = session.exec(select(func.max(SpecRevision.id))).one()[0]
                release = CatalogRelease(name=data.release, content_hash=data.content_hash, fingerprint=data.fingerprint,
                                         applied_at=_now(), devices_changed=result.changed, last_revision_id=last)
                session.add(release)
                session.flush()
                for price in data.prices:
                    session.add(PriceValue(
                        release_id=release.id, device_slug=price.device, kind=price.kind, provider=price.provider,
                        offer=price.offer, devices=price.devices, usd=price.usd, date=price.date,
                        source_id=price.source, note=price.note,
                    ))
        except SQLAlchemyError as error:
            raise DatabaseError(f"cannot write the catalog: {db.describe(error, self.engine)}") from None
        return result

    def _merge_with_user_edits(self, session: Session, record: Hardware, data: CatalogData, sources) -> tuple[tuple[Hardware, dict] | None, list[str]]:
        """(merged record, merged entry) where the user edited the device since its last release revision, else None."""
        device = session.exec(select(Device).where(Device.slug == record.slug)).scalars().first()
        if device is None:
            return None, []
        latest = self._latest(session, device.id)
        if latest is None or latest.origin == "release" or latest.entry is None:
            return None, []
        base_row = session.exec(select(SpecRevision).where(
            SpecRevision.device_id == device.id, SpecRevision.origin == "release").order_by(SpecRevision.number.desc()).limit(1)).scalars().first()
        base = _loads(base_row.entry) if base_row is not None else None
        theirs = data.entries.get(record.slug)
        if theirs is None:
            return None, []
        merged, conflicts = merge_entries(base or {}, json.loads(latest.entry), theirs)
        try:
            hardware = parse_device(merged, sources, data.architectures, f"{record.slug} (your edits merged with release {data.release})")
        except InvalidSpecError:
            # The merge does not validate (e.g. your clock against the release's new datasheet figure): keep your revision whole.
            return (Hardware.from_dict(json.loads(latest.record)), json.loads(latest.entry)), [f"{record.slug}: all of your revision {latest.number}"]
        return (replace(hardware, retired=latest.retired), merged), [f"{record.slug} {name}" for name in conflicts]  # a retirement is an edit too

    # -- writing revisions -------------------------------------------------------------------------
    def _merge_sources(self, session: Session, sources) -> None:
        for source in sources:
            session.merge(Source(id=source.id, url=source.url, title=source.title, publisher=source.publisher))
        session.flush()

    def _sources(self, session: Session) -> dict[str, SourceRecord]:
        return {row.id: SourceRecord(row.id, row.url, row.title, row.publisher) for row in session.exec(select(Source)).scalars()}

    @staticmethod
    def _latest(session: Session, device_id: int) -> SpecRevision | None:
        return session.exec(select(SpecRevision).where(SpecRevision.device_id == device_id)
                            .order_by(SpecRevision.number.desc()).limit(1)).scalars().first()

    def _write_if_changed(self, session: Session, record: Hardware, entry: dict | None, *, release: str | None, origin: str,
                          note: str, author: str, retired: bool = False) -> bool:
        device = session.exec(select(Device).where(Device.slug == record.slug)).scalars().first()
        if device is not None:
            current = session.get(DeviceCurrent, device.id)
            if current is not None and comparable(Hardware.from_dict(json.loads(current.record))) == comparable(record):
                return False
        else:
            device = Device(slug=record.slug, created_at=_now())
            session.add(device)
            session.flush()
        self._write_revision(session, device, record, entry, release=release, origin=origin, note=note, author=author, retired=retired)
        return True

    def _write_revision(self, session: Session, device: Device, record: Hardware, entry: dict | None, *, release, origin, note,
                        author, retired: bool = False, number: int | None = None, created_at: datetime | None = None) -> SpecRevision:
        if number is None:
            number = (session.exec(select(func.max(SpecRevision.number)).where(SpecRevision.device_id == device.id)).first()[0] or 0) + 1
        stored = replace(record, revision=number, release=release, retired=retired)
        revision = SpecRevision(
            device_id=device.id, number=number, created_at=created_at or _now(), release=release, author=author, note=note,
            origin=origin, name=record.name, vendor=record.vendor, kind=record.kind, architecture=record.architecture,
            form_factor=record.form_factor, aliases=json.dumps(list(record.aliases)), retired=retired,
            record=json.dumps(stored.to_dict(), sort_keys=True), entry=None if entry is None else json.dumps(entry, sort_keys=True),
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
                accumulate=peak.accumulate or "", value=peak.value, origin=peak.origin, datasheet_value=peak.datasheet_value,
                source_id=peak.source, note=peak.note, derivation_source_id=peak.derivation_source,
                **({} if d is None else dict(chips=d.chips, clock_hz=d.clock_hz, clock_name=d.clock_name, unit_name=d.unit_name,
                                             units=d.units, ops_per_clock=d.ops_per_clock, sparse_factor=d.sparse_factor)),
            ))
        for precision, engine in sorted(record.unsupported):
            session.add(PeakValue(revision_id=revision.id, precision=precision, engine=engine, status="not_supported"))
        session.merge(DeviceCurrent(device_id=device.id, slug=record.slug, revision_number=number,
                                    record=json.dumps(stored.to_dict(), sort_keys=True)))
        session.exec(delete(Alias).where(Alias.device_id == device.id))
        session.flush()
        for alias in sorted(set(record.aliases) - {record.slug}):
            session.merge(Alias(alias=alias, device_id=device.id))
        return revision

    # -- reads -----------------------------------------------------------------------------------
    def snapshot(self, *, include_retired: bool = False) -> Snapshot:
        """Every current record and lookup name, read in one go."""
        with Session(self.engine) as session:
            records = {row.slug: row.record for row in session.exec(select(DeviceCurrent)).scalars()}
            names: dict[str, str] = {}
            for alias, slug in session.exec(select(Alias.alias, Device.slug).join(Device, Device.id == Alias.device_id)):
                names.update(names_of(slug, [alias]))
        for slug in records:
            names.update(names_of(slug, []))
        return Snapshot(records, names, include_retired=include_retired)

    def device(self, name: str) -> Hardware:
        return self.snapshot().device(name)

    def devices(self) -> list[Hardware]:
        return self.snapshot().devices()

    def prices(self) -> list[Price]:
        """The dated prices of the latest applied release, cheapest per device-hour first."""
        with Session(self.engine) as session:
            latest = select(func.max(CatalogRelease.id)).scalar_subquery()
            rows = session.exec(select(PriceValue).where(PriceValue.release_id == latest)).scalars().all()
        prices = [Price(device=r.device_slug, kind=r.kind, provider=r.provider, offer=r.offer, devices=r.devices,
                        usd=r.usd, date=r.date, source=r.source_id, note=r.note) for r in rows]
        return by_device_hour(prices)


def release_key(name: str) -> tuple:
    """Release names in order: '2026.9' < '2026.11' (numeric parts compare as numbers).

    >>> release_key("2026.9") < release_key("2026.11")
    True
    """
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in name.replace("-", ".").split("."))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# -- field-level merge of data entries ---------------------------------------------------------------
def entry_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A data entry as named fields: identity keys, 'specs.<name>', and 'peak <precision> <engine>[ sparse][ <acc> accumulate]'."""
    fields: dict[str, Any] = {k: v for k, v in entry.items() if k not in ("specs", "peak")}
    for name, spec in (entry.get("specs") or {}).items():
        fields[f"specs.{name}"] = spec
    for peak in entry.get("peak") or []:
        key = f"peak {peak.get('precision')} {peak.get('engine')}{' sparse' if peak.get('sparse') else ''}"
        key += f" {peak['accumulate']} accumulate" if peak.get("accumulate") else ""
        fields[key] = peak
    return fields


def entry_from_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {k: v for k, v in fields.items() if not k.startswith(("specs.", "peak "))}
    specs = {k[len("specs."):]: v for k, v in fields.items() if k.startswith("specs.")}
    peaks = [v for k, v in fields.items() if k.startswith("peak ")]
    if specs:
        entry["specs"] = specs
    if peaks:
        entry["peak"] = peaks
    return entry


def merge_entries(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """Three-way merge of data entries, field by field; returns (merged, names of fields both sides changed).

    A field only one side changed takes that side's value; a field both changed differently keeps ours.

    >>> merge_entries({"name": "A", "specs": {"tdp": 1}}, {"name": "B", "specs": {"tdp": 1}}, {"name": "A", "specs": {"tdp": 2}})
    ({'name': 'B', 'specs': {'tdp': 2}}, [])
    """
    b, o, t = entry_fields(base), entry_fields(ours), entry_fields(theirs)
    merged: dict[str, Any] = {}
    conflicts = []
    for key in list(dict.fromkeys([*t, *o, *b])):
        mine, other, original = o.get(key), t.get(key), b.get(key)
        if mine == other or other == original:
            value = mine
        elif mine == original:
            value = other
        else:
            value = mine
            conflicts.append(key)
        if value is not None:
            merged[key] = value
    return entry_from_fields(merged), conflicts
