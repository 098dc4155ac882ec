"""Booking's contract: what its RPCs accept and return, and its event payloads.
The gateway validates HTTP bodies with the same schemas and documents them."""
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema, EXCLUDE

from services.booking.slots import SLOTS

SPACE_KINDS = ("desk", "meeting_room")
_TIME_ZONES = frozenset(available_timezones())


class OpeningHoursSchema(Schema):
    morning_opens = fields.Time(load_default=None, format="%H:%M")
    morning_closes = fields.Time(load_default=None, format="%H:%M")
    afternoon_opens = fields.Time(load_default=None, format="%H:%M")
    afternoon_closes = fields.Time(load_default=None, format="%H:%M")
    open_weekdays = fields.List(
        fields.Integer(validate=validate.Range(0, 6)), validate=validate.Length(max=7),
        metadata={"description": "0 = Monday ... 6 = Sunday"})


class RelayCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.String(required=True, validate=validate.Length(1, 500))
    postcode = fields.String(required=True, validate=validate.Regexp(
        r"^\d{5}$", error="A French postcode has five digits."))
    commune = fields.String(required=True, validate=validate.Length(1, 200))
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    timezone = fields.String(required=True, metadata={"example": "Europe/Paris"})
    opening_hours = fields.Nested(OpeningHoursSchema, load_default=dict)

    @validates("timezone")
    def known_time_zone(self, value, **kwargs):
        if value not in _TIME_ZONES:
            raise ValidationError("Unknown IANA time zone (e.g. Europe/Paris, America/Cayenne).")


class SpaceSchema(Schema):
    id = fields.String(dump_only=True)
    relay_id = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(SPACE_KINDS))
    name = fields.String(required=True, validate=validate.Length(1, 100))
    capacity = fields.Integer(load_default=1, validate=validate.Range(1, 500))

    @validates_schema
    def desk_seats_one(self, data, **kwargs):
        if data.get("kind") == "desk" and data.get("capacity", 1) != 1:
            raise ValidationError("A desk seats one person.", "capacity")


class RelaySchema(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    postcode = fields.String()
    commune = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    timezone = fields.String()
    opening_hours = fields.Method("dump_opening_hours")
    spaces = fields.List(fields.Nested(SpaceSchema))
    created_at = fields.AwareDateTime()

    def dump_opening_hours(self, relay):
        return {
            "morning_opens": relay.morning_opens.strftime("%H:%M"),
            "morning_closes": relay.morning_closes.strftime("%H:%M"),
            "afternoon_opens": relay.afternoon_opens.strftime("%H:%M"),
            "afternoon_closes": relay.afternoon_closes.strftime("%H:%M"),
            "open_weekdays": sorted(relay.open_weekdays),
        }


class RelayListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0))
    postcode_prefix = fields.String(validate=validate.Regexp(r"^\d{2,5}$"))


class BookingCreateSchema(Schema):
    space_id = fields.UUID(required=True)
    date = fields.Date(required=True, metadata={"example": "2026-12-01"})
    slot = fields.String(required=True, validate=validate.OneOf(SLOTS))


class BookingSchema(Schema):
    id = fields.String()
    space_id = fields.String()
    relay_id = fields.String()
    member_id = fields.String()
    organisation_id = fields.String(allow_none=True)
    date = fields.Date()
    slot = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    status = fields.String()
    created_at = fields.AwareDateTime()


class BookingListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0))
    relay_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(("confirmed", "cancelled")))


class BookingConfirmedSchema(Schema):
    """Data of ``booking.confirmed``: all billing and notify need, no look-ups."""
    booking_id = fields.String(required=True)
    relay_id = fields.String(required=True)
    relay_name = fields.String(required=True)
    space_id = fields.String(required=True)
    space_name = fields.String(required=True)
    space_kind = fields.String(required=True)
    member_id = fields.String(required=True)
    organisation_id = fields.String(allow_none=True, required=True)
    date = fields.Date(required=True)
    slot = fields.String(required=True)
    half_days = fields.Integer(required=True)
    timezone = fields.String(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    local_starts_at = fields.String(required=True)
    local_ends_at = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)


class RelayCreatedSchema(Schema):
    """Data of ``booking.relay_created``."""
    relay_id = fields.String(required=True)
    name = fields.String(required=True)
    commune = fields.String(required=True)
    postcode = fields.String(required=True)
    timezone = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
