"""prices (day and hourly rate cards, contracts, commissions), documents,
numbering, hash chain, payments, settlements; final documents never change

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-12-01 09:42:00.705294
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'billing_0003'
down_revision = 'billing_0002'
branch_labels = None
depends_on = None


# A final document, and the lines of one, never change: the application
# never tries, and this refuses anyone who does (psql included). A correction
# is a new document. TRUNCATE (the tests' clean-up) is not a row change.
FINAL_NEVER_CHANGES = """
CREATE FUNCTION refuse_change_of_final_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'final' THEN
        RAISE EXCEPTION 'document % is final and never changes', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER final_document_never_changes BEFORE UPDATE OR DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION refuse_change_of_final_document();

CREATE FUNCTION refuse_change_of_final_document_line() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    document uuid := CASE WHEN TG_OP = 'INSERT' THEN NEW.document_id ELSE OLD.document_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM documents WHERE id = document AND status = 'final') THEN
        RAISE EXCEPTION 'the lines of a final document never change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER final_document_lines_never_change BEFORE INSERT OR UPDATE OR DELETE
    ON document_lines FOR EACH ROW EXECUTE FUNCTION refuse_change_of_final_document_line();
"""


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_head'))
    )
    op.create_table('commissions',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('operator_organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('commission_bp', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('operator_organisation_id'), '='), (sa.text("daterange(valid_from, valid_until, '[]')"), '&&'), using='gist', name='commissions_no_overlap'),
    sa.CheckConstraint('commission_bp BETWEEN 0 AND 10000', name=op.f('ck_commissions_commission_range')),
    sa.CheckConstraint('valid_until IS NULL OR valid_until >= valid_from', name=op.f('ck_commissions_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commissions'))
    )
    op.create_index(op.f('ix_commissions_operator_organisation_id'), 'commissions', ['operator_organisation_id'], unique=False)
    op.create_table('contracts',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('discount_bp', sa.Integer(), nullable=True),
    sa.Column('half_day_price_cents', sa.Integer(), nullable=True),
    sa.Column('day_price_cents', sa.Integer(), nullable=True),
    sa.Column('hour_price_cents', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    postgresql.ExcludeConstraint((sa.column('organisation_id'), '='), (sa.text("daterange(valid_from, valid_until, '[]')"), '&&'), using='gist', name='contracts_no_overlap'),
    sa.CheckConstraint('coalesce(half_day_price_cents, 0) >= 0 AND coalesce(day_price_cents, 0) >= 0 AND coalesce(hour_price_cents, 0) >= 0', name=op.f('ck_contracts_prices_not_negative')),
    sa.CheckConstraint('discount_bp IS NULL OR discount_bp BETWEEN 0 AND 10000', name=op.f('ck_contracts_discount_range')),
    sa.CheckConstraint('valid_until IS NULL OR valid_until >= valid_from', name=op.f('ck_contracts_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts'))
    )
    op.create_index(op.f('ix_contracts_organisation_id'), 'contracts', ['organisation_id'], unique=False)
    op.create_table('document_sequences',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('last_number', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_document_sequences'))
    )
    op.create_table('documents',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('month', sa.Date(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('preceding_document_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('number', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('seller', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('buyer', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('notes', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('total_net_cents', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('total_vat_cents', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('total_gross_cents', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('commission_bp', sa.Integer(), nullable=True),
    sa.Column('chain_position', sa.BigInteger(), nullable=True),
    sa.Column('previous_sha256', sa.Text(), nullable=True),
    sa.Column('sha256', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note', 'self_billed_invoice')", name=op.f('ck_documents_kind')),
    sa.CheckConstraint("status = 'draft' OR (number IS NOT NULL AND sha256 IS NOT NULL)", name=op.f('ck_documents_final_is_numbered')),
    sa.CheckConstraint("status IN ('draft', 'final')", name=op.f('ck_documents_status')),
    sa.CheckConstraint('total_gross_cents = total_net_cents + total_vat_cents', name=op.f('ck_documents_totals_add_up')),
    sa.ForeignKeyConstraint(['preceding_document_id'], ['documents.id'], name=op.f('fk_documents_preceding_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('chain_position', name=op.f('uq_documents_chain_position')),
    sa.UniqueConstraint('number', name=op.f('uq_documents_number'))
    )
    op.create_index(op.f('ix_documents_organisation_id'), 'documents', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_documents_preceding_document_id'), 'documents', ['preceding_document_id'], unique=False)
    op.create_index('ix_documents_status_kind', 'documents', ['status', 'kind'], unique=False)
    op.create_index('uq_documents_monthly', 'documents', ['kind', 'organisation_id', 'month'], unique=True, postgresql_where=sa.text('month IS NOT NULL AND preceding_document_id IS NULL'))
    op.create_table('known_members',
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_known_members'))
    )
    op.create_table('known_organisations',
    sa.Column('organisation_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('legal_name', sa.Text(), nullable=True),
    sa.Column('siret', sa.Text(), nullable=True),
    sa.Column('vat_number', sa.Text(), nullable=True),
    sa.Column('billing_email', sa.Text(), nullable=True),
    sa.Column('billing_address', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_known_organisations'))
    )
    op.create_table('document_lines',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('member_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('relay_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('space_kind', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_code', sa.Text(), nullable=False),
    sa.Column('unit_price_cents', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('net_cents', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_lines_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_lines')),
    sa.UniqueConstraint('document_id', 'position', name=op.f('uq_document_lines_document_id'))
    )
    op.create_table('overdue_notices',
    sa.Column('document_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_overdue_notices_document_id_documents')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_overdue_notices'))
    )
    op.create_table('payments',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('document_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_payments_document_id_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    op.create_index(op.f('ix_payments_document_id'), 'payments', ['document_id'], unique=False)
    op.create_table('settlement_reviews',
    sa.Column('settlement_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolution_document_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('resolved_by', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('accepted', 'contested', 'resolved')", name=op.f('ck_settlement_reviews_status')),
    sa.ForeignKeyConstraint(['resolution_document_id'], ['documents.id'], name=op.f('fk_settlement_reviews_resolution_document_id_documents')),
    sa.ForeignKeyConstraint(['settlement_id'], ['documents.id'], name=op.f('fk_settlement_reviews_settlement_id_documents')),
    sa.PrimaryKeyConstraint('settlement_id', name=op.f('pk_settlement_reviews'))
    )
    op.create_table('credited_usage',
    sa.Column('usage_line_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('credit_note_id', sa.UUID(as_uuid=False), nullable=False),
    sa.PrimaryKeyConstraint('usage_line_id', name=op.f('pk_credited_usage'))
    )
    op.create_index(op.f('ix_credited_usage_credit_note_id'), 'credited_usage', ['credit_note_id'], unique=False)
    op.create_table('invoiced_usage',
    sa.Column('usage_line_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('invoice_id', sa.UUID(as_uuid=False), nullable=False),
    sa.PrimaryKeyConstraint('usage_line_id', name=op.f('pk_invoiced_usage'))
    )
    op.create_index(op.f('ix_invoiced_usage_invoice_id'), 'invoiced_usage', ['invoice_id'], unique=False)
    op.create_table('settled_usage',
    sa.Column('usage_line_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('settlement_id', sa.UUID(as_uuid=False), nullable=False),
    sa.PrimaryKeyConstraint('usage_line_id', name=op.f('pk_settled_usage'))
    )
    op.create_index(op.f('ix_settled_usage_settlement_id'), 'settled_usage', ['settlement_id'], unique=False)
    op.add_column('known_relays', sa.Column('operator_organisation_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_index(op.f('ix_known_relays_operator_organisation_id'), 'known_relays', ['operator_organisation_id'], unique=False)
    op.add_column('rate_cards', sa.Column('day_price_cents', sa.Integer(), nullable=True))
    op.add_column('rate_cards', sa.Column('hour_price_cents', sa.Integer(), nullable=True))
    op.alter_column('rate_cards', 'half_day_price_cents',
               existing_type=sa.INTEGER(),
               nullable=True)
    op.add_column('usage_lines', sa.Column('duration_minutes', sa.Integer(), nullable=True))
    op.add_column('usage_lines', sa.Column('contract_id', sa.UUID(as_uuid=False), nullable=True))
    op.add_column('usage_lines', sa.Column('unit', sa.Text(), nullable=True))
    op.add_column('usage_lines', sa.Column('quantity', sa.Numeric(precision=8, scale=2), nullable=True))
    op.create_foreign_key(op.f('fk_usage_lines_contract_id_contracts'), 'usage_lines', 'contracts', ['contract_id'], ['id'])
    op.drop_constraint(op.f('ck_rate_cards_price_not_negative'), 'rate_cards', type_='check')
    op.create_check_constraint(
        op.f('ck_rate_cards_prices_not_negative'), 'rate_cards',
        'coalesce(half_day_price_cents, 0) >= 0 AND coalesce(day_price_cents, 0) >= 0 '
        'AND coalesce(hour_price_cents, 0) >= 0')
    op.execute("INSERT INTO chain_head (id, position) VALUES (1, 0)")
    op.execute(FINAL_NEVER_CHANGES)


def downgrade():
    op.execute("DROP TRIGGER final_document_lines_never_change ON document_lines")
    op.execute("DROP TRIGGER final_document_never_changes ON documents")
    op.execute("DROP FUNCTION refuse_change_of_final_document_line()")
    op.execute("DROP FUNCTION refuse_change_of_final_document()")
    op.drop_constraint(op.f('ck_rate_cards_prices_not_negative'), 'rate_cards', type_='check')
    op.create_check_constraint(op.f('ck_rate_cards_price_not_negative'), 'rate_cards',
                               'half_day_price_cents >= 0')
    op.execute("DELETE FROM rate_cards WHERE half_day_price_cents IS NULL")
    op.drop_constraint(op.f('fk_usage_lines_contract_id_contracts'), 'usage_lines', type_='foreignkey')
    op.drop_column('usage_lines', 'quantity')
    op.drop_column('usage_lines', 'unit')
    op.drop_column('usage_lines', 'contract_id')
    op.drop_column('usage_lines', 'duration_minutes')
    op.alter_column('rate_cards', 'half_day_price_cents',
               existing_type=sa.INTEGER(),
               nullable=False)
    op.drop_column('rate_cards', 'hour_price_cents')
    op.drop_column('rate_cards', 'day_price_cents')
    op.drop_index(op.f('ix_known_relays_operator_organisation_id'), table_name='known_relays')
    op.drop_column('known_relays', 'operator_organisation_id')
    op.drop_index(op.f('ix_settled_usage_settlement_id'), table_name='settled_usage')
    op.drop_table('settled_usage')
    op.drop_index(op.f('ix_invoiced_usage_invoice_id'), table_name='invoiced_usage')
    op.drop_table('invoiced_usage')
    op.drop_index(op.f('ix_credited_usage_credit_note_id'), table_name='credited_usage')
    op.drop_table('credited_usage')
    op.drop_table('settlement_reviews')
    op.drop_index(op.f('ix_payments_document_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_table('overdue_notices')
    op.drop_table('document_lines')
    op.drop_table('known_organisations')
    op.drop_table('known_members')
    op.drop_index('uq_documents_monthly', table_name='documents', postgresql_where=sa.text('month IS NOT NULL AND preceding_document_id IS NULL'))
    op.drop_index('ix_documents_status_kind', table_name='documents')
    op.drop_index(op.f('ix_documents_preceding_document_id'), table_name='documents')
    op.drop_index(op.f('ix_documents_organisation_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('document_sequences')
    op.drop_index(op.f('ix_contracts_organisation_id'), table_name='contracts')
    op.drop_table('contracts')
    op.drop_index(op.f('ix_commissions_operator_organisation_id'), table_name='commissions')
    op.drop_table('commissions')
    op.drop_table('chain_head')
