"""Use cases of booking a space: book (a given space, or any free one at a
relay), cancel, check in, read bookings. Every state change emits its event
through the outbox in the same transaction."""
from calendar import monthrange
from dataclasses import dataclass, fields, make_dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    bindparam, delete, func, literal, null, or_, select, text, true, union_all,
)
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import joinedload

from common import errors
from common.db import ADVISORY_LOCK, core_execute, new_id
from common.validation import is_uuid
from contracts.vocabulary import PRIVATE_SPACE_KINDS
from services.booking import blocks, check_in_codes, directory, lifecycle, programmes, slots
from services.booking.models import (
    Booking, CheckInFailure, Member, OpeningHours, OrganisationPolicy, Relay, Space,
    SpaceSession,
)
from services.booking.policy import Policy, PolicyRefused, policy_for

# Which exclusion constraint refused a booking says what the member should hear.
CONSTRAINT_CONFLICTS = {
    "no_double_booking_of_space": ("space-taken", "This space is already booked for that time."),
    "no_double_booking_of_member": ("member-already-booked",
                                    "You already have a booking at that time."),
}
# "Any desk at this relay": how many free candidates to try before giving up
# (each try that loses a race to another client moves on to the next desk).
ANY_SPACE_ATTEMPTS = 8

BOOKING_LOADS = (joinedload(Booking.space), joinedload(Booking.relay))


def facts(booking):
    """The data every booking.* event carries (booking.space and .relay loaded)."""
    tz = ZoneInfo(booking.relay.timezone)
    times = slots.SlotTimes(booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz))
    return {
        "booking_id": booking.id, "relay_id": booking.relay_id, "relay_name": booking.relay.name,
        "relay_address": booking.relay.postal_address,
        "space_id": booking.space_id, "space_name": booking.space.name,
        "space_kind": booking.space.kind, "member_id": booking.member_id,
        "organisation_id": booking.organisation_id, "series_id": booking.series_id,
        "programme_id": booking.programme_id,
        "date": booking.date, "slot": booking.slot,
        "half_days": slots.half_days_of(booking.slot, times.duration_minutes),
        "timezone": booking.relay.timezone, "starts_at": times.starts_at,
        "ends_at": times.ends_at, "local_starts_at": times.local_starts_at.isoformat(),
        "local_ends_at": times.local_ends_at.isoformat(),
        "duration_minutes": times.duration_minutes,
        "local_release_at": (booking.no_show_at.astimezone(tz).isoformat()
                             if booking.no_show_at is not None else None),
        "block_id": booking.block_id,
    }


def emit(uow, event_type, booking, **extra):
    uow.publish(event_type, dict(facts(booking), **extra))


def refused(refusal):
    """A domain refusal as the error the caller sees: calendar rules are bad
    input (422), the organisation's policy forbids (403)."""
    if isinstance(refusal, PolicyRefused):
        return errors.Forbidden(refusal.detail, code=refusal.rule)
    return errors.InvalidInput(refusal.detail, code=refusal.rule,
                               fields={"date": [refusal.detail]})


# -- projections read when booking ------------------------------------------------

def policy_of(session, organisation_id):
    row = session.get(OrganisationPolicy, organisation_id) if organisation_id else None
    return policy_from(row)


def policy_from(row):
    if row is None:
        return Policy()
    return Policy(row.allowed_relays, frozenset(row.relay_ids or ()), row.radius_km,
                  row.max_days_per_month, row.booking_horizon_days,
                  frozenset(row.space_kinds) if row.space_kinds is not None else None,
                  row.monthly_budget_cents, row.budget_per or "organisation")


# What ``book`` reads of a member and of the organisation's policy: Core
# columns, not ORM entities (loading two entities into the identity map cost
# more than the statement).
_members, _policies = Member.__table__, OrganisationPolicy.__table__
POLICY_COLUMNS = ("organisation_id", "allowed_relays", "relay_ids", "radius_km",
                  "max_days_per_month", "booking_horizon_days", "space_kinds",
                  "monthly_budget_cents", "budget_per")


@dataclass(frozen=True, slots=True)
class MemberOfBooking:
    """The member as ``book`` reads it (booking's projection of identity's user)."""
    user_id: str
    deactivated_at: object
    home_latitude: float | None
    home_longitude: float | None
    group_policies: list
    programmes: list
    resident_commune: str | None
    resident_postcode: str | None


# The columns read are the record's fields, in its order.
MEMBER_COLUMNS = tuple(field.name for field in fields(MemberOfBooking))


def _member_and_policy_statement(with_organisation):
    one = select(literal(1).label("one")).subquery()
    return (select(*(_members.c[name] for name in MEMBER_COLUMNS),
                   *(_policies.c[name] for name in POLICY_COLUMNS)).select_from(one)
            .outerjoin(_members, _members.c.user_id == bindparam("user_id"))
            .outerjoin(_policies, _policies.c.organisation_id == bindparam("organisation_id")
                       if with_organisation else literal(False)))


# The booking path's statements are built once, with bound parameters: building
# a statement and its cache key cost about as much CPU as running it.
MEMBER_AND_POLICY = {True: _member_and_policy_statement(True),
                     False: _member_and_policy_statement(False)}


def member_and_policy(session, user_id, organisation_id):
    """(member or None, Policy) in one round trip: both rows are outer-joined
    to a single constant row, so a missing one comes back as NULLs."""
    return member_and_policy_of(core_execute(
        session, MEMBER_AND_POLICY[bool(organisation_id)],
        {"user_id": user_id, "organisation_id": organisation_id}).one())


def member_and_policy_of(row):
    """(member or None, Policy) from a row holding ``MEMBER_AND_POLICY``'s columns."""
    member = (MemberOfBooking(*(getattr(row, name) for name in MEMBER_COLUMNS))
              if row.user_id is not None else None)
    policy = policy_from(row if row.organisation_id is not None else None)
    return member, policy_for(policy, member.group_policies if member is not None else None)


def days_booked_in_month(session, member_id, day):
    first = day.replace(day=1)
    last = day.replace(day=monthrange(day.year, day.month)[1])
    return set(session.execute(
        select(Booking.date).distinct()
        .where(Booking.member_id == member_id, Booking.date.between(first, last),
               Booking.status.in_(lifecycle.ACTIVE_STATUSES))).scalars())


def member_lock(member_id):
    """The key of the advisory lock that makes one member's bookings one at a
    time, so that two concurrent requests cannot both take the last day the
    policy allows (``book`` takes it with its idempotency claim when it has
    a key: ``service.book_once``)."""
    return f"booking-member:{member_id}"


def booker_lock(caller, data):
    """``member_lock`` of the member booking: what ``book`` and
    ``book_series`` have ``idempotent`` take with the key's claim."""
    return member_lock(caller.user_id)


def lock_member(session, member_id):
    """The member's lock, for what must wait for their bookings (a
    deactivation: ``projections``)."""
    advisory_lock(session, member_lock(member_id))


def advisory_lock(session, key):
    """A lock on ``key`` held until the transaction ends."""
    core_execute(session, ADVISORY_LOCK, {"key": key})


# Bookings that spend a monthly budget: those that happen or were paid for
# anyway (a late cancellation is billed); an in-time cancellation gives it back.
SPENDING = or_(Booking.status.in_(("confirmed", "checked_in", "completed", "no_show")),
               (Booking.status == "cancelled") & Booking.late_cancellation.is_(True))


def lock_budget(session, policy, organisation_id):
    """Bookings against one budget are checked one at a time, so that two
    concurrent ones cannot both pass the last euro. A member's budget is
    already serialised by the member's lock (``book`` holds it)."""
    if policy.budget_per != "member":
        advisory_lock(session, f"booking-budget:{organisation_id}")


def spent_in_month(session, policy, organisation_id, member_id, day):
    """What the budget has spent in ``day``'s month: the prices stored on its
    bookings (a booking made when no budget applied counts 0)."""
    first = day.replace(day=1)
    last = day.replace(day=monthrange(day.year, day.month)[1])
    whose = Booking.member_id == member_id if policy.budget_per == "member" \
        else Booking.organisation_id == organisation_id
    # SUM of a bigint is a numeric in PostgreSQL: money stays integer cents here.
    return int(session.execute(
        select(func.coalesce(func.sum(Booking.price_cents), 0))
        .where(whose, Booking.date.between(first, last), SPENDING)).scalar_one())


def check_programmes(session, member, relay, kind, day, times):
    """The programme a resident books under (``programmes.choose``), or None
    for a member without programmes. Its monthly hours and days are read under
    the member's lock (``book`` holds it): two racing bookings of one resident
    cannot both take the last hour."""
    if member is None or not member.programmes:
        return None

    def usage_of(programme):
        if programme.max_hours_per_month is None and programme.max_days_per_month is None:
            return 0, frozenset()
        return programme_usage_in_month(session, member.user_id, programme.programme_id, day)
    return programmes.choose(
        [programmes.Programme.from_rules(rules) for rules in member.programmes], usage_of,
        relay_id=relay.id, space_kind=kind, day=day, commune=member.resident_commune,
        postcode=member.resident_postcode, minutes=times.duration_minutes)


def programme_usage_in_month(session, member_id, programme_id, day):
    """(minutes, dates) of a resident's bookings under a programme in ``day``'s
    month that the programme pays for: the same as a budget's (no-shows and
    late cancellations included)."""
    first = day.replace(day=1)
    last = day.replace(day=monthrange(day.year, day.month)[1])
    rows = session.execute(
        select(Booking.date, Booking.starts_at, Booking.ends_at)
        .where(Booking.member_id == member_id, Booking.programme_id == programme_id,
               Booking.date.between(first, last), SPENDING)).all()
    minutes = sum(int((row.ends_at - row.starts_at).total_seconds()) // 60 for row in rows)
    return minutes, frozenset(row.date for row in rows)


def check_budget(session, caller, policy, quote, relay, kind, data, times):
    """The price of the booking (billing's quote; an unpriced booking costs 0)
    if the policy has a monthly budget and it fits, else PolicyRefused; None
    when there is no budget (and billing is not asked). Called after every
    other check; takes the budget's lock after the quote, so it is held only
    for the sum and the insert."""
    if policy.monthly_budget_cents is None or not caller.organisation_id:
        return None
    price = quote({"organisation_id": caller.organisation_id, "relay_id": relay.id,
                   "space_kind": kind, "date": data["date"].isoformat(),
                   "slot": data.get("slot", slots.HOURS),
                   "duration_minutes": times.duration_minutes})
    price_cents = price["price_cents"] if price["priced"] else 0
    lock_budget(session, policy, caller.organisation_id)
    policy.check_budget(data["date"], price_cents, spent_in_month(
        session, policy, caller.organisation_id, caller.user_id, data["date"]))
    return price_cents


# -- book ---------------------------------------------------------------------------

def book(uow, caller, data, now, series_id=None, quote=None, ask_home=None):
    """Book under two locks, so nothing committed meanwhile is missed: the
    member's (a deactivation, or another booking against the policy), then
    the relay's row FOR SHARE (a closure or a change of opening hours, which
    lock it FOR UPDATE, waits for this booking or is seen by it); and under a
    monthly budget, the budget's (``check_budget``). ``quote(request)`` is
    billing's price of a booking (asked only when a budget applies);
    ``ask_home(caller)`` is identity's policy home of the member, asked only
    under a radius policy when booking has not heard of one yet."""
    caller.require("member")
    session = uow.session
    uow.advisory_lock(member_lock(caller.user_id))  # held already if taken with the claim
    member, policy, relay, space, kind = target_of(session, caller, data)
    if kind == "desk" and "slot" not in data:
        raise errors.InvalidInput("A desk is booked by slot: morning, afternoon or day.",
                                  code="desk-by-slot", fields={"slot": ["Required for a desk."]})
    if kind != "desk" and "slot" in data:
        raise errors.InvalidInput("A room is booked by the hour: give start and end.",
                                  code="room-by-hours", fields={"start": ["Required for a room."]})
    calendar = calendar_on(session, relay, data["date"])
    try:
        times = slots.requested_times(calendar, data["date"], data.get("slot", slots.HOURS),
                                      data.get("start"), data.get("end"))
        slots.check_bookable(times, relay.timezone, now, policy.horizon_days,
                             policy.horizon_detail())
        if space is not None and kind != "desk":
            # A desk never has sessions (set_space_sessions refuses them), so
            # a desk's are not read: a round trip less. A room's are read here,
            # after the relay's lock, which a change of sessions takes too.
            slots.check_session(sessions_of(session, space), data.get("start"), data.get("end"))
        home = (member.home_latitude, member.home_longitude) \
            if member is not None and member.home_latitude is not None else None
        if home is None and policy.measures_from_home and ask_home is not None:
            # Saved a moment ago, its identity.profile_changed may be on its way.
            home = ask_home(caller)
        # The month's days are read only when the policy caps them.
        days_booked = (frozenset() if policy.max_days_per_month is None
                       else days_booked_in_month(session, caller.user_id, data["date"]))
        local_today = now.astimezone(ZoneInfo(relay.timezone)).date()
        policy.check(relay_id=relay.id, relay_point=(relay.latitude, relay.longitude),
                     home_point=home, space_kind=kind, day=data["date"],
                     days_booked=days_booked,
                     days_ahead=(times.local_starts_at.date() - local_today).days)
        programme = check_programmes(session, member, relay, kind, data["date"], times)
        price_cents = check_budget(session, caller, policy, quote or no_quote, relay, kind,
                                   data, times)
    except (slots.SlotRefused, PolicyRefused) as refusal:
        raise refused(refusal) from None
    booking = NewBooking(id=new_id(), relay_id=relay.id, member_id=caller.user_id,
                         series_id=series_id, organisation_id=caller.organisation_id,
                         date=data["date"], slot=data.get("slot", slots.HOURS),
                         starts_at=times.starts_at, ends_at=times.ends_at, status="confirmed",
                         no_show_at=lifecycle.no_show_due_at(kind, times.starts_at, now,
                                                             relay.no_show_after_minutes),
                         price_cents=price_cents, created_at=now, updated_at=now,
                         programme_id=programme.programme_id if programme else None,
                         relay=relay)
    if space is not None:
        insert(uow, booking, space)
    else:
        insert_into_any_free_space(uow, booking, relay, kind, times, data)
    emit(uow, "booking.confirmed", booking)
    return booking


# -- what a booking reads of its relay and space: Core rows and plain records ------
#
# Not ORM entities: loading a space, its relay and the relay's opening hours as
# entities (identity map, instance state, the joined collection's
# de-duplication) cost about a millisecond of CPU a booking, more than the
# statements themselves. The records carry what ``facts``, ``calendar_of``, the
# policy check and the reply read, under the same names as the entities.

_relays, _spaces, _hours = Relay.__table__, Space.__table__, OpeningHours.__table__
_sessions = SpaceSession.__table__
HOURS_COLUMNS = ("weekday", "morning_opens", "morning_closes", "afternoon_opens",
                 "afternoon_closes")


@dataclass(frozen=True, slots=True)
class RelayOfBooking:
    """A relay as a booking reads it; ``opening_hours`` (rows with a weekday
    and its hours, what ``directory.calendar_of`` reads) are read after its
    lock (``calendar_on``)."""
    id: str
    name: str
    address: str
    postcode: str
    commune: str
    department: str
    latitude: float
    longitude: float
    timezone: str
    closed_on_public_holidays: bool
    no_show_after_minutes: int | None
    opening_hours: tuple = ()

    postal_address = Relay.postal_address


@dataclass(frozen=True, slots=True)
class SpaceOfBooking:
    id: str
    relay_id: str
    kind: str
    name: str


# The columns read are the records' fields, in their order (the opening hours
# are read apart, after the relay's lock).
RELAY_COLUMNS = tuple(field.name for field in fields(RelayOfBooking)
                      if field.name != "opening_hours")
SPACE_COLUMNS = tuple(field.name for field in fields(SpaceOfBooking))


def _relay_statement(with_space, with_organisation):
    """The relay's row FOR SHARE (``book``'s second lock); the space's columns
    when booking a given one; and the member and the organisation's policy
    (``MEMBER_AND_POLICY``'s one row, cross-joined): one row, or none.

    The member and policy are read in this statement, not one of their own (a
    round trip less), because what they must not miss is serialised by the
    member's lock, taken by the statement before (``member_lock``): this
    statement's snapshot is taken after it was granted, so a deactivation or a
    change of the member's policies committed meanwhile is seen. What this
    statement may wait for (the relay's lock) guards the relay's opening
    hours, closures, sessions and blocks, which are read by later statements
    (``calendar_on``, ``sessions_of``, ``blocks.check_places``)."""
    relay_columns = [_relays.c[name] for name in RELAY_COLUMNS]
    member_and_policy = _member_and_policy_statement(with_organisation).subquery("member_policy")
    if with_space:
        statement = (select(*(_spaces.c[name].label(f"space_{name}") for name in SPACE_COLUMNS),
                            *relay_columns, *member_and_policy.c)
                     .select_from(_spaces.join(_relays, _relays.c.id == _spaces.c.relay_id))
                     .where(_spaces.c.id == bindparam("space_id")))
    else:
        statement = (select(*relay_columns, *member_and_policy.c)
                     .select_from(_relays).where(_relays.c.id == bindparam("relay_id")))
    return statement.join(member_and_policy, true()).with_for_update(read=True, of=_relays)


# {(a given space?, an organisation?): statement}
TARGET_FOR_SHARE = {(with_space, with_organisation): _relay_statement(with_space,
                                                                      with_organisation)
                    for with_space in (True, False) for with_organisation in (True, False)}
RELAY_HAS_KIND = select(literal(1)).where(_spaces.c.relay_id == bindparam("relay_id"),
                                          _spaces.c.kind == bindparam("kind")).limit(1)
# A room's sessions, read after the relay's lock, which a change of sessions takes too.
SESSIONS_OF_SPACE = (select(_sessions.c.name, _sessions.c.start, _sessions.c.end)
                     .where(_sessions.c.space_id == bindparam("space_id"))
                     .order_by(_sessions.c.start))


def relay_of(row):
    """The relay of the row of a ``TARGET_FOR_SHARE`` statement."""
    return RelayOfBooking(*(getattr(row, name) for name in RELAY_COLUMNS))


def _calendar_statement():
    """A relay's opening hours (rows with a weekday) and its closures touching
    :day (rows with a reason), in one round trip."""
    closures = directory.CLOSURES_BETWEEN.selected_columns
    hours = (select(*(_hours.c[name] for name in HOURS_COLUMNS),
                    *(null().label(name) for name in ("starts_on", "ends_on", "reason")))
             .where(_hours.c.relay_id == bindparam("relay_id")))
    closed = (select(*(null().label(name) for name in HOURS_COLUMNS),
                     closures.starts_on, closures.ends_on, closures.reason)
              .where(closures.relay_id == bindparam("relay_id"),
                     closures.starts_on <= bindparam("day"), closures.ends_on >= bindparam("day")))
    return union_all(hours, closed)


CALENDAR_ON_DAY = _calendar_statement()


def calendar_on(session, relay, day):
    """The relay's calendar as it stands for ``day``: its opening hours and
    closures, read after the relay's lock FOR SHARE (``target_of``) that a
    change of either takes FOR UPDATE, so neither can be missed. (Read in
    the locking statement, they would come from a snapshot taken before the
    lock was granted.)"""
    rows = core_execute(session, CALENDAR_ON_DAY, {"relay_id": relay.id, "day": day}).all()
    return directory.calendar_of(
        replace(relay, opening_hours=[row for row in rows if row.weekday is not None]),
        [row for row in rows if row.reason is not None])


def no_quote(request):
    raise errors.Unavailable("Prices cannot be checked against the monthly budget now.",
                             code="budget-unavailable")


def target_of(session, caller, data):
    """(member or None, policy, relay, space or None, kind) of a booking
    request, in one statement (``TARGET_FOR_SHARE``); the relay's row is
    locked FOR SHARE until the booking commits (see ``book``). A deactivated
    member is refused first, then an unknown space or relay."""
    params = {"user_id": caller.user_id, "organisation_id": caller.organisation_id}
    with_organisation = bool(caller.organisation_id)
    if "space_id" in data:
        rows = core_execute(session, TARGET_FOR_SHARE[True, with_organisation],
                            dict(params, space_id=str(data["space_id"]))).all()
    else:
        relay_id = str(data["relay_id"])
        rows = core_execute(session, TARGET_FOR_SHARE[False, with_organisation],
                            dict(params, relay_id=relay_id)).all() if is_uuid(relay_id) else []
    member, policy = (member_and_policy_of(rows[0]) if rows else
                      member_and_policy(session, caller.user_id, caller.organisation_id))
    if member is not None and member.deactivated_at is not None:
        raise errors.Forbidden("Your account is deactivated.", code="member-deactivated")
    if "space_id" in data:
        if not rows:
            raise errors.NotFound(f"No space {data['space_id']}.",
                                  fields={"space_id": ["Unknown space."]})
        space = SpaceOfBooking(*(getattr(rows[0], f"space_{name}") for name in SPACE_COLUMNS))
        return member, policy, relay_of(rows[0]), space, space.kind
    if not rows:
        raise errors.NotFound(f"No relay {data['relay_id']}.",
                              fields={"relay_id": ["Unknown relay."]})
    kind = data.get("kind", "desk")
    if core_execute(session, RELAY_HAS_KIND, {"relay_id": relay_id, "kind": kind}).first() is None:
        raise errors.NotFound(f"This relay has no {kind.replace('_', ' ')}.",
                              code="no-such-space", fields={"kind": ["None at this relay."]})
    return member, policy, relay_of(rows[0]), None, kind


def sessions_of(session, space):
    """A room's sessions as ``slots.check_session`` reads them."""
    return [tuple(row) for row in core_execute(session, SESSIONS_OF_SPACE, {"space_id": space.id})]


# Every column of a new booking, in the order of the table.
BOOKING_COLUMNS = tuple(column.key for column in Booking.__table__.columns)
# Its parameters are named apart (``booking_id``...), as the statement it is
# carried by at commit wants (``UnitOfWork.write_at_commit``).
INSERT_BOOKING = Booking.__table__.insert().values(
    {name: bindparam(f"booking_{name}") for name in BOOKING_COLUMNS})
# A booking ``book`` writes, as a plain record: every column of the row (None
# unless set) and the ``space`` and ``relay`` records that ``facts`` and the
# reply read, as they read a loaded ``Booking``.
NewBooking = make_dataclass(
    "NewBooking", [(name, object, None) for name in BOOKING_COLUMNS + ("space", "relay")],
    kw_only=True, slots=True)


def insert(uow, booking, space):
    """Insert; the database's exclusion constraints are what refuse a double
    booking. A refusal leaves the transaction failed: the caller rolls back
    (the unit of work, or the savepoint of a try that may move on).

    The row is written by a Core INSERT of the values ``book`` already holds
    (the ORM's flush cost more than the statement): ``booking`` is a plain
    record of what was written (``NewBooking``). Outside a savepoint the
    INSERT goes with the outbox row and the idempotent response, in the
    statement written before the commit (``UnitOfWork.write_at_commit``: a
    round trip less), still under the space's row lock (``check_places``);
    a refusal by a constraint is then raised from there, as the same
    Conflict."""
    booking.space_id, booking.space = space.id, space
    booking.block_id = blocks.check_places(uow.session, booking, space.id)
    uow.write_at_commit(INSERT_BOOKING, {f"booking_{name}": getattr(booking, name)
                                         for name in BOOKING_COLUMNS},
                        refusal=double_booking_refused)


def double_booking_refused(exc):
    """The Conflict a member hears when an exclusion constraint refused the
    booking's INSERT (``exc``, an IntegrityError); nothing for another error."""
    constraint = getattr(exc.orig.diag, "constraint_name", None)
    if constraint in CONSTRAINT_CONFLICTS:
        code, detail = CONSTRAINT_CONFLICTS[constraint]
        raise errors.Conflict(detail, code=code) from None


def insert_into_any_free_space(uow, booking, relay, kind, times, data):
    """The service picks the space: the free ones in name order (whose
    sessions, if any, the hours fit; not held by another organisation's block;
    those of the member's own block first), skipping any another transaction
    is claiming right now (SKIP LOCKED); if one turns out taken after all (a
    race the lock did not see), try the next."""
    fits_sessions = text(directory.fits_sessions_sql("spaces")).bindparams(
        local_start=data.get("start"), local_end=data.get("end"))
    when = {"organisation_id": booking.organisation_id, "now": booking.created_at,
            "starts_at": times.starts_at, "ends_at": times.ends_at}
    not_held_by_others = text("NOT " + blocks.held_by_others_sql("spaces")).bindparams(**when)
    held_for_member_first = text(blocks.held_for_sql("spaces") + " DESC").bindparams(
        organisation_id=booking.organisation_id, starts_at=times.starts_at,
        ends_at=times.ends_at)
    taken = select(Booking.id).where(
        Booking.space_id == _spaces.c.id, Booking.status.in_(lifecycle.ACTIVE_STATUSES),
        func.tstzrange(Booking.starts_at, Booking.ends_at).op("&&")(
            func.tstzrange(times.starts_at, times.ends_at))).exists()
    session = uow.session
    candidates = (select(*(_spaces.c[name] for name in SPACE_COLUMNS))
                  .where(_spaces.c.relay_id == relay.id, _spaces.c.kind == kind, ~taken,
                         fits_sessions, not_held_by_others)
                  .order_by(held_for_member_first, _spaces.c.name).limit(1))
    for _ in range(ANY_SPACE_ATTEMPTS):
        row = session.execute(candidates.with_for_update(skip_locked=True)).first()
        if row is None:
            # Every free one is locked: booking a given space locks it while
            # checking blocks (blocks.check_places), and such a booking may
            # well be refused. Wait for one rather than say none is free.
            row = session.execute(candidates.with_for_update()).first()
        if row is None:
            break
        space = SpaceOfBooking(*row)
        try:
            with session.begin_nested():
                insert(uow, booking, space)
            return
        except errors.Conflict as conflict:
            if conflict.code != "space-taken":
                raise
    label = kind.replace("_", " ") if kind != "meeting_room" else "room"
    raise errors.Conflict(f"No {label} is free at this relay for that time.",
                          code="no-space-free")


# -- cancel, check in ---------------------------------------------------------------

def locked_booking(session, caller, booking_id):
    booking = None
    if is_uuid(booking_id):
        booking = session.execute(
            select(Booking).options(*BOOKING_LOADS).where(Booking.id == booking_id)
            .with_for_update(of=Booking)).scalar_one_or_none()
    if booking is None or not can_see(caller, booking):
        raise errors.NotFound(f"No booking {booking_id}.")
    return booking


def cancelled_by(caller, booking):
    """The capacity in which the caller cancels, or Forbidden."""
    if booking.member_id == caller.user_id:
        return "member"
    if caller.has("relay_manager") and booking.relay_id in caller.relay_ids:
        return "relay_manager"
    if caller.has("corporate_admin") and booking.organisation_id == caller.organisation_id:
        return "corporate_admin"
    if caller.is_network_admin:
        return "network_admin"
    raise errors.Forbidden("You may see this booking but not cancel it.")


def cancel(uow, caller, booking_id, reason, now):
    booking = locked_booking(uow.session, caller, booking_id)
    by = cancelled_by(caller, booking)
    if booking.space.kind in PRIVATE_SPACE_KINDS and by in ("member", "corporate_admin"):
        # What a booth's booker writes may be about their health: not kept,
        # so it reaches no view, event or webhook (a relay's reason is kept).
        reason = None
    if by in ("relay_manager", "network_admin") and not reason:
        raise errors.InvalidInput("Say why the relay cancels this booking.", code="reason-required",
                                  fields={"reason": ["Required when a relay cancels."]})
    return cancel_booking(uow, booking, by, reason, now)


def cancel_booking(uow, booking, by, reason, now):
    """Cancel a locked booking (space and relay loaded); cancelling twice is a no-op."""
    try:
        if not lifecycle.check_cancellable(booking.status, booking.ends_at, now):
            return booking
    except lifecycle.TransitionRefused as refusal:
        raise errors.Conflict(refusal.detail, code=refusal.rule) from None
    booking.status = "cancelled"
    booking.cancelled_at = booking.updated_at = now
    booking.cancelled_by = by
    booking.cancellation_reason = reason
    booking.late_cancellation = lifecycle.is_late_cancellation(booking.starts_at, now, by)
    uow.session.flush()
    emit(uow, "booking.cancelled", booking, late=booking.late_cancellation, cancelled_at=now,
         cancelled_by=by, reason=reason)
    return booking


class CountedRefusal(Exception):
    """A refusal whose count must be kept: the caller commits the unit of
    work, then raises ``error``."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def check_in(uow, caller, booking_id, code, now):
    """Check a booking in: its member with the relay's code of the day, or the
    relay's manager without one. The time window is checked first, so a code
    is only ever compared inside it (outside, a right and a wrong code get the
    same answer); every wrong or missing code gets one answer, and each wrong
    one is counted per member, relay and day (a CountedRefusal: committed, then
    raised). After MAX_WRONG_CODES_A_DAY only the manager checks them in."""
    booking = locked_booking(uow.session, caller, booking_id)
    if caller.has("relay_manager") and booking.relay_id in caller.relay_ids:
        by = "relay_manager"
    elif booking.member_id == caller.user_id:
        by = "member"
    else:
        raise errors.Forbidden("Only the member or the relay's manager checks in.")
    try:
        if not lifecycle.check_check_in(booking.status, booking.starts_at, booking.ends_at, now):
            return booking
    except lifecycle.TransitionRefused as refusal:
        raise errors.Conflict(refusal.detail, code=refusal.rule) from None
    if by == "member":
        _check_code(uow, booking, code, now)
    booking.status = "checked_in"
    booking.checked_in_at = booking.updated_at = now
    booking.checked_in_by = by
    uow.session.flush()
    emit(uow, "booking.checked_in", booking, checked_in_at=now, checked_in_by=by)
    return booking


def _check_code(uow, booking, code, now):
    relay = booking.relay
    day = directory.local_today(relay, now)
    failures = _failures_of_day(uow.session, booking.member_id, relay.id, day)
    if not check_in_codes.may_try(failures.failures):
        raise errors.TooManyAttempts(
            "Too many wrong check-in codes at this relay today: the relay's reception can "
            "check you in.", code="check-in-attempts-exhausted")
    if check_in_codes.matches(code, relay.check_in_secret, day):
        return
    refusal = errors.InvalidInput(
        "That is not this relay's check-in code of the day (it is shown at the relay's "
        "reception).", code="wrong-check-in-code",
        fields={"code": ["Wrong or missing check-in code."]})
    if not code:
        raise refusal  # nothing guessed: not counted, same answer
    failures.failures += 1
    uow.session.execute(delete(CheckInFailure).where(
        CheckInFailure.day < day - timedelta(days=check_in_codes.KEEP_FAILURES_DAYS)))
    uow.session.flush()
    raise CountedRefusal(refusal)


def _failures_of_day(session, member_id, relay_id, day):
    """The member's count at this relay today, locked: concurrent guesses queue."""
    session.execute(upsert(CheckInFailure).values(
        member_id=member_id, relay_id=relay_id, day=day, failures=0).on_conflict_do_nothing())
    return session.execute(select(CheckInFailure).where(
        CheckInFailure.member_id == member_id, CheckInFailure.relay_id == relay_id,
        CheckInFailure.day == day).with_for_update()).scalar_one()


# -- read -------------------------------------------------------------------------

def get_booking(session, caller, booking_id):
    booking = None
    if is_uuid(booking_id):
        booking = session.execute(select(Booking).options(*BOOKING_LOADS)
                                  .where(Booking.id == booking_id)).scalar_one_or_none()
    if booking is None or not can_see(caller, booking):
        raise errors.NotFound(f"No booking {booking_id}.")
    return booking


def can_see(caller, booking):
    return (booking.member_id == caller.user_id
            or caller.sees_whole_network
            or (caller.has("corporate_admin") and booking.organisation_id == caller.organisation_id)
            or (caller.has("relay_manager") and booking.relay_id in caller.relay_ids))


def visible_to(statement, caller):
    """Restrict a query on bookings to the caller's scope."""
    if caller.sees_whole_network:
        return statement
    visible = [Booking.member_id == caller.user_id]
    if caller.has("corporate_admin") and caller.organisation_id:
        visible.append(Booking.organisation_id == caller.organisation_id)
    if caller.has("relay_manager") and caller.relay_ids:
        visible.append(Booking.relay_id.in_(caller.relay_ids))
    return statement.where(or_(*visible))


def list_bookings(session, caller, query):
    """The caller's own bookings; admins see their scope (network, organisation, relays)."""
    statement = visible_to(select(Booking).options(*BOOKING_LOADS), caller)
    for name in ("relay_id", "member_id", "series_id"):
        if name in query:
            statement = statement.where(getattr(Booking, name) == str(query[name]))
    if "status" in query:
        statement = statement.where(Booking.status.in_(query["status"]))
    if "start" in query:
        statement = statement.where(Booking.date >= query["start"])
    if "end" in query:
        statement = statement.where(Booking.date <= query["end"])
    statement = statement.order_by(Booking.starts_at.desc(), Booking.id)
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()
