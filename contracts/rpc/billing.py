"""billing's RPCs: what they accept and return."""
from marshmallow import Schema, fields, validate

from common.schemas import PageQuerySchema
from contracts.vocabulary import SPACE_KINDS, STANDARD_VAT_RATE_BP


class RateCardSchema(Schema):
    id = fields.String(dump_only=True)
    relay_id = fields.String(dump_only=True)
    space_kind = fields.String(required=True, validate=validate.OneOf(SPACE_KINDS))
    half_day_price_cents = fields.Integer(
        required=True, strict=True, validate=validate.Range(0, 1_000_000),
        metadata={"description": "Price of a half-day, excluding VAT, in euro cents."})
    vat_rate_bp = fields.Integer(
        load_default=STANDARD_VAT_RATE_BP, strict=True, validate=validate.Range(0, 10000),
        metadata={"description": "VAT rate in basis points: 2000 = 20 %."})
    valid_from = fields.Date(required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class UsageLineSchema(Schema):
    id = fields.String()
    booking_id = fields.String()
    relay_id = fields.String()
    organisation_id = fields.String(allow_none=True)
    member_id = fields.String()
    space_kind = fields.String()
    date = fields.Date()
    slot = fields.String()
    half_days = fields.Integer()
    status = fields.String()
    rate_card_id = fields.String(allow_none=True)
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
