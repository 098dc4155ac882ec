"""billing's events."""
from marshmallow import fields

from contracts.events.base import EventSchema
from contracts.vocabulary import SPACE_KINDS


class RateCardSetSchema(EventSchema):
    """``billing.rate_card_set``: a relay's price for a kind of space from a date."""
    rate_card_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    space_kind = fields.String(required=True, metadata={"enum": SPACE_KINDS})
    half_day_price_cents = fields.Integer(required=True)
    vat_rate_bp = fields.Integer(required=True)
    valid_from = fields.Date(required=True)
