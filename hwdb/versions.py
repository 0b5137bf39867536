"""Versioning: a user's additions and edits as revisions, history, the catalog as of a revision, date or
release, diffs between releases, and export / pull of the whole catalog with its history.

Everything here works on a `hwdb.catalog.Catalog`; each write is one transaction under the catalog's
cross-process lock, so concurrent writers never share a revision number.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from estimator.hardware import Hardware, Source as SourceRecord
from estimator.units import PRECISIONS
from hwdb import db
from hwdb.catalog import Catalog, comparable
from hwdb.errors import DatabaseError, InvalidSpecError, UnknownDeviceError
from hwdb.fields import SUFFIX_UNITS
from hwdb.files import read_structured
from hwdb.loader import DEVICE_KEYS, SPEC_TYPES, parse_sources, plain
from hwdb.validate import checked_device
from hwdb.lookup import resolve
from hwdb.models import Device, Source, SpecRevision
from hwdb.reads import (EXPORT_FORMAT, EXPORT_VERSION, Change, Diff, Reader, ReleaseInfo, RevisionInfo, compare_records,
                        record_fields)

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "Change", "Diff", "ReleaseInfo", "RevisionInfo", "Versions", "compare_records",
           "record_fields"]  # the result types and record comparison live in hwdb.reads (no SQLAlchemy) and are re-exported


# -- the versioned catalog -------------------------------------------------------------------------------
class Versions:
    """Revisions, history, releases, diffs, export and pull of one catalog."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @property
    def engine(self):
        return self.catalog.engine

    def _slug(self, name: str) -> str:
        snapshot = self.catalog.snapshot(include_retired=True)
        return resolve(name, snapshot.names)

    def _device(self, session: Session, slug: str) -> Device:
        device = session.exec(select(Device).where(Device.slug == slug)).scalars().first()
        if device is None:
            raise UnknownDeviceError(slug, [])
        return device

    # -- writes ---------------------------------------------------------------------------------
    def add(self, path: Path, *, note: str | None = None, author: str | None = None) -> list[tuple[str, int]]:
        """Add or replace devices from a TOML/JSON file (same schema as data/devices, plus a [source.ID] table
        for new sources). Everything is validated first; then one transaction. Returns (slug, revision) pairs."""
        devices, raw_sources = read_device_file(path)
        return self.add_entries(devices, raw_sources, where=path.name, origin="user", note=note or f"added from {path.name}", author=author)

    def add_entries(self, devices: list, raw_sources: Mapping[str, Any], *, where: str, origin: str = "user", note: str | None = None,
                    author: str | None = None) -> list[tuple[str, int]]:
        """Add or replace devices given as data entries (data/ format) with their new sources, as revisions
        with `origin` (user, measured), in one transaction after everything is validated."""
        new_sources = parse_sources(raw_sources, f"{where} [source]")
        architectures = self.catalog.shipped().architectures
        with db.exclusive(self.engine):
            try:
                with Session(self.engine) as session, session.begin():
                    parsed = parse_entries(devices, {**self.catalog._sources(session), **new_sources}, architectures, where)
                    self._check_names(session, [r for r, _ in parsed])
                    self.catalog._merge_sources(session, new_sources.values())
                    written = []
                    for record, entry in parsed:
                        changed = self.catalog._write_if_changed(session, record, entry, release=None, origin=origin,
                                                                 note=note or f"added from {where}", author=author or db.author())
                        if changed:
                            written.append((record.slug, self.catalog._latest(session, self._device(session, record.slug).id).number))
                    return written
            except SQLAlchemyError as error:
                raise DatabaseError(f"cannot write the catalog: {db.describe(error, self.engine)}") from None

    def _check_names(self, session: Session, records: Iterable[Hardware]) -> None:
        """No alias may name two devices."""
        snapshot = self.catalog.snapshot(include_retired=True)
        for record in records:
            for name in (record.slug, *record.aliases):
                owner = snapshot.names.get(name)
                if owner is not None and owner != record.slug:
                    raise InvalidSpecError(f"name {name!r} of {record.slug} already names {owner}")

    def edit(self, name: str, sets: Mapping[str, str] | None = None, *, source_url: str | None = None, source_title: str | None = None,
             note: str | None = None, retire: bool = False, author: str | None = None) -> tuple[str, int]:
        """Change figures of a device (or retire it) as a new revision. Returns (slug, revision number).

        `sets` maps a spec name (``boost_clock``), a spec with a unit suffix (``boost_clock_mhz``), an identity
        key (``name``, ``form_factor``, ``aliases``) or a peak (``fp16``, ``fp16.vector``, ``int8.matrix.sparse``)
        to a value as a datasheet prints it. Figures need ``source_url``.
        """
        sets = dict(sets or {})
        if not sets and not retire:
            raise InvalidSpecError("nothing to change: give --set NAME=VALUE or --retire")
        if sets and not source_url and any(key not in ("name", "form_factor", "aliases") for key in sets):
            raise InvalidSpecError("a changed figure needs its source: --source URL")
        new_sources = {}
        if source_url:
            source_id = "user-" + hashlib.sha256(source_url.encode()).hexdigest()[:12]
            new_sources = parse_sources({source_id: {"url": source_url, "title": source_title or source_url,
                                                     "publisher": f"user edit by {author or db.author()}"}}, "--source")
        architectures = self.catalog.shipped().architectures
        with db.exclusive(self.engine):
            try:
                with Session(self.engine) as session, session.begin():
                    slug = self._slug(name)
                    device = self._device(session, slug)
                    latest = self.catalog._latest(session, device.id)
                    entry = self._entry_of(latest, slug)
                    for key, value in sets.items():
                        entry = apply_set(entry, key, value, next(iter(new_sources), None))
                    sources = {**self.catalog._sources(session), **new_sources}
                    record = checked_device(entry, sources, architectures, f"{slug} (edited)")
                    if record.slug != slug:
                        raise InvalidSpecError("the slug cannot be edited; add a new device instead")
                    self._check_names(session, [record])
                    self.catalog._merge_sources(session, new_sources.values())
                    retired = retire or (latest.retired and not sets)
                    if not retire and comparable(record) == comparable(Hardware.from_dict(json.loads(latest.record))):
                        raise InvalidSpecError(f"{slug}: the edit changes no figure")
                    revision = self.catalog._write_revision(
                        session, device, record, entry, release=None, origin="user", author=author or db.author(),
                        note=note or ("retired" if retire else "edited: " + ", ".join(f"{k}={v}" for k, v in sets.items())),
                        retired=retired,
                    )
                    return slug, revision.number
            except SQLAlchemyError as error:
                raise DatabaseError(f"cannot write the catalog: {db.describe(error, self.engine)}") from None

    def _entry_of(self, latest: SpecRevision, slug: str) -> dict:
        """The data entry of a device's latest revision (for revisions of an older hwdb: the shipped one, if it matches)."""
        if latest.entry is not None:
            return json.loads(latest.entry)
        shipped = self.catalog.shipped()
        entry = shipped.entries.get(slug)
        record = next((d for d in shipped.devices if d.slug == slug), None)
        if entry is None or record is None or comparable(record) != comparable(Hardware.from_dict(json.loads(latest.record))):
            raise InvalidSpecError(f"{slug}: revision {latest.number} was written by an older hwdb without its data entry; "
                                   "`hwdb add` a full entry for it instead")
        return json.loads(json.dumps(entry))

    # -- reads (one implementation over plain SQL, shared with the sqlite3 fast path: hwdb.reads) ----------
    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """A `hwdb.reads.Reader` over one connection. On PostgreSQL its reads are one REPEATABLE READ
        transaction, so an export sees one catalog while others write (the sqlite3 path reads in one
        transaction too; SQLAlchemy's SQLite driver begins none for reads)."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield Reader(lambda sql, params: connection.execute(text(sql), params).all())

    def revisions(self, name: str) -> list[RevisionInfo]:
        """Every revision of a device, oldest first, each with the fields it changed (old -> new)."""
        with self.reader() as reader:
            return reader.revisions(name)

    def device_at(self, name: str, *, revision: int | None = None, as_of: date | datetime | None = None) -> Hardware:
        """A device as of revision `revision`, or as it stood at the end of day `as_of` (UTC)."""
        with self.reader() as reader:
            return reader.device_at(name, revision=revision, as_of=as_of)

    def releases(self) -> list[ReleaseInfo]:
        """The catalog releases applied to this database, oldest first."""
        with self.reader() as reader:
            return reader.releases()

    def state(self, release: str | None) -> dict[str, dict]:
        """Every device's record as of `release` (the latest application of that name), or now when None."""
        with self.reader() as reader:
            return reader.state(release)

    def diff(self, a: str, b: str | None) -> Diff:
        """Devices added, removed and every changed figure between release `a` and release `b` (None: now)."""
        with self.reader() as reader:
            return reader.diff(a, b)

    # -- export and pull ----------------------------------------------------------------------------
    def export(self, release: str | None = None) -> dict[str, Any]:
        """The whole catalog with every revision and source, as JSON-ready data (`--release`: up to that release)."""
        with self.reader() as reader:
            return reader.export(release, db.SCHEMA_HEAD)

    def pull(self, data: Any, origin_url: str, *, author: str | None = None) -> tuple[int, bool]:
        """Apply an export: into an empty catalog its whole history, else each device's latest figures as a
        new revision (origin 'pull') where they differ. Everything is validated before anything is written.
        Returns (revisions written, whether the history was copied)."""
        devices, sources = validate_export(data, self.catalog.shipped().architectures)
        with db.exclusive(self.engine):
            try:
                with Session(self.engine) as session, session.begin():
                    empty = session.exec(select(func.count()).select_from(Device)).one()[0] == 0
                    self._check_sources(session, sources)
                    self.catalog._merge_sources(session, sources.values())
                    if empty:
                        return self._copy_history(session, data), True
                    written = 0
                    for device in devices:
                        latest = device["revisions"][-1]
                        record = Hardware.from_dict(latest["record"])
                        note = f"pulled from {origin_url} (their revision {latest['number']} by {latest['author']})"
                        written += self.catalog._write_if_changed(session, record, latest["entry"], release=None, origin="pull",
                                                                  note=note, author=author or db.author(), retired=record.retired)
                    return written, False
            except SQLAlchemyError as error:
                raise DatabaseError(f"cannot write the catalog: {db.describe(error, self.engine)}") from None

    def _check_sources(self, session: Session, sources: Mapping[str, SourceRecord]) -> None:
        for source_id, source in sources.items():
            mine = session.get(Source, source_id)
            if mine is not None and (mine.url, mine.title) != (source.url, source.title):
                raise InvalidSpecError(f"source {source_id!r} differs from this catalog's ({source.url} vs {mine.url})")

    def _copy_history(self, session: Session, data: Mapping[str, Any]) -> int:
        """Replicate every revision, in their original order, and the releases over them."""
        from hwdb.models import CatalogRelease as Release

        revisions = sorted(
            ((datetime.fromisoformat(rev["created_at"]), device["slug"], rev, device) for device in data["devices"] for rev in device["revisions"]),
            key=lambda item: (item[0], item[1], item[2]["number"]),
        )
        rows: dict[str, Device] = {}
        ids: dict[tuple[str, int], int] = {}
        for created, slug, rev, device in revisions:
            if slug not in rows:
                rows[slug] = Device(slug=slug, created_at=datetime.fromisoformat(device["created_at"]))
                session.add(rows[slug])
                session.flush()
            record = Hardware.from_dict(rev["record"])
            written = self.catalog._write_revision(session, rows[slug], record, rev["entry"], release=rev["release"], origin=rev["origin"],
                                                   note=rev["note"], author=rev["author"], retired=rev["retired"],
                                                   number=rev["number"], created_at=created)
            ids[(slug, rev["number"])] = written.id
        for release in data.get("releases", []):
            covered = [ids[(slug, number)] for slug, number in release["revisions"].items() if (slug, number) in ids]
            session.add(Release(name=release["name"], content_hash=release["content_hash"], fingerprint=release["fingerprint"],
                                applied_at=datetime.fromisoformat(release["applied_at"]), devices_changed=release["devices_changed"],
                                last_revision_id=max(covered) if covered else None))
        return len(revisions)


# -- edits ---------------------------------------------------------------------------------------------
def apply_set(entry: dict, key: str, value: str, source: str | None) -> dict:
    """`entry` with one figure set, as `hwdb edit --set KEY=VALUE` means it."""
    entry = json.loads(json.dumps(entry))
    key = key.strip().lower()
    if key in ("name", "form_factor"):
        entry[key] = value
        return entry
    if key == "aliases":
        entry["aliases"] = [a.strip() for a in value.split(",") if a.strip()]
        return entry
    if key in DEVICE_KEYS:
        raise InvalidSpecError(f"--set {key}: cannot be edited (only name, form_factor, aliases, figures and peaks)")
    base, _, suffix = key.rpartition("_")
    if key not in SPEC_TYPES and base in SPEC_TYPES and suffix in SUFFIX_UNITS:  # boost_clock_mhz=1755 is boost_clock="1755 MHz"
        key, value = base, f"{value} {SUFFIX_UNITS[suffix]}"
    if key in SPEC_TYPES:
        kind = SPEC_TYPES[key][0]
        spec: dict[str, Any] = {"value": value, "source": source}
        if kind == "int":
            try:
                spec["value"] = int(value)
            except ValueError:
                raise InvalidSpecError(f"--set {key}: {value!r} is not an integer") from None
        if kind == "link":
            words = value.split()
            direction = "per_direction" if value.endswith("per direction") else "bidirectional" if value.endswith("bidirectional") else None
            if direction is None:
                raise InvalidSpecError(f"--set {key}: say how the source quotes it, e.g. '{key}=32 GB/s per direction' or '... bidirectional'")
            spec["value"] = " ".join(words[:-2] if direction == "per_direction" else words[:-1])
            spec["direction"] = direction
        entry.setdefault("specs", {})[key] = spec
        return entry
    parts = key.split(".")
    if parts[0] in PRECISIONS and len(parts) <= 3 and set(parts[1:]) <= {"matrix", "vector", "sparse"}:
        engine = "vector" if "vector" in parts else "matrix"
        sparse = "sparse" in parts
        peaks = [p for p in entry.get("peak", []) if not (p.get("precision") == parts[0] and p.get("engine") == engine and bool(p.get("sparse")) == sparse and not p.get("accumulate"))]
        peaks.append({"precision": parts[0], "engine": engine, "sparse": sparse, "value": value, "source": source})
        entry["peak"] = peaks
        return entry
    raise InvalidSpecError(f"--set {key}: not a figure (spec names: {', '.join(SPEC_TYPES)}; peaks: fp16, fp16.vector, int8.matrix.sparse, ...)")


ADD_FILE_KEYS = {"device", "source", "sources"}


def read_device_file(path: Path) -> tuple[list, dict]:
    """The ``[[device]]`` entries and ``[source.ID]`` tables of a TOML or JSON file for `hwdb add`, with one-line errors."""
    data = read_structured(path, max_bytes=50 * 2**20, what="catalog file")
    if not isinstance(data, dict):
        raise InvalidSpecError(f"{path.name}: expected a table of [[device]] entries")
    unknown = set(data) - ADD_FILE_KEYS
    if unknown:
        raise InvalidSpecError(f"{path.name}: unknown top-level keys {sorted(unknown)} (expected [[device]] and [source.ID] tables)")
    devices = data.get("device", [])
    if not isinstance(devices, list) or not devices:
        raise InvalidSpecError(f"{path.name}: no [[device]] tables")
    raw_sources = data.get("source", data.get("sources", {}))
    if not isinstance(raw_sources, dict):
        raise InvalidSpecError(f"{path.name}: [source.ID] tables expected")
    return devices, raw_sources


def parse_entries(devices: list, sources: Mapping[str, SourceRecord], architectures, where: str) -> list[tuple[Hardware, dict]]:
    """Device entries as records (with the entries kept as plain data), each passing every check `hwdb validate`
    runs on one device, no slug or name twice among them."""
    parsed = [(checked_device(entry, sources, architectures, f"{where} device {index}"), plain(entry))
              for index, entry in enumerate(devices, 1)]
    owners: dict[str, str] = {}
    for record, _ in parsed:
        if record.slug in owners.values():
            raise InvalidSpecError(f"{where}: device {record.slug!r} appears twice")
        for name in (record.slug, *record.aliases):
            if owners.setdefault(name, record.slug) != record.slug:
                raise InvalidSpecError(f"{where}: name {name!r} is used by both {owners[name]} and {record.slug}")
    return parsed


# -- validating an export ---------------------------------------------------------------------------------
def validate_export(data: Any, architectures) -> tuple[list[dict], dict[str, SourceRecord]]:
    """Check an export completely (format, version, every revision's record and entry); return (devices, sources)."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InvalidSpecError("not an hwdb export (no \"format\": \"hwdb-export\")")
    if data.get("version") != EXPORT_VERSION:
        raise InvalidSpecError(f"export version {data.get('version')!r} is not supported (this hwdb reads version {EXPORT_VERSION})")
    try:
        sources = parse_sources(data.get("sources") or {}, "export sources")
    except InvalidSpecError as error:
        raise InvalidSpecError(f"export: {error}") from None
    devices = data.get("devices")
    if not isinstance(devices, list):
        raise InvalidSpecError("export: 'devices' must be a list")
    seen = set()
    for device in devices:
        slug = device.get("slug") if isinstance(device, dict) else None
        if not isinstance(slug, str) or slug in seen:
            raise InvalidSpecError(f"export: a device without a slug, or listed twice ({slug!r})")
        seen.add(slug)
        revisions = device.get("revisions")
        if not isinstance(revisions, list) or not revisions:
            raise InvalidSpecError(f"export: {slug} has no revisions")
        numbers = [r.get("number") for r in revisions if isinstance(r, dict)]
        if numbers != list(range(1, len(revisions) + 1)):
            raise InvalidSpecError(f"export: {slug} revisions must be numbered 1..{len(revisions)}")
        for rev in revisions:
            where = f"export: {slug} revision {rev['number']}"
            for key in ("created_at", "author", "origin"):
                if not isinstance(rev.get(key), str):
                    raise InvalidSpecError(f"{where}: missing {key}")
            try:
                datetime.fromisoformat(rev["created_at"])
                record = Hardware.from_dict(rev["record"])
            except (TypeError, ValueError, KeyError) as error:
                raise InvalidSpecError(f"{where}: not a valid record ({error})") from None
            if record.slug != slug:
                raise InvalidSpecError(f"{where}: record is for {record.slug}")
            missing = {p.source for p in record.peaks} | {s.source for s in record.specs.values()}
            missing = {m for m in missing if m and m not in sources}
            if missing:
                raise InvalidSpecError(f"{where}: cites unknown sources {sorted(missing)}")
            if rev.get("entry") is not None:
                try:
                    derived = checked_device(rev["entry"], sources, architectures, where)
                except InvalidSpecError as error:
                    raise InvalidSpecError(f"{error}") from None
                if comparable(replace(derived, retired=record.retired)) != comparable(record):
                    raise InvalidSpecError(f"{where}: its figures do not follow from its data entry")
            else:
                from hwdb.loader import derivation_problems

                problems = derivation_problems(record)
                if problems:
                    raise InvalidSpecError(f"{where}: {problems[0]}")
    return devices, sources
