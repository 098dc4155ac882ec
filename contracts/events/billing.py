"""billing's events: prices, documents (invoices, credit notes, settlements),
payments and statements' reviews."""
from marshmallow import fields

from common.schemas import bounded_date
from contracts.events.base import EventSchema
from contracts.vocabulary import SPACE_KINDS


class RateCardSetSchema(EventSchema):
    """``billing.rate_card_set``: a relay's prices for a kind of space from a
    date (version 2 added the day and hourly prices; desks by the half-day
    and the day, rooms by the hour, each possibly null)."""
    rate_card_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    space_kind = fields.String(required=True, metadata={"enum": SPACE_KINDS})
    half_day_price_cents = fields.Integer(allow_none=True, required=True)
    day_price_cents = fields.Integer(allow_none=True, load_default=None)
    hour_price_cents = fields.Integer(allow_none=True, load_default=None)
    vat_rate_bp = fields.Integer(required=True)
    valid_from = bounded_date(required=True)


class PeriodSetSchema(EventSchema):
    valid_from = bounded_date(required=True)
    valid_until = bounded_date(allow_none=True, load_default=None)


class ContractSetSchema(PeriodSetSchema):
    """``billing.contract_set``: a company's negotiated terms for a period."""
    contract_id = fields.String(required=True)
    organisation_id = fields.String(required=True)


class CommissionSetSchema(PeriodSetSchema):
    """``billing.commission_set``: the network's commission on a relay operator."""
    commission_id = fields.String(required=True)
    operator_organisation_id = fields.String(required=True)
    commission_bp = fields.Integer(required=True)


class DocumentIssuedSchema(EventSchema):
    """``billing.invoice_finalized``, ``billing.credit_note_issued``,
    ``billing.settlement_issued``: a final document, numbered and chained.
    ``buyer_email``/``seller_email`` are the billing addresses it was issued to."""
    document_id = fields.String(required=True)
    kind = fields.String(required=True)
    number = fields.String(required=True)
    organisation_id = fields.String(required=True)
    month = bounded_date(allow_none=True, load_default=None)
    issue_date = bounded_date(required=True)
    due_date = bounded_date(required=True)
    total_net_cents = fields.Integer(required=True)
    total_vat_cents = fields.Integer(required=True)
    total_gross_cents = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    preceding_document_id = fields.String(allow_none=True, load_default=None)
    buyer_email = fields.String(allow_none=True, load_default=None)
    seller_email = fields.String(allow_none=True, load_default=None)


class InvoiceOverdueSchema(DocumentIssuedSchema):
    """``billing.invoice_overdue``: a final invoice past its due date with a balance."""
    balance_cents = fields.Integer(required=True)


class DocumentRenderedSchema(DocumentIssuedSchema):
    """``billing.document_rendered``: a final document's Factur-X files are
    stored, once, after it was issued; its PDF is ``billing.document_file``
    (notify attaches it to the document's mail)."""
    pdf_filename = fields.String(required=True)
    pdf_size = fields.Integer(required=True)


class PaymentRecordedSchema(EventSchema):
    """``billing.payment_recorded``."""
    payment_id = fields.String(required=True)
    document_id = fields.String(required=True)
    number = fields.String(required=True)
    organisation_id = fields.String(required=True)
    amount_cents = fields.Integer(required=True)
    paid_on = bounded_date(required=True)
    balance_cents = fields.Integer(required=True)
    buyer_email = fields.String(allow_none=True, load_default=None)


class SettlementReviewedSchema(EventSchema):
    """``billing.settlement_accepted``, ``billing.settlement_contested``."""
    document_id = fields.String(required=True)
    number = fields.String(required=True)
    organisation_id = fields.String(required=True)
    reason = fields.String(allow_none=True, load_default=None)
