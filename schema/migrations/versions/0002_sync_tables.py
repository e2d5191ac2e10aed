"""sync tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conflicts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('kept_value', sa.Text(), nullable=True),
    sa.Column('lost_value', sa.Text(), nullable=True),
    sa.Column('lost_node_id', sa.String(length=36), nullable=True),
    sa.Column('lost_hlc', sa.BigInteger(), nullable=True),
    sa.Column('kept_node_id', sa.String(length=36), nullable=True),
    sa.Column('kept_hlc', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('detected_at', sa.String(length=32), nullable=False),
    sa.Column('resolved_at', sa.String(length=32), nullable=True),
    sa.Column('resolved_by', sa.String(length=36), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('deleted', sa.Boolean(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflicts'))
    )
    op.create_table('enrollment_tokens',
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.String(length=32), nullable=False),
    sa.Column('used_at', sa.String(length=32), nullable=True),
    sa.Column('used_by_node', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_enrollment_tokens'))
    )
    op.create_table('field_versions',
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('hlc', sa.BigInteger(), nullable=False),
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('pending_value', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('table_name', 'row_id', 'field', name=op.f('pk_field_versions'))
    )
    op.create_table('hub_feed',
    sa.Column('feed_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('origin_node', sa.String(length=36), nullable=False),
    sa.Column('origin_seq', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('feed_seq', name=op.f('pk_hub_feed'))
    )
    with op.batch_alter_table('hub_feed', schema=None) as batch_op:
        batch_op.create_index('ix_hub_feed_campus', ['campus_id', 'feed_seq'], unique=False)

    op.create_table('hub_nodes',
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=False),
    sa.Column('head_seq', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('head_hlc', sa.BigInteger(), nullable=False),
    sa.Column('quarantined', sa.Boolean(), nullable=False),
    sa.Column('quarantine_reason', sa.Text(), nullable=True),
    sa.Column('enrolled_at', sa.String(length=32), nullable=False),
    sa.Column('last_contact_at', sa.String(length=32), nullable=True),
    sa.Column('last_push_at', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('pull_cursor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_hub_nodes'))
    )
    with op.batch_alter_table('hub_nodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_nodes_campus_id'), ['campus_id'], unique=False)

    op.create_table('node_keys',
    sa.Column('public_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('revoked_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('public_key', name=op.f('pk_node_keys'))
    )
    with op.batch_alter_table('node_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_node_keys_node_id'), ['node_id'], unique=False)

    op.create_table('node_logs',
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('rejection', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('node_id', 'seq', name=op.f('pk_node_logs'))
    )
    op.create_table('sync_rejections',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('campus_id', sa.String(length=36), nullable=False),
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_rejections'))
    )


def downgrade() -> None:
    op.drop_table('sync_rejections')
    op.drop_table('node_logs')
    with op.batch_alter_table('node_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_node_keys_node_id'))

    op.drop_table('node_keys')
    with op.batch_alter_table('hub_nodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_nodes_campus_id'))

    op.drop_table('hub_nodes')
    with op.batch_alter_table('hub_feed', schema=None) as batch_op:
        batch_op.drop_index('ix_hub_feed_campus')

    op.drop_table('hub_feed')
    op.drop_table('field_versions')
    op.drop_table('enrollment_tokens')
    op.drop_table('conflicts')
