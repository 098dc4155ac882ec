"""billing's RPCs: what they accept and return."""
import base64

from marshmallow import Schema, ValidationError, fields, validate, validates

from common.schemas import PageQuerySchema, bounded_date, month_field
from contracts.vocabulary import SPACE_KINDS, STANDARD_VAT_RATE_BP


def price(description):
    """A price in cents excl. VAT. Negative ones pass the schema so that the
    domain refuses them with its own code (``invalid-price``)."""
    return fields.Integer(strict=True, allow_none=True, validate=validate.Range(max=10_000_000),
                          metadata={"description": description + ", excluding VAT, in cents."})


class RateCardSchema(Schema):
    id = fields.String(dump_only=True)
    relay_id = fields.String(dump_only=True)
    space_kind = fields.String(required=True, validate=validate.OneOf(SPACE_KINDS))
    half_day_price_cents = price("Desks: the price of a half-day (a morning or an afternoon)")
    day_price_cents = price("Desks: the price of a day (default: two half-days)")
    hour_price_cents = price("Rooms, booths, visio and study rooms: the price of an hour "
                             "(booked in half-hour steps)")
    vat_rate_bp = fields.Integer(
        load_default=STANDARD_VAT_RATE_BP, strict=True, validate=validate.Range(0, 10000),
        metadata={"description": "VAT rate in basis points: 2000 = 20 %."})
    valid_from = bounded_date(required=True, metadata={
        "description": "In force for bookings on or after this date, until the next card."})
    created_at = fields.AwareDateTime(dump_only=True)


class PeriodSchema(Schema):
    valid_from = bounded_date(required=True)
    valid_until = bounded_date(allow_none=True, load_default=None, metadata={
        "description": "Last day in force (included); none: open-ended."})


class ContractSchema(PeriodSchema):
    id = fields.String(dump_only=True)
    organisation_id = fields.String(dump_only=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=200))
    discount_bp = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10000),
                                 metadata={"description": "Discount on rate cards, in basis "
                                           "points (1000 = 10 %)."})
    half_day_price_cents = price("Own price of a desk's half-day")
    day_price_cents = price("Own price of a desk's day")
    hour_price_cents = price("Own price of a room's hour")
    created_at = fields.AwareDateTime(dump_only=True)


class CommissionSchema(PeriodSchema):
    id = fields.String(dump_only=True)
    operator_organisation_id = fields.String(dump_only=True)
    commission_bp = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10000),
                                   metadata={"description": "The network's share of what the "
                                             "operator's relays sold, in basis points."})
    created_at = fields.AwareDateTime(dump_only=True)


class RelayOperatorSchema(Schema):
    relay_id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    operator_organisation_id = fields.UUID(required=True)


class UsageLineSchema(Schema):
    id = fields.String()
    booking_id = fields.String(allow_none=True, metadata={
        "description": "null on a block's monthly line (block_id)."})
    block_id = fields.String(allow_none=True, metadata={
        "description": "The block of reserved capacity: its monthly line when billed whole, "
                       "or a booking made in it."})
    relay_id = fields.String()
    organisation_id = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    space_kind = fields.String()
    date = bounded_date()
    slot = fields.String()
    half_days = fields.Integer()
    duration_minutes = fields.Integer(allow_none=True)
    status = fields.String(metadata={
        "description": "priced, unpriced, void (cancelled in time), or included (made in a "
                       "block billed whole)"})
    rate_card_id = fields.String(allow_none=True)
    contract_id = fields.String(allow_none=True)
    unit = fields.String(allow_none=True, metadata={
        "description": "half_day, day, hour, or month (a block billed whole)"})
    quantity = fields.Decimal(as_string=True, allow_none=True)
    unit_price_cents = fields.Integer(allow_none=True)
    vat_rate_bp = fields.Integer(allow_none=True)
    amount_excl_vat_cents = fields.Integer(allow_none=True)
    vat_cents = fields.Integer(allow_none=True)
    amount_incl_vat_cents = fields.Integer(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    late_cancellation = fields.Boolean()
    created_at = fields.AwareDateTime()


class UsageLineQuerySchema(PageQuerySchema):
    booking_id = fields.UUID()
    organisation_id = fields.UUID()



class MonthRunSchema(Schema):
    month = month_field(required=True)
    organisation_id = fields.UUID(metadata={"description": "Only this company (default: all)."})


class MonthRunResultSchema(Schema):
    month = fields.String()
    invoices_created = fields.Integer()
    invoices_updated = fields.Integer()
    usage_lines_invoiced = fields.Integer()
    settlements_issued = fields.Integer()


class DocumentLineSchema(Schema):
    position = fields.Integer()
    description = fields.String()
    member_id = fields.String(allow_none=True)
    relay_id = fields.String(allow_none=True)
    space_kind = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    unit_code = fields.String()
    unit_price_cents = fields.Integer()
    vat_rate_bp = fields.Integer()
    net_cents = fields.Integer()
    period_start = bounded_date(allow_none=True)
    period_end = bounded_date(allow_none=True)


class PaymentSchema(Schema):
    id = fields.String(dump_only=True)
    document_id = fields.String(dump_only=True)
    amount_cents = fields.Integer(required=True, strict=True,
                                  validate=validate.Range(1, 1_000_000_000))
    paid_on = bounded_date(required=True)
    reference = fields.String(allow_none=True, validate=validate.Length(max=200))
    created_at = fields.AwareDateTime(dump_only=True)


class SettlementReviewSchema(Schema):
    settlement_id = fields.String(dump_only=True)
    decision = fields.String(required=True, load_only=True,
                             validate=validate.OneOf(("accepted", "contested")))
    status = fields.String(dump_only=True)
    reason = fields.String(allow_none=True, validate=[
        validate.Length(max=2000),
        validate.Regexp(r"^\s*\S", error="Say why, or leave it out.")])
    reviewed_at = fields.AwareDateTime(dump_only=True)
    resolution = fields.String(dump_only=True, allow_none=True)
    resolution_document_id = fields.String(dump_only=True, allow_none=True)
    resolved_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class DocumentSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    organisation_id = fields.String()
    month = bounded_date(allow_none=True)
    period_start = bounded_date()
    period_end = bounded_date()
    preceding_document_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    number = fields.String(allow_none=True)
    issue_date = bounded_date(allow_none=True)
    due_date = bounded_date(allow_none=True)
    seller = fields.Dict(allow_none=True)
    buyer = fields.Dict(allow_none=True)
    notes = fields.List(fields.String(), allow_none=True)
    total_net_cents = fields.Integer()
    total_vat_cents = fields.Integer()
    total_gross_cents = fields.Integer()
    commission_bp = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    previous_sha256 = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    finalized_at = fields.AwareDateTime(allow_none=True)


class DocumentDetailSchema(DocumentSchema):
    lines = fields.List(fields.Nested(DocumentLineSchema))
    payments = fields.List(fields.Nested(PaymentSchema))
    balance_cents = fields.Integer(allow_none=True)
    review = fields.Nested(SettlementReviewSchema, allow_none=True)


class DocumentFileSchema(Schema):
    """``billing.document_file``'s reply: a rendered final document's PDF
    (base64: JSON-native over AMQP), for a mail's attachment."""
    document_id = fields.String()
    number = fields.String()
    sha256 = fields.String()
    filename = fields.String()
    media_type = fields.String()
    pdf = fields.Method("pdf_base64", deserialize="pdf_bytes")

    def pdf_base64(self, value):
        return base64.b64encode(value["pdf"]).decode("ascii")

    def pdf_bytes(self, value):
        return base64.b64decode(value)


class DocumentQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(("invoice", "credit_note",
                                                  "self_billed_invoice")))
    status = fields.String(validate=validate.OneOf(("draft", "final")))
    month = month_field()
    organisation_id = fields.UUID()


class CreditNoteSchema(Schema):
    amount_excl_vat_cents = fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(1, 1_000_000_000),
        metadata={"description": "Partial: this amount excl. VAT; none: the whole document."})
    vat_rate_bp = fields.Integer(strict=True, allow_none=True, validate=validate.Range(0, 10000),
                                 metadata={"description": "The rate of the amount credited "
                                           "(needed when the document has several)."})
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class ResolutionSchema(CreditNoteSchema):
    resolution = fields.String(required=True, validate=validate.OneOf(
        ("credit_note", "corrected_statement", "upheld")))
    reason = fields.String(validate=validate.Length(1, 500), load_default="contestation résolue")
    adjustment_excl_vat_cents = fields.Integer(
        strict=True, validate=validate.Range(-1_000_000_000, 1_000_000_000), metadata={
            "description": "corrected_statement: what the corrected statement adds to the "
                           "contested one's net (negative: takes off), excl. VAT; not 0.",
            "not": {"enum": [0]}})

    @validates("adjustment_excl_vat_cents")
    def not_zero(self, value, **kwargs):
        if value == 0:
            raise ValidationError("A correction changes the amount.")


class FecQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))


class QuoteRequestSchema(Schema):
    """``billing.quote``: the price of a booking not made yet (booking asks it
    to hold a monthly budget). Read-only."""
    organisation_id = fields.String(allow_none=True, load_default=None)
    relay_id = fields.String(required=True)
    space_kind = fields.String(required=True, validate=validate.OneOf(SPACE_KINDS))
    date = bounded_date(required=True)
    slot = fields.String(required=True, validate=validate.OneOf(
        ("morning", "afternoon", "day", "hours")))
    duration_minutes = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(1, 24 * 60))


class QuoteSchema(Schema):
    """The price in force on the booking's date, excluding VAT (what a usage
    line of that booking would be); ``priced`` false (and 0) when no rate card
    or contract prices it yet."""
    priced = fields.Boolean()
    price_cents = fields.Integer()
