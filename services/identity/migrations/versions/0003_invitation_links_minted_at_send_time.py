"""invitation links minted at send time

An invitation exists before its link: the token is minted when notify sends
the mail (``identity.issue_invitation_link``), so its hash is null until then.

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-12-01 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'identity_0003'
down_revision = 'identity_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('invitations', 'token_hash', existing_type=sa.Text(), nullable=True)


def downgrade():
    op.execute("DELETE FROM invitations WHERE token_hash IS NULL")
    op.alter_column('invitations', 'token_hash', existing_type=sa.Text(), nullable=False)
