"""price_corrections: a usage line re-priced after its invoice was finalized

Revision ID: billing_0005_price_corrections
Revises: billing_0004_billing_finish
Create Date: 2026-12-01 16:45:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'billing_0005_price_corrections'
down_revision = 'billing_0004_billing_finish'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'price_corrections',
        sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('usage_line_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('cited_invoice_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
        sa.Column('amount_excl_vat_cents', sa.BigInteger(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('document_id', sa.UUID(as_uuid=False), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint('amount_excl_vat_cents <> 0',
                           name=op.f('ck_price_corrections_amount_not_zero')),
        sa.CheckConstraint('amount_excl_vat_cents > 0 OR document_id IS NOT NULL',
                           name=op.f('ck_price_corrections_credit_has_its_note')),
        sa.ForeignKeyConstraint(['cited_invoice_id'], ['documents.id'],
                                name=op.f('fk_price_corrections_cited_invoice_id_documents')),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'],
                                name=op.f('fk_price_corrections_document_id_documents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_price_corrections')),
    )
    op.create_index(op.f('ix_price_corrections_usage_line_id'), 'price_corrections',
                    ['usage_line_id'], unique=False)
    op.create_index(op.f('ix_price_corrections_document_id'), 'price_corrections',
                    ['document_id'], unique=False)
    op.create_index('uq_price_corrections_pending', 'price_corrections',
                    ['usage_line_id', 'vat_rate_bp'], unique=True,
                    postgresql_where=sa.text('document_id IS NULL'))


def downgrade():
    op.drop_index('uq_price_corrections_pending', table_name='price_corrections',
                  postgresql_where=sa.text('document_id IS NULL'))
    op.drop_index(op.f('ix_price_corrections_document_id'), table_name='price_corrections')
    op.drop_index(op.f('ix_price_corrections_usage_line_id'), table_name='price_corrections')
    op.drop_table('price_corrections')
