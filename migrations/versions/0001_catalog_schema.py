"""catalog schema: devices, aliases, sources, append-only spec revisions with their figures and peaks,
the device_current read model, and applied catalog releases.

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 12:16:40.651794
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('catalog_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('applied_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('devices_changed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_release'))
    )
    with op.batch_alter_table('catalog_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_release_name'), ['name'], unique=False)

    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device'))
    )
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_slug'), ['slug'], unique=True)

    op.create_table('source',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('publisher', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source'))
    )
    op.create_table('alias',
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_alias_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alias', name=op.f('pk_alias'))
    )
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alias_device_id'), ['device_id'], unique=False)

    op.create_table('device_current',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_current_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_current')),
    sa.UniqueConstraint('slug', name=op.f('uq_device_current_slug'))
    )
    op.create_table('spec_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('release', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('architecture', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('form_factor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_spec_revision_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spec_revision')),
    sa.UniqueConstraint('device_id', 'number', name='uq_spec_revision_device_number')
    )
    with op.batch_alter_table('spec_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spec_revision_device_id'), ['device_id'], unique=False)

    op.create_table('peak',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('precision', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('engine', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('sparse', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('datasheet_value', sa.Float(), nullable=True),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('chips', sa.Integer(), nullable=True),
    sa.Column('clock_hz', sa.Float(), nullable=True),
    sa.Column('clock_name', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('unit_name', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('units', sa.Float(), nullable=True),
    sa.Column('ops_per_clock', sa.Float(), nullable=True),
    sa.Column('sparse_factor', sa.Float(), nullable=True),
    sa.Column('derivation_source_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['derivation_source_id'], ['source.id'], name=op.f('fk_peak_derivation_source_id_source')),
    sa.ForeignKeyConstraint(['revision_id'], ['spec_revision.id'], name=op.f('fk_peak_revision_id_spec_revision'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_peak_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_peak')),
    sa.UniqueConstraint('revision_id', 'precision', 'engine', 'sparse', name='uq_peak_revision_key')
    )
    with op.batch_alter_table('peak', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_peak_revision_id'), ['revision_id'], unique=False)

    op.create_table('spec_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('value_num', sa.Float(), nullable=True),
    sa.Column('value_text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['revision_id'], ['spec_revision.id'], name=op.f('fk_spec_value_revision_id_spec_revision'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_spec_value_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spec_value')),
    sa.UniqueConstraint('revision_id', 'name', name='uq_spec_value_revision_name')
    )
    with op.batch_alter_table('spec_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spec_value_revision_id'), ['revision_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('spec_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spec_value_revision_id'))

    op.drop_table('spec_value')
    with op.batch_alter_table('peak', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_peak_revision_id'))

    op.drop_table('peak')
    with op.batch_alter_table('spec_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spec_revision_device_id'))

    op.drop_table('spec_revision')
    op.drop_table('device_current')
    with op.batch_alter_table('alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alias_device_id'))

    op.drop_table('alias')
    op.drop_table('source')
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_slug'))

    op.drop_table('device')
    with op.batch_alter_table('catalog_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_release_name'))

    op.drop_table('catalog_release')
