"""Reads of the versioned catalog (history, revisions, releases, diff, export) over plain SQL.

One implementation serves both paths: `hwdb.current` runs it on an up-to-date SQLite file through the
standard library's sqlite3 (so `hwdb history` starts without SQLAlchemy, as `hwdb peak` does), and
`hwdb.versions.Versions` runs it through an SQLAlchemy connection (PostgreSQL, or a catalog that first
needs an upgrade). The SQL is written once, with named parameters (`:name`), which both accept.

A `Query` is ``query(sql, params) -> list of row tuples``. Timestamps come back as SQLite's naive UTC
text or as PostgreSQL's aware datetimes, booleans as 0/1 or True/False: `_moment` and `bool` even
them out, so that both paths give equal results (a test checks).
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from estimator.hardware import SPEC_NAMES, Hardware
from estimator.units import PRECISIONS
from hwdb.errors import InvalidSpecError, UnknownDeviceError
from hwdb.formatting import format_spec_value
from hwdb.lookup import normalise, resolve

Query = Callable[[str, Mapping[str, Any]], Sequence[Sequence[Any]]]

EXPORT_FORMAT = "hwdb-export"
EXPORT_VERSION = 1
"""The export's own schema version: `pull` refuses any other."""


# -- results ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class RevisionInfo:
    slug: str
    number: int
    created_at: datetime
    release: str | None
    author: str
    origin: str
    note: str | None
    retired: bool
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class ReleaseInfo:
    name: str
    content_hash: str
    applied_at: datetime
    devices_changed: int
    last_revision_id: int | None


@dataclass
class Diff:
    a: str
    b: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[Change]] = field(default_factory=dict)


# -- record fields for history and diff ----------------------------------------------------------------
IDENTITY_FIELDS = ("name", "vendor", "kind", "architecture", "form_factor", "matrix_label")


def record_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """A stored record as field -> display value (with units and sources), for comparing revisions."""
    fields = {}
    for key in IDENTITY_FIELDS:
        if record.get(key) is not None:
            fields[key] = str(record[key])
    if record.get("aliases"):
        fields["aliases"] = ", ".join(record["aliases"])
    if record.get("retired"):
        fields["retired"] = "yes"
    for name, spec in (record.get("specs") or {}).items():
        fields[name] = format_spec_value(name, spec["value"], spec.get("unit", ""), spec.get("direction")) + (f" [{spec['source']}]" if spec.get("source") else "")
    for peak in record.get("peaks") or []:
        key = f"{peak['precision']} {peak['engine']}{' sparse' if peak['sparse'] else ''}{' ' + peak['accumulate'] + ' accumulate' if peak.get('accumulate') else ''}"
        unit = "OP/s" if peak["precision"].startswith("int") else "FLOP/s"
        fields[f"peak {key}"] = f"{format_spec_value('peak', peak['value'], unit)} ({peak['origin']})"
    for precision, engine in record.get("unsupported") or []:
        fields[f"peak {precision} {engine}"] = "not supported"
    fitted = (record.get("calibration") or {}).get("fitted")
    if fitted:
        fields["calibration"] = f"fitted {fitted.get('at', '?')} on {fitted.get('runtime', '?')}"
    return fields


def compare_records(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    """The fields that differ between two records, identity first, then specs and peaks in catalog order."""
    a, b = record_fields(old or {}), record_fields(new or {})
    order = {name: i for i, name in enumerate(SPEC_NAMES)}

    def rank(key: str) -> tuple:
        if key in IDENTITY_FIELDS or key in ("aliases", "retired"):
            return (0, key)
        if not key.startswith("peak "):
            return (1, order.get(key, 99), key)
        precision = key.split()[1]
        return (2, PRECISIONS.index(precision) if precision in PRECISIONS else 99, key)

    return [Change(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b), key=rank) if a.get(k) != b.get(k)]


# -- reads ---------------------------------------------------------------------------------------------
def _moment(value: datetime | str) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite keeps naive UTC text, PostgreSQL timestamptz)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(moment: datetime | str) -> str:
    """A timestamp as the export writes it: ISO 8601 in UTC with its offset."""
    return _moment(moment).isoformat()


def cited(revision: Mapping[str, Any]) -> set[str]:
    """Source ids a revision's record and data entry cite."""
    ids = set((revision.get("record") or {}).get("sources", {}))
    entry = revision.get("entry") or {}
    ids |= {spec.get("source") for spec in (entry.get("specs") or {}).values() if isinstance(spec, dict)}
    ids |= {peak.get("source") for peak in entry.get("peak") or [] if isinstance(peak, dict)}
    return ids - {None}


class Reader:
    """The read side of `hwdb.versions.Versions`, over any `Query`."""

    def __init__(self, query: Query):
        self._run = query

    def _query(self, sql: str, **params: Any) -> Sequence[Sequence[Any]]:
        return self._run(sql, params)

    def slug(self, name: str) -> str:
        """The device `name` denotes, retired ones included; raises UnknownDeviceError with suggestions."""
        names = {normalise(slug): slug for (slug,) in self._query("SELECT slug FROM device")}
        for alias, slug in self._query("SELECT alias.alias, device.slug FROM alias JOIN device ON device.id = alias.device_id"):
            names[normalise(alias)] = slug
        return resolve(name, names)

    def _device_id(self, slug: str) -> int:
        rows = self._query("SELECT id FROM device WHERE slug = :slug", slug=slug)
        if not rows:
            raise UnknownDeviceError(slug, [])
        return rows[0][0]

    def revisions(self, name: str) -> list[RevisionInfo]:
        """Every revision of a device, oldest first, each with the fields it changed (old -> new)."""
        slug = self.slug(name)
        rows = self._query("SELECT number, created_at, release, author, origin, note, retired, record FROM spec_revision "
                           "WHERE device_id = :device ORDER BY number", device=self._device_id(slug))
        history, previous = [], None
        for number, created_at, release, author, origin, note, retired, text in rows:
            record = json.loads(text) if text else None
            history.append(RevisionInfo(slug, number, _moment(created_at), release, author, origin, note, bool(retired),
                                        tuple(compare_records(previous, record))))
            previous = record
        return history

    def device_at(self, name: str, *, revision: int | None = None, as_of: date | datetime | None = None) -> Hardware:
        """A device as of revision `revision`, or as it stood at the end of day `as_of` (UTC)."""
        slug = self.slug(name)
        rows = self._query("SELECT number, created_at, record FROM spec_revision WHERE device_id = :device ORDER BY number",
                           device=self._device_id(slug))
        if revision is not None:
            found = [text for number, _, text in rows if number == revision]
            if not found:
                raise InvalidSpecError(f"{slug} has no revision {revision} (revisions 1..{rows[-1][0]})")
            return Hardware.from_dict(json.loads(found[0]))
        limit = _moment(as_of) if isinstance(as_of, datetime) else datetime.combine(as_of, time.max, tzinfo=timezone.utc)
        found = [text for _, created_at, text in rows if _moment(created_at) <= limit]
        if not found:
            raise InvalidSpecError(f"{slug} was not in this catalog on {as_of} (first revision {_moment(rows[0][1]):%Y-%m-%d})")
        return Hardware.from_dict(json.loads(found[-1]))

    def releases(self) -> list[ReleaseInfo]:
        """The catalog releases applied to this database, oldest first."""
        rows = self._query("SELECT name, content_hash, applied_at, devices_changed, last_revision_id FROM catalog_release ORDER BY id")
        return [ReleaseInfo(name, content_hash, _moment(applied_at), changed, last) for name, content_hash, applied_at, changed, last in rows]

    def _release_limit(self, release: str) -> int:
        """The newest revision id of the latest application of `release`; an unknown name lists the known ones."""
        rows = self._query("SELECT last_revision_id FROM catalog_release WHERE name = :name ORDER BY id DESC LIMIT 1", name=release)
        if not rows:
            known = ", ".join(dict.fromkeys(r.name for r in self.releases())) or "none"
            raise InvalidSpecError(f"unknown release {release!r} (releases here: {known})")
        return rows[0][0] or 0

    def state(self, release: str | None) -> dict[str, dict]:
        """Every device's record as of `release` (the latest application of that name), or now when None."""
        sql = "SELECT device.slug, spec_revision.number, spec_revision.record FROM spec_revision JOIN device ON device.id = spec_revision.device_id"
        rows = self._query(sql) if release is None else \
            self._query(sql + " WHERE spec_revision.id <= :limit", limit=self._release_limit(release))
        latest: dict[str, tuple[int, str]] = {}
        for slug, number, text in rows:
            if slug not in latest or number > latest[slug][0]:
                latest[slug] = (number, text)
        states = {slug: json.loads(text) for slug, (_, text) in latest.items() if text}
        return {slug: record for slug, record in states.items() if not record.get("retired")}

    def diff(self, a: str, b: str | None) -> Diff:
        """Devices added, removed and every changed figure between release `a` and release `b` (None: now)."""
        old, new = self.state(a), self.state(b)
        result = Diff(a, b or "current")
        result.added = sorted(set(new) - set(old))
        result.removed = sorted(set(old) - set(new))
        for slug in sorted(set(old) & set(new)):
            changes = compare_records(old[slug], new[slug])
            if changes:
                result.changed[slug] = changes
        return result

    def export(self, release: str | None, schema: str) -> dict[str, Any]:
        """The whole catalog with every revision and source, as JSON-ready data (`release`: up to that release)."""
        limit = None if release is None else self._release_limit(release)
        rows = self._query(
            "SELECT spec_revision.id, device.slug, device.created_at, spec_revision.number, spec_revision.created_at, "
            "spec_revision.release, spec_revision.author, spec_revision.note, spec_revision.origin, spec_revision.retired, "
            "spec_revision.record, spec_revision.entry "
            "FROM spec_revision JOIN device ON device.id = spec_revision.device_id ORDER BY device.slug, spec_revision.number")
        devices: dict[str, dict] = {}
        by_id: dict[int, tuple[str, int]] = {}
        for rev_id, slug, device_created, number, created_at, rev_release, author, note, origin, retired, record, entry in rows:
            by_id[rev_id] = (slug, number)
            if limit is not None and rev_id > limit:
                continue
            devices.setdefault(slug, {"slug": slug, "created_at": iso(device_created), "revisions": []})
            devices[slug]["revisions"].append({
                "number": number, "created_at": iso(created_at), "release": rev_release,
                "author": author, "note": note, "origin": origin, "retired": bool(retired),
                "record": json.loads(record) if record else None,
                "entry": json.loads(entry) if entry else None,
            })
        release_rows = []
        for name, content_hash, fingerprint, applied_at, changed, last in self._query(
                "SELECT name, content_hash, fingerprint, applied_at, devices_changed, last_revision_id FROM catalog_release ORDER BY id"):
            if limit is not None and (last or 0) > limit:
                continue
            covered: dict[str, int] = {}
            for rev_id, (slug, number) in by_id.items():
                if rev_id <= (last or 0):
                    covered[slug] = max(covered.get(slug, 0), number)
            release_rows.append({"name": name, "content_hash": content_hash, "fingerprint": fingerprint,
                                 "applied_at": iso(applied_at), "devices_changed": changed, "revisions": dict(sorted(covered.items()))})
        used = {s for d in devices.values() for rev in d["revisions"] for s in cited(rev)}
        sources = {id_: {"url": url, "title": title, "publisher": publisher}
                   for id_, url, title, publisher in self._query("SELECT id, url, title, publisher FROM source ORDER BY id") if id_ in used}
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "schema": schema, "release": release,
                "releases": release_rows, "sources": sources, "devices": list(devices.values())}
