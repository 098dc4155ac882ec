"""Use cases of reserved capacity (reserved_capacity.py has the rules): a
relay's manager or a network admin holds a block of spaces for an
organisation; its admins see it; bookings of a held space are checked
against its places.

The no-double-booking guarantee covers blocks: a block's places and the
bookings of a space are written only under that space's row lock (``FOR
UPDATE``), and each side checks the other under it: a booking refuses a
place another organisation still holds (``check_places``), a block refuses a
day already booked or held (``create_block``). Between bookings, the
exclusion constraint on ``bookings`` still decides. ``create_block`` also
locks the relay's row FOR UPDATE, which every booking takes FOR SHARE: that
alone already serialises a block with the relay's bookings (and keeps them
from deadlocking on the spaces' locks, which a booking of "any desk" may take
out of id order), so the space lock is a second guard, not the only one.
"""
from sqlalchemy import bindparam, or_, select, text

from common import errors
from common.db import core_execute
from common.validation import is_uuid
from services.booking import directory, lifecycle, reserved_capacity, slots
from services.booking.models import Block, BlockPlace, Booking
from contracts.vocabulary import WEEKDAYS

LOCK_SPACES = text("SELECT id FROM spaces WHERE id = ANY(CAST(:space_ids AS uuid[])) "
                   "ORDER BY id FOR UPDATE")
# Core columns (every booking of a given space reads it): no ORM layer to go through.
_places, _blocks = BlockPlace.__table__, Block.__table__
PLACES_OVERLAPPING = (
    select(_places.c.block_id, _blocks.c.organisation_id, _places.c.release_at)
    .select_from(_places.join(_blocks, _blocks.c.id == _places.c.block_id))
    .where(_places.c.space_id == bindparam("space_id"), _blocks.c.cancelled_at.is_(None),
           _places.c.starts_at < bindparam("ends_at"), _places.c.ends_at > bindparam("starts_at")))


def lock_spaces(session, space_ids):
    """Take the spaces' row locks, in id order (no deadlock between two blocks)."""
    core_execute(session, LOCK_SPACES, {"space_ids": sorted(space_ids)})


def check_places(session, booking, space_id):
    """The block ``booking`` (not written yet) falls in, or None; Conflict
    ``space-reserved`` while another organisation's block holds the space
    then. Takes the space's row lock, kept until the booking commits."""
    lock_spaces(session, [space_id])
    places = [reserved_capacity.Place(*row) for row in core_execute(session, PLACES_OVERLAPPING, {
        "space_id": space_id, "starts_at": booking.starts_at, "ends_at": booking.ends_at})]
    try:
        return reserved_capacity.block_of_booking(places, booking.organisation_id,
                                                  booking.created_at)
    except reserved_capacity.PlaceRefused as refusal:
        raise errors.Conflict(
            "This space is held for a block of reserved capacity at that time; unused, it is "
            f"released to everyone at {refusal.release_at.isoformat()}.",
            code=refusal.rule) from None


def held_by_others_sql(space, starts_at=":starts_at", ends_at=":ends_at"):
    """SQL true when another organisation than :organisation_id still holds
    the space (its alias or table name) between ``starts_at`` and ``ends_at``
    at :now: the "any space" pick and the search leave it out (the rule of
    reserved_capacity.block_of_booking, for many spaces at once)."""
    return (f"EXISTS (SELECT 1 FROM block_places bp JOIN blocks bl ON bl.id = bp.block_id"
            f" WHERE bp.space_id = {space}.id AND bl.cancelled_at IS NULL"
            f" AND bl.organisation_id IS DISTINCT FROM CAST(:organisation_id AS uuid)"
            f" AND bp.release_at > :now"
            f" AND bp.starts_at < {ends_at} AND bp.ends_at > {starts_at})")


def held_for_sql(space):
    """SQL true when :organisation_id's own block has a place on the space
    then: its members get those spaces first."""
    return (f"EXISTS (SELECT 1 FROM block_places bp JOIN blocks bl ON bl.id = bp.block_id"
            f" WHERE bp.space_id = {space}.id AND bl.cancelled_at IS NULL"
            f" AND bl.organisation_id = CAST(:organisation_id AS uuid)"
            f" AND bp.starts_at < :ends_at AND bp.ends_at > :starts_at)")


# -- create, list, cancel -----------------------------------------------------------

def create_block(uow, caller, relay_id, data, now):
    """Hold the spaces every weekday of the period; the days the relay is
    closed, or already over, are left out. Refused whole if one place is
    already booked or held by another block (409 ``block-space-taken``)."""
    session = uow.session
    relay = directory.managed_relay(session, caller, relay_id, for_update=True)
    space_ids = [str(space_id) for space_id in data["space_ids"]]
    spaces = {space.id: space for space in relay.spaces}
    unknown = [space_id for space_id in space_ids if space_id not in spaces]
    if unknown:
        raise errors.NotFound(f"No space {unknown[0]} at this relay.",
                              fields={"space_ids": ["Unknown space at this relay."]})
    kinds = {spaces[space_id].kind for space_id in space_ids}
    kind = kinds.pop()
    if kinds:
        raise errors.InvalidInput("A block holds spaces of one kind.", code="block-kinds",
                                  fields={"space_ids": ["Spaces of one kind."]})
    if (kind == "desk") != ("slot" in data):
        raise errors.InvalidInput(
            "A block of desks gives a slot; of other spaces, start and end.",
            code="desk-by-slot" if kind == "desk" else "room-by-hours",
            fields={"slot": ["Slot for desks, start and end for the others."]})
    lock_spaces(session, space_ids)
    times = times_of_days(session, relay, data, now)
    if not times:
        raise errors.InvalidInput("The relay is closed on every one of those days.",
                                  code="block-empty", fields={"ends_on": ["No open day."]})
    check_free(session, relay.id, space_ids, times)
    first = next(iter(times.values()))
    block = Block(relay_id=relay.id, organisation_id=str(data["organisation_id"]),
                  space_ids=space_ids, space_kind=kind, weekday=data["weekday"],
                  slot=data.get("slot", slots.HOURS),
                  local_start=first.local_starts_at.time(), local_end=first.local_ends_at.time(),
                  starts_on=data["starts_on"], ends_on=data["ends_on"],
                  release_hours=data["release_hours"], billing=data["billing"],
                  monthly_price_cents=data["monthly_price_cents"],
                  places=len(times) * len(space_ids), created_by=caller.user_id, created_at=now)
    session.add(block)
    session.flush()
    session.add_all([
        BlockPlace(block_id=block.id, space_id=space_id, date=day, starts_at=t.starts_at,
                   ends_at=t.ends_at,
                   release_at=reserved_capacity.release_at(t.starts_at, block.release_hours))
        for day, t in times.items() for space_id in space_ids])
    session.flush()
    uow.publish("booking.block_created", dict(
        block_fields(block), block_id=block.id, timezone=relay.timezone))
    return block


def block_fields(block):
    return {"relay_id": block.relay_id, "organisation_id": block.organisation_id,
            "space_ids": block.space_ids, "space_kind": block.space_kind,
            "weekday": block.weekday, "slot": block.slot,
            "local_start": block.local_start.strftime("%H:%M"),
            "local_end": block.local_end.strftime("%H:%M"),
            "starts_on": block.starts_on, "ends_on": block.ends_on,
            "release_hours": block.release_hours, "billing": block.billing,
            "monthly_price_cents": block.monthly_price_cents, "places": block.places}


def times_of_days(session, relay, data, now):
    """{day: SlotTimes} of the block's open days still to come."""
    days = reserved_capacity.block_days(WEEKDAYS.index(data["weekday"]), data["starts_on"],
                                        data["ends_on"])
    if not days:
        return {}
    calendar = directory.calendar_of(relay, directory.closures_between(
        session, [relay.id], days[0], days[-1]).get(relay.id, []))
    times = {}
    for day in days:
        try:
            found = slots.requested_times(calendar, day, data.get("slot", slots.HOURS),
                                          data.get("start"), data.get("end"))
        except slots.SlotRefused:
            continue  # closed that day (a holiday, a closure): nothing to hold
        if found.ends_at > now:
            times[day] = found
    return times


def check_free(session, relay_id, space_ids, times):
    """Refuse a block over a place already booked, or held by another block."""
    first, last = min(times), max(times)
    booked = session.execute(
        select(Booking.space_id, Booking.date, Booking.starts_at, Booking.ends_at)
        # by the relay's days (ix_bookings_relay_id_date): bookings have no
        # index on the space alone (booking_0012)
        .where(Booking.relay_id == relay_id, Booking.date.between(first, last),
               Booking.space_id.in_(space_ids),
               Booking.status.in_(lifecycle.ACTIVE_STATUSES))).all()
    held = session.execute(
        select(BlockPlace.space_id, BlockPlace.date, BlockPlace.starts_at, BlockPlace.ends_at)
        .join(Block, Block.id == BlockPlace.block_id)
        .where(BlockPlace.space_id.in_(space_ids), BlockPlace.date.between(first, last),
               Block.cancelled_at.is_(None))).all()
    taken = sorted({str(day) for _, day, starts_at, ends_at in booked + held
                    if day in times and starts_at < times[day].ends_at
                    and ends_at > times[day].starts_at})
    if taken:
        raise errors.Conflict(f"Already booked or held on {', '.join(taken[:5])}: hold the "
                              "other spaces, or start the block later.",
                              code="block-space-taken")


def visible_blocks(caller):
    """The blocks the caller may see: network staff all; a relay's manager
    their relays'; the holder's corporate admins their organisation's."""
    statement = select(Block)
    if caller.sees_whole_network:
        return statement
    visible = []
    if caller.has("relay_manager") and caller.relay_ids:
        visible.append(Block.relay_id.in_(caller.relay_ids))
    if caller.has("corporate_admin") and caller.organisation_id:
        visible.append(Block.organisation_id == caller.organisation_id)
    if not visible:
        raise errors.Forbidden("Blocks are for relay managers and their holders' admins.")
    return statement.where(or_(*visible))


def list_blocks(session, caller, query):
    statement = visible_blocks(caller)
    for name in ("relay_id", "organisation_id"):
        if name in query:
            statement = statement.where(getattr(Block, name) == str(query[name]))
    statement = statement.order_by(Block.starts_on.desc(), Block.id)
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()


def cancel_block(uow, caller, block_id, now):
    """The relay's manager (or a network admin) ends a block: its places to
    come are free at once. Cancelling twice is a no-op."""
    block = uow.session.get(Block, block_id, with_for_update=True) if is_uuid(block_id) else None
    if block is None or not directory.can_manage(caller, block.relay_id):
        raise errors.NotFound(f"No block {block_id}.")
    if block.cancelled_at is None:
        block.cancelled_at = now
        uow.session.flush()
        uow.publish("booking.block_cancelled", {
            "block_id": block.id, "relay_id": block.relay_id,
            "organisation_id": block.organisation_id, "cancelled_at": now})
    return block
