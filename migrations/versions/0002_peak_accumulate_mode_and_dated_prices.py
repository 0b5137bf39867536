"""peak accumulate mode and dated prices.

`peak.accumulate` records the accumulator precision a matrix rate is quoted for (GeForce FP16 tensor
math runs at half rate with FP32 accumulate); "" where the vendor quotes one figure. It joins the
peak's unique key. `price` holds each release's dated cloud and street prices.

Downgrading keeps one peak per (revision, precision, engine, sparsity), the one `Hardware.peak`
would return (unstated, then FP32, INT32, FP16 accumulate), and drops the price table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:40:01.133659
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('device_slug', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('offer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=False),
    sa.Column('usd', sa.Float(), nullable=False),
    sa.Column('date', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['catalog_release.id'], name=op.f('fk_price_release_id_catalog_release'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_price_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price'))
    )
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_device_slug'), ['device_slug'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('peak', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accumulate', sqlmodel.sql.sqltypes.AutoString(length=10), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_peak_revision_key'), type_='unique')
        batch_op.create_unique_constraint('uq_peak_revision_key', ['revision_id', 'precision', 'engine', 'sparse', 'accumulate'])



_RANK = "CASE {0}.accumulate WHEN '' THEN 0 WHEN 'fp32' THEN 1 WHEN 'int32' THEN 2 ELSE 3 END"


def downgrade() -> None:
    op.execute(
        "DELETE FROM peak WHERE EXISTS (SELECT 1 FROM peak AS other WHERE other.revision_id = peak.revision_id"
        " AND other.precision = peak.precision AND other.engine = peak.engine AND other.sparse = peak.sparse"
        f" AND {_RANK.format('other')} < {_RANK.format('peak')})"
    )
    with op.batch_alter_table('peak', schema=None) as batch_op:
        batch_op.drop_constraint('uq_peak_revision_key', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_peak_revision_key'), ['revision_id', 'precision', 'engine', 'sparse'])
        batch_op.drop_column('accumulate')

    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_release_id'))
        batch_op.drop_index(batch_op.f('ix_price_device_slug'))

    op.drop_table('price')
