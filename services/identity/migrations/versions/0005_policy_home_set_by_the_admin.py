"""the home a radius policy measures from, set by the organisation's admin (and
who set it, when), apart from the home the employee declares

Revision ID: identity_0005
Revises: identity_0004
Create Date: 2026-12-01 10:35:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'identity_0005'
down_revision = 'identity_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('employee_profiles', sa.Column('policy_home_commune', sa.Text(), nullable=True))
    op.add_column('employee_profiles', sa.Column('policy_home_latitude', sa.Double(), nullable=True))
    op.add_column('employee_profiles', sa.Column('policy_home_longitude', sa.Double(), nullable=True))
    op.add_column('employee_profiles', sa.Column('policy_home_set_by', sa.Text(), nullable=True))
    op.add_column('employee_profiles', sa.Column('policy_home_set_at', sa.DateTime(timezone=True),
                                                 nullable=True))


def downgrade():
    for column in ('policy_home_set_at', 'policy_home_set_by', 'policy_home_longitude',
                   'policy_home_latitude', 'policy_home_commune'):
        op.drop_column('employee_profiles', column)
