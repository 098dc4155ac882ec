"""booking's events: its relays and spaces, and each step of a booking's life
(``services/booking/lifecycle.py``)."""
from marshmallow import fields

from common.schemas import bounded_date
from contracts.events.base import EventSchema
from contracts.vocabulary import BLOCK_BILLING, SPACE_KINDS


class BookingFactsSchema(EventSchema):
    """What every booking.* event carries: all billing and notify need, no look-ups."""
    booking_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    relay_name = fields.String(required=True)
    # version 2: where the relay is, for calendar invitations.
    relay_address = fields.String(allow_none=True, load_default=None)
    space_id = fields.String(required=True)
    space_name = fields.String(required=True)
    space_kind = fields.String(required=True)
    member_id = fields.String(required=True)
    organisation_id = fields.String(allow_none=True, required=True)
    series_id = fields.String(allow_none=True, load_default=None)
    # version 3: the programme the booking was made under, which pays for it
    # (billing invoices the programme, not the resident); null: none.
    programme_id = fields.String(allow_none=True, load_default=None)
    date = bounded_date(required=True)
    slot = fields.String(required=True)
    half_days = fields.Integer(required=True)
    timezone = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    local_starts_at = fields.String(required=True)
    local_ends_at = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    local_release_at = fields.String(allow_none=True, load_default=None, metadata={
        "description": "A desk not checked in to by then (local time of the relay) is "
                       "released as a no-show; null when never (rooms, or no release)."})
    # version 3: the block of reserved capacity the booking was made in (its
    # holder's member booking a held place), else null.
    block_id = fields.String(allow_none=True, load_default=None)


class BookingConfirmedSchema(BookingFactsSchema):
    """Data of ``booking.confirmed``."""


class BookingCancelledSchema(BookingFactsSchema):
    """Data of ``booking.cancelled``: ``late`` means billable (see lifecycle.py)."""
    late = fields.Boolean(required=True)
    cancelled_at = fields.AwareDateTime(required=True)
    cancelled_by = fields.String(required=True, metadata={
        "description": "member, corporate_admin, relay_manager, network_admin or system"})
    reason = fields.String(allow_none=True, required=True)


class BookingCheckedInSchema(BookingFactsSchema):
    checked_in_at = fields.AwareDateTime(required=True)
    checked_in_by = fields.String(required=True)


class BookingNoShowSchema(BookingFactsSchema):
    released_at = fields.AwareDateTime(required=True)


class BookingCompletedSchema(BookingFactsSchema):
    completed_at = fields.AwareDateTime(required=True)
    checked_in = fields.Boolean(required=True)


class RelayCreatedSchema(EventSchema):
    """``booking.relay_created`` and ``booking.relay_updated``: what billing and
    notify know a relay by."""
    relay_id = fields.String(required=True)
    name = fields.String(required=True)
    commune = fields.String(required=True)
    postcode = fields.String(required=True)
    timezone = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)


class SpaceCreatedSchema(EventSchema):
    """``booking.space_created``."""
    space_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": SPACE_KINDS})
    name = fields.String(required=True)
    capacity = fields.Integer(required=True)


class BlockCreatedSchema(EventSchema):
    """``booking.block_created``: a block of spaces a relay holds for an
    organisation, as agreed (billing bills it: whole, a fixed price a month,
    or per use, its bookings)."""
    block_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    space_ids = fields.List(fields.String(), required=True)
    space_kind = fields.String(required=True, metadata={"enum": SPACE_KINDS})
    weekday = fields.String(required=True)
    slot = fields.String(required=True, metadata={"description": "morning, afternoon, day "
                                                                "or hours"})
    local_start = fields.String(required=True, metadata={"example": "13:30"})
    local_end = fields.String(required=True, metadata={"example": "18:00"})
    starts_on = bounded_date(required=True)
    ends_on = bounded_date(required=True)
    release_hours = fields.Integer(required=True)
    billing = fields.String(required=True, metadata={"enum": BLOCK_BILLING})
    monthly_price_cents = fields.Integer(allow_none=True, required=True, metadata={
        "description": "Excl. VAT, billed each month of the period when billing is whole."})
    places = fields.Integer(required=True, metadata={"description": "Space-days held."})
    timezone = fields.String(required=True)


class BlockCancelledSchema(EventSchema):
    """``booking.block_cancelled``: its places to come are free for everyone."""
    block_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    organisation_id = fields.String(required=True)
    cancelled_at = fields.AwareDateTime(required=True)
