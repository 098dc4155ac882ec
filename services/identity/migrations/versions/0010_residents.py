"""Residents sign up on their own: pending sign-ups and a resident's postcode

Revision ID: identity_0010_residents
Revises: identity_0009_sso
Create Date: 2026-12-01 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0010_residents'
down_revision = 'identity_0009_sso'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_ups',
        sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('email', sa.Text(), nullable=False),
        sa.Column('full_name', sa.Text(), nullable=False),
        sa.Column('locale', sa.Text(), server_default=sa.text("'fr'"), nullable=False),
        sa.Column('home_postcode', sa.Text(), nullable=False),
        sa.Column('home_commune', sa.Text(), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=True),
        sa.Column('existing_user_id', sa.UUID(as_uuid=False), nullable=True),
        sa.Column('token_hash', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('user_id', sa.UUID(as_uuid=False), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_ups')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_sign_ups_token_hash')),
    )
    op.add_column('employee_profiles', sa.Column('home_postcode', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('employee_profiles', 'home_postcode')
    op.drop_table('sign_ups')
