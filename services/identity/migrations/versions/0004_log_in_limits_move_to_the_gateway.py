"""log-in limits move to the gateway (Redis, per address and client): the
per-address lock-out table goes (its keys now expire by themselves)

Revision ID: identity_0004
Revises: identity_0003
Create Date: 2026-12-01 10:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'identity_0004'
down_revision = 'identity_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('login_throttle')


def downgrade():
    op.create_table(
        'login_throttle',
        sa.Column('email_key', sa.Text(), nullable=False),
        sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('email_key', name=op.f('pk_login_throttle')))
