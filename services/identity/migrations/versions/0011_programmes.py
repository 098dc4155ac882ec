"""Programmes: an organisation kind that grants residents access, its grant and enrolments

Revision ID: identity_0011_programmes
Revises: identity_0010_residents
Create Date: 2026-12-01 17:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0011_programmes'
down_revision = 'identity_0010_residents'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint(op.f('ck_organisations_kind'), 'organisations', type_='check')
    op.create_check_constraint(
        op.f('ck_organisations_kind'), 'organisations',
        "kind IN ('network', 'relay_operator', 'corporate', 'individual', 'programme')")
    op.create_table(
        'programmes',
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('funder', sa.Text(), server_default=sa.text("'other'"), nullable=False),
        sa.Column('space_kinds', sa.ARRAY(sa.Text()), nullable=True),
        sa.Column('relay_ids', sa.ARRAY(sa.Text()), nullable=True),
        sa.Column('communes', sa.ARRAY(sa.Text()), nullable=True),
        sa.Column('departments', sa.ARRAY(sa.Text()), nullable=True),
        sa.Column('max_hours_per_month', sa.Integer(), nullable=True),
        sa.Column('max_days_per_month', sa.Integer(), nullable=True),
        sa.Column('valid_from', sa.Date(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('per_person_reports', sa.Boolean(), server_default=sa.text('false'),
                  nullable=False),
        sa.Column('code_hash', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_programmes_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_programmes')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_programmes_code_hash')),
    )
    op.create_table(
        'enrolments',
        sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('programme_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('email_lower', sa.Text(), nullable=False),
        sa.Column('via', sa.Text(), nullable=False),
        sa.Column('enrolled_by', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['programme_id'], ['organisations.id'],
                                name=op.f('fk_enrolments_programme_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    )
    op.create_index('ix_enrolments_programme_id', 'enrolments', ['programme_id'])
    op.create_index('ix_enrolments_email_lower', 'enrolments', ['email_lower'])
    op.create_index('uq_enrolments_live', 'enrolments', ['programme_id', 'email_lower'],
                    unique=True, postgresql_where=sa.text('ended_at IS NULL'))


def downgrade():
    op.drop_table('enrolments')
    op.drop_table('programmes')
    op.drop_constraint(op.f('ck_organisations_kind'), 'organisations', type_='check')
    op.create_check_constraint(
        op.f('ck_organisations_kind'), 'organisations',
        "kind IN ('network', 'relay_operator', 'corporate', 'individual')")
