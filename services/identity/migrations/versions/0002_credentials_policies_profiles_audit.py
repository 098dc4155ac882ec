"""credentials, policies, profiles, audit log, log-in throttle

Refresh tokens, API keys and SCIM tokens, invitations, corporate policies,
employee profiles, the audit log; users gain SCIM fields and soft deletion, and
their e-mail stays unique among the accounts that are not deleted.

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-11-25 13:19:28.150611
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'identity_0002'
down_revision = 'identity_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('actor_id', sa.Text(), nullable=False),
    sa.Column('actor_kind', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('target_type', sa.Text(), nullable=False),
    sa.Column('target_id', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    op.create_index('ix_audit_entries_organisation_at', 'audit_entries', ['organisation_id', 'id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('email_key', sa.Text(), nullable=False),
    sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('email_key', name=op.f('pk_login_throttle'))
    )
    op.create_table('corporate_policies',
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('allowed_relays', sa.Text(), server_default=sa.text("'all'"), nullable=False),
    sa.Column('relay_ids', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('radius_km', sa.Integer(), nullable=True),
    sa.Column('max_days_per_month', sa.Integer(), nullable=True),
    sa.Column('booking_horizon_days', sa.Integer(), nullable=True),
    sa.Column('space_kinds', sa.ARRAY(sa.Text()), nullable=True),
    sa.Column('monthly_budget_cents', sa.BigInteger(), nullable=True),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("allowed_relays IN ('all', 'list', 'radius')", name=op.f('ck_corporate_policies_allowed_relays')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_corporate_policies_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_corporate_policies'))
    )
    op.create_table('machine_credentials',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.Text(), nullable=False),
    sa.Column('roles', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('relay_ids', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('api_key', 'scim_token')", name=op.f('ck_machine_credentials_kind')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_machine_credentials_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_credentials')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_machine_credentials_secret_hash'))
    )
    op.create_index(op.f('ix_machine_credentials_organisation_id'), 'machine_credentials', ['organisation_id'], unique=False)
    op.create_table('employee_profiles',
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('home_commune', sa.Text(), nullable=True),
    sa.Column('home_latitude', sa.Double(), nullable=True),
    sa.Column('home_longitude', sa.Double(), nullable=True),
    sa.Column('usual_office', sa.Text(), nullable=True),
    sa.Column('commute_km', sa.Double(), nullable=True),
    sa.Column('commute_mode', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_employee_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_employee_profiles'))
    )
    op.create_table('invitations',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    op.create_index(op.f('ix_invitations_user_id'), 'invitations', ['user_id'], unique=False)
    op.create_table('refresh_tokens',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('family_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('token_hash', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    op.create_index(op.f('ix_refresh_tokens_family_id'), 'refresh_tokens', ['family_id'], unique=False)
    op.create_index(op.f('ix_refresh_tokens_user_id'), 'refresh_tokens', ['user_id'], unique=False)
    op.add_column('users', sa.Column('given_name', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('family_name', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('external_id', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('user_name', sa.Text(), nullable=True))
    op.add_column('users', sa.Column('provisioned_via', sa.Text(), server_default=sa.text("'api'"), nullable=False))
    op.add_column('users', sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.add_column('users', sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('uq_users_organisation_external_id', 'users', ['organisation_id', 'external_id'], unique=True, postgresql_where=sa.text('external_id IS NOT NULL AND deleted_at IS NULL'))
    # Autogenerate does not see a changed WHERE on an expression index: by hand.
    op.drop_index('uq_users_email_lower', table_name='users')
    op.create_index('uq_users_email_lower', 'users', [sa.literal_column('lower(email)')], unique=True,
                    postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('uq_users_organisation_user_name', 'users', ['organisation_id', sa.literal_column('lower(user_name)')], unique=True, postgresql_where=sa.text('user_name IS NOT NULL AND deleted_at IS NULL'))


def downgrade():
    op.drop_index('uq_users_email_lower', table_name='users')
    op.create_index('uq_users_email_lower', 'users', [sa.literal_column('lower(email)')], unique=True)
    op.drop_index('uq_users_organisation_user_name', table_name='users', postgresql_where=sa.text('user_name IS NOT NULL AND deleted_at IS NULL'))
    op.drop_index('uq_users_organisation_external_id', table_name='users', postgresql_where=sa.text('external_id IS NOT NULL AND deleted_at IS NULL'))
    op.drop_column('users', 'deleted_at')
    op.drop_column('users', 'deactivated_at')
    op.drop_column('users', 'updated_at')
    op.drop_column('users', 'provisioned_via')
    op.drop_column('users', 'user_name')
    op.drop_column('users', 'external_id')
    op.drop_column('users', 'family_name')
    op.drop_column('users', 'given_name')
    op.drop_index(op.f('ix_refresh_tokens_user_id'), table_name='refresh_tokens')
    op.drop_index(op.f('ix_refresh_tokens_family_id'), table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_index(op.f('ix_invitations_user_id'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_table('employee_profiles')
    op.drop_index(op.f('ix_machine_credentials_organisation_id'), table_name='machine_credentials')
    op.drop_table('machine_credentials')
    op.drop_table('corporate_policies')
    op.drop_table('login_throttle')
    op.drop_index('ix_audit_entries_organisation_at', table_name='audit_entries')
    op.drop_table('audit_entries')
