"""Booking's RPCs: what they accept and return. The gateway validates HTTP
bodies and query strings with the same schemas and documents them. (Its event
payloads are in ``contracts.events.booking``.)"""
from datetime import timedelta
from zoneinfo import ZoneInfo, available_timezones

from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema,
)

from common.schemas import LAST_DATE, JsonBoolean, PageQuerySchema, bounded_date, month_field
from contracts.vocabulary import (
    ACCESSIBILITY, ALWAYS_FEATURES_BY_KIND, BLOCK_BILLING, BOOKING_STATUSES,
    DEFAULT_BLOCK_RELEASE_HOURS, ONE_SEAT_SPACE_KINDS,
    RELAY_SERVICES, SLOTS, SPACE_FEATURES, SPACE_FEATURES_BY_KIND, SPACE_KINDS, WEEKDAYS,
)

DEPARTMENT = validate.Regexp(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-8]|98[6-8])$",
                             error="A French department code: 01–95, 2A, 2B, 971–978, 986–988.")
SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="A lower-case word, e.g. dual_monitor.")
# Listed in full (an enum) so the OpenAPI document says which names it takes.
TIME_ZONES = validate.OneOf(sorted(available_timezones()), error="Unknown IANA time zone "
                            "(e.g. Europe/Paris, America/Cayenne).")


class CommaList(fields.Field):
    """A query-string list: ``?service=fablab,cafe`` (spaces and empty items
    ignored, at least one choice); the OpenAPI document gets it as a pattern."""

    def __init__(self, choices, **kwargs):
        choice = "(" + "|".join(choices) + ")"
        metadata = {"type": "string", "pattern": rf"^(\s*,)*\s*{choice}\s*(,\s*({choice}\s*)?)*$",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("A comma-separated list.")
        items = [item.strip() for item in value.split(",") if item.strip()]
        unknown = [item for item in items if self.choices and item not in self.choices]
        if unknown or not items:
            raise ValidationError(f"Choose among: {', '.join(self.choices or ())}.")
        return items

    def _serialize(self, value, attr, obj, **kwargs):
        return ",".join(value) if value else None


# -- directory ----------------------------------------------------------------

class PeriodSchema(Schema):
    opens = fields.Time(required=True, format="%H:%M", metadata={"example": "08:30"})
    closes = fields.Time(required=True, format="%H:%M", metadata={"example": "12:30"})

    @validates_schema
    def in_order(self, data, **kwargs):
        if data["opens"] >= data["closes"]:
            raise ValidationError("A period closes after it opens.", "closes")


class DayHoursSchema(Schema):
    morning = fields.Nested(PeriodSchema, load_default=None, allow_none=True)
    afternoon = fields.Nested(PeriodSchema, load_default=None, allow_none=True)

    @validates_schema
    def coherent(self, data, **kwargs):
        if not data.get("morning") and not data.get("afternoon"):
            raise ValidationError("Give a morning, an afternoon, or both (leave a closed "
                                  "weekday out).")
        if data.get("morning") and data.get("afternoon") and \
                data["morning"]["closes"] > data["afternoon"]["opens"]:
            raise ValidationError("The morning ends before the afternoon starts.", "afternoon")


def opening_hours_field(**kwargs):
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.Nested(DayHoursSchema), metadata={
            "description": "Per weekday (monday ... sunday); a weekday left out is closed. "
                           "Local times of the relay. Default: Monday–Friday 08:30–12:30, "
                           "13:30–18:00.",
            "example": {"monday": {"morning": {"opens": "08:30", "closes": "12:30"},
                                   "afternoon": {"opens": "13:30", "closes": "18:00"}},
                        "saturday": {"morning": {"opens": "09:00", "closes": "12:00"}}}},
        **kwargs)


class ContactSchema(Schema):
    email = fields.Email(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^\+?[0-9 .()-]{6,20}$", error="A phone number, e.g. +33 5 55 00 00 00."))
    website = fields.String(load_default=None, allow_none=True, validate=[
        validate.Length(max=2000),
        validate.Regexp(r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]{1,5})?([/?#][!-~]*)?$",
                        error="A web address, e.g. https://relais.example.")])


class RelayFieldsSchema(Schema):
    """What an admin or a relay manager says about a relay."""
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.String(required=True, validate=validate.Length(1, 500))
    postcode = fields.String(required=True, validate=validate.Regexp(
        r"^\d{5}$", error="A French postcode has five digits."))
    commune = fields.String(required=True, validate=validate.Length(1, 200))
    department = fields.String(validate=DEPARTMENT, metadata={
        "description": "Defaults to the postcode's department; decides the public holidays."})
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    timezone = fields.String(required=True, validate=TIME_ZONES,
                             metadata={"example": "Europe/Paris"})
    opening_hours = opening_hours_field()
    closed_on_public_holidays = JsonBoolean(metadata={
        "description": "Closed on the public holidays of its department (default true)."})
    services = fields.List(fields.String(validate=validate.OneOf(RELAY_SERVICES)))
    accessibility = fields.List(fields.String(validate=validate.OneOf(ACCESSIBILITY)))
    accessibility_notes = fields.String(allow_none=True, validate=validate.Length(max=1000))
    contact = fields.Nested(ContactSchema)
    managers = fields.List(fields.String(validate=validate.Length(1, 200)),
                           metadata={"description": "Names shown to visitors."})
    no_show_after_minutes = fields.Integer(allow_none=True, validate=validate.Range(5, 240),
                                           metadata={"description": "A desk nobody checked in to "
                                                     "is released this long after its start "
                                                     "(default 30; null: never)."})


class RelayCreateSchema(RelayFieldsSchema):
    pass


class RelayUpdateSchema(RelayFieldsSchema):
    """PATCH: any subset of the fields; opening_hours replaces the whole week."""
    rotate_check_in_code = JsonBoolean(metadata={
        "description": "A new check-in code (managers see it in the day view)."})

    def __init__(self, **kwargs):
        # Partial at the top only, by name: ``partial=True`` would reach into the
        # nested opening hours and let ``{"morning": {}}`` through half-checked.
        kwargs.setdefault("partial", tuple(self._declared_fields))
        super().__init__(**kwargs)


class SpaceSessionSchema(Schema):
    """A session a relay defines for a space (e.g. "Matin" 09:00–11:00): when
    a space has sessions, it is booked for one of them and at no other time."""
    name = fields.String(required=True, validate=validate.Length(1, 60))
    start = fields.Time(required=True, format="%H:%M", metadata={"example": "09:00"})
    end = fields.Time(required=True, format="%H:%M", metadata={"example": "11:00"})

    @validates_schema
    def in_order(self, data, **kwargs):
        if {"start", "end"} <= set(data):
            minutes = (data["end"].hour * 60 + data["end"].minute
                       - data["start"].hour * 60 - data["start"].minute)
            # The rule of any booking by the hour (services/booking/slots.py).
            if minutes < 60 or minutes % 30:
                raise ValidationError("A session lasts at least an hour, in half-hour steps.",
                                      "end")


class SpaceSessionsSchema(Schema):
    """PUT: the space's sessions, replaced whole; an empty list: booked by the hour."""
    sessions = fields.List(fields.Nested(SpaceSessionSchema), required=True,
                           validate=validate.Length(max=12))

    @validates_schema
    def apart(self, data, **kwargs):
        sessions = sorted(data.get("sessions", ()), key=lambda s: s["start"])
        if len({s["name"] for s in sessions}) != len(sessions):
            raise ValidationError("Each session has its own name.", "sessions")
        for before, after in zip(sessions, sessions[1:]):
            if before["end"] > after["start"]:
                raise ValidationError(f"{before['name']} and {after['name']} overlap.",
                                      "sessions")


class SpaceSchema(Schema):
    id = fields.String(dump_only=True)
    relay_id = fields.String(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(SPACE_KINDS), metadata={
        "description": "desk (by slot); meeting_room, teleconsultation_booth (one person, "
                       "soundproof, private), visio_room, study_room (by the hour, or by "
                       "the space's sessions)."})
    name = fields.String(required=True, validate=validate.Length(1, 100))
    capacity = fields.Integer(load_default=1, validate=validate.Range(1, 500))
    amenities = fields.List(fields.String(validate=SLUG), load_default=list,
                            metadata={"example": ["standing_desk", "whiteboard"]})
    features = fields.List(fields.String(validate=validate.OneOf(SPACE_FEATURES)),
                           load_default=list, metadata={
                               "description": "What the space offers, among those its kind "
                                              "may offer (a booth is always soundproof; only "
                                              "a study room is exam_suitable).",
                               "example": ["screen"]})
    sessions = fields.List(fields.Nested(SpaceSessionSchema), dump_only=True, metadata={
        "description": "Set by PUT /v1/spaces/{space_id}/sessions; empty: by the hour."})

    @validates_schema
    def fits_its_kind(self, data, **kwargs):
        kind = data.get("kind")
        if kind in ONE_SEAT_SPACE_KINDS and data.get("capacity", 1) != 1:
            raise ValidationError(f"A {kind.replace('_', ' ')} seats one person.", "capacity")
        offered = SPACE_FEATURES_BY_KIND.get(kind, SPACE_FEATURES)
        unfit = [f for f in data.get("features", ()) if f not in offered]
        if unfit:
            raise ValidationError(f"A {(kind or 'space').replace('_', ' ')} offers only: "
                                  f"{', '.join(offered)}.", "features")

    @post_load
    def with_what_its_kind_always_has(self, data, **kwargs):
        always = ALWAYS_FEATURES_BY_KIND.get(data["kind"], ())
        data["features"] = sorted(set(data["features"]) | set(always))
        return data


class ClosureSchema(Schema):
    id = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "null for a public holiday (nothing to remove)."})
    relay_id = fields.String(dump_only=True)
    starts_on = bounded_date(required=True)
    ends_on = bounded_date(required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 300))
    kind = fields.String(dump_only=True, metadata={"description": "closure or public_holiday"})
    cancelled_bookings = fields.Integer(dump_only=True)

    @validates_schema
    def in_order(self, data, **kwargs):
        if data["starts_on"] > data["ends_on"]:
            raise ValidationError("A closure ends on or after its first day.", "ends_on")
        if (data["ends_on"] - data["starts_on"]).days > 366:
            raise ValidationError("A closure lasts a year at most.", "ends_on")


class ClosureQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = bounded_date(metadata={"description": "Default: today (relay's date)."})
    days = fields.Integer(load_default=90, validate=validate.Range(1, 366))


class RelaySchema(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    postcode = fields.String()
    commune = fields.String()
    department = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    timezone = fields.String()
    opening_hours = fields.Method("dump_opening_hours")
    closed_on_public_holidays = fields.Boolean()
    services = fields.List(fields.String())
    accessibility = fields.List(fields.String())
    accessibility_notes = fields.String(allow_none=True)
    contact = fields.Method("dump_contact")
    managers = fields.List(fields.String())
    no_show_after_minutes = fields.Integer(allow_none=True)
    distance_km = fields.Float(metadata={"description": "Only in a search near a point."})
    spaces = fields.List(fields.Nested(SpaceSchema))
    week = fields.Raw(metadata={"description": "A relay's page: its next 7 days, what is "
                                               "open and what is free."})
    created_at = fields.AwareDateTime()

    def dump_opening_hours(self, relay):
        return {
            WEEKDAYS[row.weekday]: {
                half: ({"opens": getattr(row, half + "_opens").strftime("%H:%M"),
                        "closes": getattr(row, half + "_closes").strftime("%H:%M")}
                       if getattr(row, half + "_opens") else None)
                for half in ("morning", "afternoon")}
            for row in relay.opening_hours}

    def dump_contact(self, relay):
        return {"email": relay.contact_email, "phone": relay.contact_phone,
                "website": relay.website}


class RelayListQuerySchema(PageQuerySchema):
    postcode_prefix = fields.String(validate=validate.Regexp(r"^\d{2,5}$"))
    department = fields.String(validate=DEPARTMENT)
    service = CommaList(choices=RELAY_SERVICES, metadata={
        "description": "Relays offering all of these, comma-separated."})
    latitude = fields.Float(validate=validate.Range(-90, 90))
    longitude = fields.Float(validate=validate.Range(-180, 180))
    radius_km = fields.Float(load_default=50, validate=validate.Range(0.1, 2000))

    @validates_schema
    def a_point_has_two_coordinates(self, data, **kwargs):
        if ("latitude" in data) != ("longitude" in data):
            raise ValidationError("Give both latitude and longitude.",
                                  "longitude" if "latitude" in data else "latitude")


class WeekQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = bounded_date(metadata={"description": "First day; default today (relay's date)."})


class DayQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    date = bounded_date(metadata={"description": "Default: today (relay's date)."})


# -- availability and bookings -----------------------------------------------

class SlotOrHoursSchema(Schema):
    """A slot (desks) or hours (other kinds) of a day."""
    slot = fields.String(validate=validate.OneOf(SLOTS), metadata={
        "description": "Desks: morning, afternoon or day."})
    start = fields.Time(format="%H:%M", metadata={
        "description": "Rooms: local start time (with end).", "example": "14:00"})
    end = fields.Time(format="%H:%M", metadata={"example": "16:00"})

    @validates_schema
    def slot_or_hours(self, data, **kwargs):
        has_hours = "start" in data or "end" in data
        if "slot" in data and has_hours:
            raise ValidationError("Give a slot (desks) or start and end (rooms), not both.", "slot")
        if not has_hours and "slot" not in data:
            raise ValidationError("Give a slot (desks) or start and end (rooms).", "slot")
        if has_hours and not ("start" in data and "end" in data):
            raise ValidationError("Give both start and end.", "end" if "start" in data else "start")
        if has_hours and data["start"] >= data["end"]:
            raise ValidationError("The end comes after the start.", "end")


class WhenSchema(SlotOrHoursSchema):
    """A slot (desks) or hours (rooms) on a relay-local date."""
    date = bounded_date(required=True, metadata={"example": "2026-12-01"})


class AvailabilityQuerySchema(WhenSchema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(load_default="desk", validate=validate.OneOf(SPACE_KINDS))
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    radius_km = fields.Float(load_default=30, validate=validate.Range(0.1, 500))
    min_capacity = fields.Integer(load_default=1, validate=validate.Range(1, 500))
    service = CommaList(choices=RELAY_SERVICES)
    feature = CommaList(choices=SPACE_FEATURES, metadata={
        "description": "Spaces offering all of these, comma-separated (e.g. exam_suitable)."})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class RelaySummarySchema(RelaySchema):
    class Meta:
        exclude = ("spaces", "week")


class AvailableRelaySchema(Schema):
    relay = fields.Nested(RelaySummarySchema)
    distance_km = fields.Float()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    local_starts_at = fields.String()
    local_ends_at = fields.String()
    free_spaces = fields.List(fields.Nested(SpaceSchema))


class BookingTargetSchema(WhenSchema):
    space_id = fields.UUID(metadata={"description": "This space; or give relay_id."})
    relay_id = fields.UUID(metadata={"description": "Any free space of `kind` at this relay."})
    kind = fields.String(validate=validate.OneOf(SPACE_KINDS), metadata={
        "description": "With relay_id (default desk)."})

    @validates_schema(skip_on_field_errors=False)  # say it even when other fields are wrong
    def space_or_relay(self, data, **kwargs):
        if ("space_id" in data) == ("relay_id" in data):
            raise ValidationError("Give a space_id, or a relay_id for any free space there.",
                                  "space_id")
        if "kind" in data and "space_id" in data:
            raise ValidationError("kind goes with relay_id.", "kind")


class BookingCreateSchema(BookingTargetSchema):
    pass


class BookingSchema(Schema):
    id = fields.String()
    space_id = fields.String()
    space_name = fields.Function(lambda b: b.space.name)
    space_kind = fields.Function(lambda b: b.space.kind)
    relay_id = fields.String()
    relay_name = fields.Function(lambda b: b.relay.name)
    series_id = fields.String(allow_none=True)
    member_id = fields.String()
    organisation_id = fields.String(allow_none=True)
    date = bounded_date()
    slot = fields.String(metadata={"description": "morning, afternoon, day, or hours (rooms)"})
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    timezone = fields.Function(lambda b: b.relay.timezone)
    local_starts_at = fields.Method("dump_local_starts_at")
    local_ends_at = fields.Method("dump_local_ends_at")
    status = fields.String(metadata={"description": ", ".join(BOOKING_STATUSES)})
    release_at = fields.AwareDateTime(attribute="no_show_at", allow_none=True, metadata={
        "description": "A desk not checked in to by then is released (no-show)."})
    checked_in_at = fields.AwareDateTime(allow_none=True)
    checked_in_by = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancellation_reason = fields.String(allow_none=True)
    late_cancellation = fields.Boolean(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    block_id = fields.String(allow_none=True, metadata={
        "description": "The block of reserved capacity it was booked in, if any."})
    created_at = fields.AwareDateTime()

    def dump_local_starts_at(self, booking):
        return booking.starts_at.astimezone(ZoneInfo(booking.relay.timezone)).isoformat()

    def dump_local_ends_at(self, booking):
        return booking.ends_at.astimezone(ZoneInfo(booking.relay.timezone)).isoformat()


class BlockCreateSchema(SlotOrHoursSchema):
    """A block of spaces a relay holds for an organisation (a company or a
    programme), agreed with its manager: every ``weekday`` from ``date`` to
    ``ends_on``, the ``slot`` (desks) or ``start``–``end`` (other kinds)."""
    starts_on = bounded_date(required=True, metadata={
        "description": "First day of the period (the first held day is the first "
                       "`weekday` on or after it)."})
    ends_on = bounded_date(required=True, metadata={"description": "Last day, included."})
    organisation_id = fields.UUID(required=True, metadata={"description": "The holder."})
    space_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(1, 50),
                            metadata={"description": "Spaces of this relay, of one kind."})
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    release_hours = fields.Integer(load_default=DEFAULT_BLOCK_RELEASE_HOURS,
                                   validate=validate.Range(1, 720), metadata={
        "description": "Unused places are released to everyone this long before they start."})
    billing = fields.String(required=True, validate=validate.OneOf(BLOCK_BILLING), metadata={
        "description": "whole: a fixed price each month of the period (its bookings are "
                       "included); per_use: its bookings are billed like any other."})
    monthly_price_cents = fields.Integer(strict=True, allow_none=True, load_default=None,
                                         validate=validate.Range(0, 10_000_000), metadata={
        "description": "Excl. VAT, in cents; required when billing is whole."})

    @validates_schema
    def coherent(self, data, **kwargs):
        if {"starts_on", "ends_on"} <= set(data):
            if data["ends_on"] < data["starts_on"]:
                raise ValidationError("The period ends on or after its first day.", "ends_on")
            if (data["ends_on"] - data["starts_on"]).days > 366:
                raise ValidationError("A block lasts a year at most.", "ends_on")
        whole = data.get("billing") == "whole"
        if whole != (data.get("monthly_price_cents") is not None):
            raise ValidationError("A monthly price goes with whole billing, and only with it.",
                                  "monthly_price_cents")
        if len(set(data.get("space_ids", ()))) != len(data.get("space_ids", ())):
            raise ValidationError("Each space once.", "space_ids")


class BlockSchema(Schema):
    id = fields.String()
    relay_id = fields.String()
    organisation_id = fields.String()
    space_ids = fields.List(fields.String())
    space_kind = fields.String()
    weekday = fields.String()
    slot = fields.String(metadata={"description": "morning, afternoon, day, or hours"})
    start = fields.Time(format="%H:%M", attribute="local_start")
    end = fields.Time(format="%H:%M", attribute="local_end")
    starts_on = bounded_date()
    ends_on = bounded_date()
    release_hours = fields.Integer()
    billing = fields.String()
    monthly_price_cents = fields.Integer(allow_none=True)
    places = fields.Integer(metadata={"description": "Space-days held (closed days left out)."})
    cancelled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class BlockListQuerySchema(PageQuerySchema):
    relay_id = fields.UUID()
    organisation_id = fields.UUID()


class BookingListQuerySchema(PageQuerySchema):
    relay_id = fields.UUID()
    member_id = fields.UUID()
    series_id = fields.UUID()
    status = CommaList(choices=BOOKING_STATUSES)
    start = bounded_date(metadata={"description": "Bookings on or after this date."})
    end = bounded_date(metadata={"description": "Bookings on or before this date."})


class CancelSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500),
                           metadata={"description": "Required when a relay manager cancels."})


class CheckInSchema(Schema):
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 20),
                         metadata={"description": "The relay's check-in code (members)."})


class SeriesCreateSchema(BookingTargetSchema):
    every_weeks = fields.Integer(load_default=1, validate=validate.Range(1, 4))
    occurrences = fields.Integer(required=True, validate=validate.Range(2, 52))

    @validates_schema
    def ends_in_the_date_window(self, data, **kwargs):
        if {"date", "every_weeks", "occurrences"} <= set(data):
            last = data["date"] + timedelta(weeks=data["every_weeks"] * (data["occurrences"] - 1))
            if last > LAST_DATE:
                raise ValidationError(f"The series would end after {LAST_DATE}.", "occurrences")


class SeriesOccurrenceSchema(Schema):
    date = fields.String(metadata={"format": "date"})
    outcome = fields.String(metadata={"description": "booked or refused"})
    booking_id = fields.String(allow_none=True)
    rule = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)


class SeriesSchema(Schema):
    id = fields.String()
    member_id = fields.String()
    request = fields.Dict()
    occurrences = fields.List(fields.Nested(SeriesOccurrenceSchema), attribute="report")
    booked = fields.Function(lambda s: sum(o["outcome"] == "booked" for o in s.report))
    bookings = fields.List(fields.Nested(BookingSchema))
    created_at = fields.AwareDateTime()


class SeriesCancelSchema(CancelSchema):
    start = bounded_date(load_default=None, allow_none=True, metadata={
        "description": "Cancel the occurrences on or after this date (default: all to come)."})


class SeriesCancelledSchema(Schema):
    series_id = fields.String()
    cancelled = fields.List(fields.Nested(BookingSchema))


class CalendarFeedSchema(Schema):
    url = fields.String(metadata={"description": "Subscribe to it; shown only once."})
    created_at = fields.AwareDateTime()


# -- manager and corporate views --------------------------------------------

class OccupancySchema(Schema):
    date = bounded_date()
    open = fields.Boolean()
    closed_because = fields.String(allow_none=True)
    desks = fields.Integer()
    desk_half_days_booked = fields.Integer()
    desk_half_days_open = fields.Integer()
    desk_occupancy = fields.Float(allow_none=True)
    room_hours_booked = fields.Float()
    room_hours_open = fields.Float()
    room_occupancy = fields.Float(allow_none=True)
    checked_in = fields.Integer()
    no_shows = fields.Integer()


class ArrivalSchema(BookingSchema):
    member_name = fields.String(allow_none=True)
    member_email = fields.String(allow_none=True, metadata={
        "description": "null for a private booth."})
    private = fields.Boolean(metadata={
        "description": "A tele-consultation booth: shown as \"private booth, booked\" and "
                       "the person's name, never a purpose (none is kept)."})
    shown_as = fields.Function(lambda b: "private booth, booked" if b.private else None,
                               allow_none=True)


class RelayDaySchema(Schema):
    relay_id = fields.String()
    date = bounded_date()
    check_in_code = fields.String()
    occupancy = fields.Nested(OccupancySchema)
    arrivals = fields.List(fields.Nested(ArrivalSchema))


class RelayWeekSchema(Schema):
    relay_id = fields.String()
    start = bounded_date()
    days = fields.List(fields.Nested(OccupancySchema))


class OrganisationUsageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    month = month_field(metadata={
        "example": "2026-12", "description": "Default: this month in Europe/Paris, the "
                                             "network's billing calendar."})


class MemberUsageSchema(Schema):
    member_id = fields.String()
    member_name = fields.String(allow_none=True)
    days_booked = fields.Integer()
    half_days = fields.Integer()
    late_cancellations = fields.Integer()
    no_shows = fields.Integer()
    bookings = fields.List(fields.Nested(BookingSchema))


class OrganisationUsageSchema(Schema):
    organisation_id = fields.String()
    month = fields.String()
    max_days_per_month = fields.Integer(allow_none=True)
    members = fields.List(fields.Nested(MemberUsageSchema))


class ProgrammeUsageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    month = month_field(required=True)
    programme_id = fields.UUID(metadata={
        "description": "Network staff name the programme; its admins read their own."})


class ProgrammeRelayUsageSchema(Schema):
    relay_id = fields.String()
    relay_name = fields.String()
    people = fields.Integer(metadata={"description": "Residents who booked there."})
    bookings = fields.Integer()
    hours = fields.Float()
    no_shows = fields.Integer()


class ProgrammePersonUsageSchema(Schema):
    member_id = fields.String()
    member_name = fields.String(allow_none=True)
    bookings = fields.Integer()
    hours = fields.Float()


class ProgrammeUsageSchema(Schema):
    """What a programme paid for in a month: the bookings made under it that
    count (as its invoice does: no-shows and late cancellations included)."""
    programme_id = fields.String()
    month = fields.String()
    relays = fields.List(fields.Nested(ProgrammeRelayUsageSchema))
    people = fields.List(fields.Nested(ProgrammePersonUsageSchema), allow_none=True, metadata={
        "description": "Per person only if the programme's rules allow it (per_person_reports); "
                       "else null."})


class OpenClosureSchema(Schema):
    starts_on = bounded_date()
    ends_on = bounded_date()
    reason = fields.String()


class RelayHealthSchema(Schema):
    """One relay's figures over the last 7 and 30 days (network_health.py)."""
    relay_id = fields.String()
    name = fields.String()
    department = fields.String(allow_none=True)
    bookings_7d = fields.Integer()
    bookings_30d = fields.Integer()
    desk_occupancy_7d = fields.Float(allow_none=True, metadata={
        "description": "Desk half-days booked over open; absent for corporate admins."})
    desk_occupancy_30d = fields.Float(allow_none=True)
    no_show_rate_7d = fields.Float(allow_none=True)
    no_show_rate_30d = fields.Float(allow_none=True)
    late_cancellation_rate_7d = fields.Float(allow_none=True)
    late_cancellation_rate_30d = fields.Float(allow_none=True)
    distinct_members_7d = fields.Integer()
    distinct_members_30d = fields.Integer()
    last_booking_at = fields.AwareDateTime(allow_none=True)
    last_manager_action_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "A closure or space added, a booking checked in or cancelled by a "
                       "relay manager; absent for corporate admins."})
    open_closures = fields.List(fields.Nested(OpenClosureSchema))
    inactive_14_days = fields.Boolean(metadata={
        "description": "No booking made or held in the last 14 days."})


class NetworkHealthSchema(Schema):
    as_of = bounded_date()
    relays = fields.List(fields.Nested(RelayHealthSchema))


class UnmetDemandQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    from_month = month_field(required=True, metadata={"example": "2026-09"})
    to_month = month_field(required=True, metadata={"example": "2026-12"})

    @validates_schema
    def in_order(self, data, **kwargs):
        if data.get("from_month", "") > data.get("to_month", "9999"):
            raise ValidationError("from_month comes after to_month.", "to_month")


class UnmetDemandRowSchema(Schema):
    department = fields.String(allow_none=True)
    month = fields.String()
    kind = fields.String()
    searches = fields.Integer(metadata={"description": "Searches that found no free space."})
    refused_bookings = fields.Integer(metadata={
        "description": "Bookings refused because no space was free."})


class UnmetDemandSchema(Schema):
    from_month = fields.String()
    to_month = fields.String()
    rows = fields.List(fields.Nested(UnmetDemandRowSchema))


class ImpactQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    month = month_field(required=True)
    by = fields.String(load_default="relay", validate=validate.OneOf(
        ("relay", "department", "organisation", "member")), metadata={
        "description": "member: a corporate admin's own employees only."})


class ImpactAuditQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    month = month_field(required=True)


class WhoBenefitsSchema(Schema):
    month = fields.String()
    rows = fields.List(fields.Dict(), metadata={
        "description": "Per relay (relay_id, relay_name, commune, department) and audience "
                       "(all, corporate_employee, freelancer, resident, student, patient, "
                       "other): people, first_visit_share, median_distance_km, "
                       "distance_unknown (people without a home); cells of fewer than 5 "
                       "people are blanked (suppressed: true)."})


class ImpactReportSchema(Schema):
    month = fields.String()
    by = fields.String()
    factors_version = fields.String()
    rows = fields.List(fields.Dict(), metadata={
        "description": "The group's label, then people, days, bookings, "
                       "bookings_without_profile, km_avoided, kg_co2e_avoided; cells of "
                       "fewer than 5 people are blanked (suppressed: true), except per member."})
