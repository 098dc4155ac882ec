"""document_files: a final document's Factur-X files, rendered once

Revision ID: billing_0004_billing_finish
Revises: billing_0003
Create Date: 2026-12-01 12:55:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'billing_0004_billing_finish'
down_revision = 'billing_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_files',
        sa.Column('document_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('sha256', sa.Text(), nullable=False),
        sa.Column('xml', sa.LargeBinary(), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('rendered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                                name=op.f('fk_document_files_document_id_documents')),
        sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document_files')),
    )


def downgrade():
    op.drop_table('document_files')
