"""Use cases of booking a space: book, read one's bookings."""
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from common import errors
from common.validation import is_uuid
from services.booking import slots
from services.booking.models import Booking, Space
from services.booking.schemas import BookingConfirmedSchema

BOOKING_HORIZON_DAYS = 90

# Which exclusion constraint refused a booking says what the member should hear.
CONSTRAINT_CONFLICTS = {
    "no_double_booking_of_space": ("space-taken", "This space is already booked for that slot."),
    "no_double_booking_of_member": ("member-already-booked",
                                    "You already have a booking at that time."),
}

_confirmed_schema = BookingConfirmedSchema()


def opening_hours(relay):
    return slots.OpeningHours(relay.morning_opens, relay.morning_closes,
                              relay.afternoon_opens, relay.afternoon_closes,
                              frozenset(relay.open_weekdays))


def book(uow, caller, data, now):
    caller.require("member")
    space = uow.session.execute(
        select(Space).options(joinedload(Space.relay)).where(Space.id == str(data["space_id"]))
    ).scalar_one_or_none()
    if space is None:
        raise errors.NotFound(f"No space {data['space_id']}.", fields={"space_id": ["Unknown space."]})
    relay = space.relay
    try:
        times = slots.check_bookable(data["date"], data["slot"], opening_hours(relay),
                                     relay.timezone, now, BOOKING_HORIZON_DAYS)
    except slots.SlotRefused as refusal:
        raise errors.InvalidInput(refusal.detail, code=refusal.rule,
                                  fields={"date": [refusal.detail]}) from None
    booking = Booking(space_id=space.id, relay_id=relay.id, member_id=caller.user_id,
                      organisation_id=caller.organisation_id, date=data["date"],
                      slot=data["slot"], starts_at=times.starts_at, ends_at=times.ends_at,
                      status="confirmed")
    uow.session.add(booking)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        constraint = getattr(exc.orig.diag, "constraint_name", None)
        if constraint not in CONSTRAINT_CONFLICTS:
            raise
        code, detail = CONSTRAINT_CONFLICTS[constraint]
        raise errors.Conflict(detail, code=code) from None
    uow.emit("booking.confirmed", _confirmed_schema.dump({
        "booking_id": booking.id, "relay_id": relay.id, "relay_name": relay.name,
        "space_id": space.id, "space_name": space.name, "space_kind": space.kind,
        "member_id": booking.member_id, "organisation_id": booking.organisation_id,
        "date": booking.date, "slot": booking.slot, "half_days": slots.HALF_DAYS[booking.slot],
        "timezone": relay.timezone, "starts_at": times.starts_at, "ends_at": times.ends_at,
        "local_starts_at": times.local_starts_at.isoformat(),
        "local_ends_at": times.local_ends_at.isoformat(),
        "duration_minutes": times.duration_minutes,
    }))
    return booking


def get_booking(session, caller, booking_id):
    booking = session.get(Booking, booking_id) if is_uuid(booking_id) else None
    if booking is None or not can_see(caller, booking):
        raise errors.NotFound(f"No booking {booking_id}.")
    return booking


def can_see(caller, booking):
    return (booking.member_id == caller.user_id
            or caller.sees_whole_network
            or (caller.has("corporate_admin") and booking.organisation_id == caller.organisation_id)
            or (caller.has("relay_manager") and booking.relay_id in caller.relay_ids))


def list_bookings(session, caller, query):
    """The caller's own bookings; admins see their scope (network, organisation, relays)."""
    statement = select(Booking).order_by(Booking.starts_at.desc(), Booking.id)
    if not caller.sees_whole_network:
        visible = [Booking.member_id == caller.user_id]
        if caller.has("corporate_admin"):
            visible.append(Booking.organisation_id == caller.organisation_id)
        if caller.has("relay_manager") and caller.relay_ids:
            visible.append(Booking.relay_id.in_(caller.relay_ids))
        statement = statement.where(or_(*visible))
    if "relay_id" in query:
        statement = statement.where(Booking.relay_id == str(query["relay_id"]))
    if "status" in query:
        statement = statement.where(Booking.status == query["status"])
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()
