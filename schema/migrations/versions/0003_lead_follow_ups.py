"""lead follow-ups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lead_follow_ups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('lead_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('next_follow_up_on', sa.String(length=10), nullable=True),
    sa.Column('by_user_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_follow_ups'))
    )
    with op.batch_alter_table('lead_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_follow_ups_lead_id'), ['lead_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lead_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_follow_ups_lead_id'))

    op.drop_table('lead_follow_ups')
