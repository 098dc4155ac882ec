"""a mail's delivery row records how far it went: handed_over (committed just
before the SMTP DATA terminator) or sent (the server answered 250)

Revision ID: notify_0005_delivery_states
Revises: notify_0004_messages
Create Date: 2026-12-01 20:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'notify_0005_delivery_states'
down_revision = 'notify_0004_messages'
branch_labels = None
depends_on = None


def upgrade():
    # Every row written before this revision committed after the server's 250.
    op.add_column('deliveries', sa.Column('state', sa.Text(), server_default=sa.text("'sent'"),
                                          nullable=False))
    op.create_check_constraint('state', 'deliveries', "state IN ('handed_over', 'sent')")


def downgrade():
    op.drop_constraint('ck_deliveries_state', 'deliveries', type_='check')
    op.drop_column('deliveries', 'state')
