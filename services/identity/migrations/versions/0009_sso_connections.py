"""Single sign-on: a corporate account's OpenID Connect provider and the e-mail
domains it covers

Revision ID: identity_0009_sso
Revises: identity_0007_scim
Create Date: 2026-12-01 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0009_sso'
down_revision = 'identity_0007_scim'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_connections',
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('issuer', sa.Text(), nullable=False),
        sa.Column('client_id', sa.Text(), nullable=False),
        sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
        sa.Column('authorization_endpoint', sa.Text(), nullable=False),
        sa.Column('token_endpoint', sa.Text(), nullable=False),
        sa.Column('jwks_uri', sa.Text(), nullable=False),
        sa.Column('passwords_allowed', sa.Boolean(), server_default=sa.text('true'),
                  nullable=False),
        sa.Column('updated_by', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id']),
        sa.PrimaryKeyConstraint('organisation_id'),
    )
    op.create_table(
        'sso_domains',
        sa.Column('domain', sa.Text(), nullable=False),
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['sso_connections.organisation_id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('domain'),
    )
    op.create_index('ix_sso_domains_organisation_id', 'sso_domains', ['organisation_id'])


def downgrade():
    op.drop_index('ix_sso_domains_organisation_id', table_name='sso_domains')
    op.drop_table('sso_domains')
    op.drop_table('sso_connections')
