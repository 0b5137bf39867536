"""revision records: each revision keeps its full record and the data entry it came from; releases
mark the newest revision they cover.

`spec_revision.record` (JSON of the derived record) lets `hwdb history`, `show --rev` and `diff` read
any revision exactly; `spec_revision.entry` (JSON of the data-file entry) lets edits and new releases
re-derive peaks and merge field by field, keeping a user's edits. `catalog_release.last_revision_id`
fixes what "the catalog as of a release" means without trusting clocks.

Upgrading backfills every existing revision's record: the latest from `device_current`, older ones
rebuilt from their `spec_value` and `peak` rows (with the device's current matrix label and sparsity
list, which revisions of schema 0001 did not store). Entries of old revisions stay empty (unknown).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:10:00
"""
import json
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('spec_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('entry', sa.Text(), nullable=True))
    with op.batch_alter_table('catalog_release', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_revision_id', sa.Integer(), nullable=True))
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('catalog_release', schema=None) as batch_op:
        batch_op.drop_column('last_revision_id')
    with op.batch_alter_table('spec_revision', schema=None) as batch_op:
        batch_op.drop_column('entry')
        batch_op.drop_column('record')


def _backfill(bind) -> None:
    sources = {row.id: {"url": row.url, "title": row.title, "publisher": row.publisher}
               for row in bind.execute(sa.text("SELECT id, url, title, publisher FROM source"))}
    current = {row.device_id: (row.revision_number, json.loads(row.record))
               for row in bind.execute(sa.text("SELECT device_id, revision_number, record FROM device_current"))}
    revisions = bind.execute(sa.text(
        "SELECT r.id, r.device_id, r.number, r.release, r.name, r.vendor, r.kind, r.architecture, r.form_factor,"
        " r.aliases, r.retired, d.slug FROM spec_revision r JOIN device d ON d.id = r.device_id"
    )).fetchall()
    for rev in revisions:
        latest = current.get(rev.device_id)
        if latest is not None and latest[0] == rev.number:
            record = latest[1]
        else:
            record = _rebuild(bind, rev, latest[1] if latest else {}, sources)
        bind.execute(sa.text("UPDATE spec_revision SET record = :record WHERE id = :id"),
                     {"record": json.dumps(record, sort_keys=True), "id": rev.id})
    for release in bind.execute(sa.text("SELECT id, applied_at FROM catalog_release")).fetchall():
        last = bind.execute(sa.text("SELECT MAX(id) FROM spec_revision WHERE created_at <= :at"), {"at": release.applied_at}).scalar()
        bind.execute(sa.text("UPDATE catalog_release SET last_revision_id = :last WHERE id = :id"), {"last": last, "id": release.id})


def _rebuild(bind, rev, latest: dict, sources: dict) -> dict:
    specs = {}
    for row in bind.execute(sa.text(
        "SELECT name, value_num, value_text, unit, direction, source_id, note FROM spec_value WHERE revision_id = :id"
    ), {"id": rev.id}):
        value = row.value_num if row.value_num is not None else row.value_text
        if row.unit == "" and isinstance(value, float) and value.is_integer():
            value = int(value)
        specs[row.name] = {"value": value, "unit": row.unit, "source": row.source_id, "note": row.note, "direction": row.direction}
    peaks, unsupported = [], []
    for row in bind.execute(sa.text("SELECT * FROM peak WHERE revision_id = :id ORDER BY id"), {"id": rev.id}).mappings():
        if row["status"] == "not_supported":
            unsupported.append([row["precision"], row["engine"]])
            continue
        derivation = None if row["ops_per_clock"] is None else {
            k: row[k] for k in ("chips", "clock_hz", "clock_name", "unit_name", "units", "ops_per_clock", "sparse_factor")
        }
        peaks.append({
            "precision": row["precision"], "engine": row["engine"], "sparse": bool(row["sparse"]), "value": row["value"],
            "origin": row["origin"], "datasheet_value": row["datasheet_value"], "source": row["source_id"],
            "derivation": derivation, "derivation_source": row["derivation_source_id"], "note": row["note"],
            "accumulate": row.get("accumulate") or None,
        })
    used = {s["source"] for s in specs.values()} | {p["source"] for p in peaks} | {p["derivation_source"] for p in peaks}
    return {
        "slug": rev.slug, "name": rev.name, "vendor": rev.vendor, "kind": rev.kind, "architecture": rev.architecture,
        "form_factor": rev.form_factor, "aliases": json.loads(rev.aliases), "revision": rev.number, "release": rev.release,
        "matrix_label": latest.get("matrix_label", "matrix"), "specs": specs, "peaks": peaks,
        "unsupported": sorted(unsupported), "sparse_precisions": latest.get("sparse_precisions"),
        "sources": {k: sources[k] for k in sorted(used - {None}) if k in sources},
        "retired": bool(rev.retired),
    }
