"""SCIM as providers send it: attributes kept as sent, groups, and groups' policies

Revision ID: identity_0007_scim
Revises: identity_0007_messages
Create Date: 2026-12-01 13:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'identity_0007_scim'
down_revision = 'identity_0007_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('scim_attributes', postgresql.JSONB(astext_type=sa.Text()),
                                     server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.create_table(
        'groups',
        sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('display_name', sa.Text(), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_groups_organisation_id'), 'groups', ['organisation_id'])
    op.create_index('uq_groups_organisation_display_name', 'groups',
                    ['organisation_id', sa.text('lower(display_name)')], unique=True)
    op.create_index('uq_groups_organisation_external_id', 'groups',
                    ['organisation_id', 'external_id'], unique=True,
                    postgresql_where=sa.text('external_id IS NOT NULL'))
    op.create_table(
        'group_members',
        sa.Column('group_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('group_id', 'user_id'),
    )
    op.create_index(op.f('ix_group_members_user_id'), 'group_members', ['user_id'])
    op.create_table(
        'group_policies',
        sa.Column('group_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('allowed_relays', sa.Text(), server_default=sa.text("'all'"), nullable=False),
        sa.Column('relay_ids', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column('radius_km', sa.Integer(), nullable=True),
        sa.Column('max_days_per_month', sa.Integer(), nullable=True),
        sa.Column('booking_horizon_days', sa.Integer(), nullable=True),
        sa.Column('space_kinds', postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column('updated_by', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint("allowed_relays IN ('all', 'list', 'radius')",
                           name=op.f('ck_group_policies_group_allowed_relays')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id'),
    )


def downgrade():
    op.drop_table('group_policies')
    op.drop_index(op.f('ix_group_members_user_id'), table_name='group_members')
    op.drop_table('group_members')
    op.drop_index('uq_groups_organisation_external_id', table_name='groups')
    op.drop_index('uq_groups_organisation_display_name', table_name='groups')
    op.drop_index(op.f('ix_groups_organisation_id'), table_name='groups')
    op.drop_table('groups')
    op.drop_column('users', 'scim_attributes')
