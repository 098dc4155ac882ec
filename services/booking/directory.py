"""Use cases of the relay directory: relays, their opening hours, closures and
spaces; the public search by proximity, service and department; a relay's page."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from common import errors
from common.validation import is_uuid
from services.booking import check_in_codes, geo, lifecycle
from services.booking.models import Booking, Closure, OpeningHours, Relay, Space, SpaceSession
from services.booking.public_holidays import department_of_postcode, public_holidays
from services.booking.slots import (
    DEFAULT_WEEK, SLOTS, WEEKDAYS, DayHours, RelayCalendar, SlotRefused, slot_times,
)
from services.booking import slots as slot_rules

RELAY_LOADS = (selectinload(Relay.spaces), selectinload(Relay.opening_hours))


# -- mapping between rows and the domain's calendar -----------------------------

def day_hours(row):
    return DayHours(
        (row.morning_opens, row.morning_closes) if row.morning_opens else None,
        (row.afternoon_opens, row.afternoon_closes) if row.afternoon_opens else None)


def calendar_of(relay, closures=()):
    return RelayCalendar(
        timezone=relay.timezone, department=relay.department,
        weekly={row.weekday: day_hours(row) for row in relay.opening_hours},
        closed_on_public_holidays=relay.closed_on_public_holidays,
        closures=tuple(slot_rules.Closure(c.starts_on, c.ends_on, c.reason) for c in closures))


# Built once (a booking reads it): building a statement costs as much CPU as
# running it. Core rows, not ORM entities: a booking pays for neither the
# entities nor the identity map (the calendar reads four attributes).
_closures = Closure.__table__
CLOSURES_BETWEEN = select(*_closures.c).where(
    _closures.c.relay_id.in_(bindparam("relay_ids", expanding=True)),
    _closures.c.starts_on <= bindparam("last_day"), _closures.c.ends_on >= bindparam("first_day"))


def closures_between(session, relay_ids, first_day, last_day):
    """{relay_id: [closure row]} of the closures touching [first_day, last_day]."""
    found = {}
    if not relay_ids:
        return found
    for closure in session.execute(CLOSURES_BETWEEN, {
            "relay_ids": list(relay_ids), "first_day": first_day, "last_day": last_day}):
        found.setdefault(closure.relay_id, []).append(closure)
    return found


def opening_rows(weekly):
    """OpeningHours rows from the API's {weekday name: {morning, afternoon}}."""
    rows = []
    for name, hours in weekly.items():
        row = OpeningHours(weekday=WEEKDAYS.index(name))
        for half in ("morning", "afternoon"):
            if hours.get(half):
                setattr(row, half + "_opens", hours[half]["opens"])
                setattr(row, half + "_closes", hours[half]["closes"])
        rows.append(row)
    return rows


def default_opening_rows():
    return [OpeningHours(weekday=weekday, morning_opens=hours.morning[0],
                         morning_closes=hours.morning[1], afternoon_opens=hours.afternoon[0],
                         afternoon_closes=hours.afternoon[1])
            for weekday, hours in DEFAULT_WEEK.items()]


# -- who may change a relay ---------------------------------------------------

def can_manage(caller, relay_id):
    return caller.is_network_admin or (caller.has("relay_manager") and relay_id in caller.relay_ids)


def managed_relay(session, caller, relay_id, for_update=False):
    """The relay if the caller manages it; "not found" otherwise (never a hint
    that someone else's relay exists)."""
    if not is_uuid(relay_id) or not (can_manage(caller, relay_id) or (
            not for_update and caller.sees_whole_network)):
        raise errors.NotFound(f"No relay {relay_id}.")
    statement = select(Relay).options(*RELAY_LOADS).where(Relay.id == relay_id)
    relay = session.execute(statement.with_for_update(of=Relay) if for_update else statement
                            ).scalar_one_or_none()
    if relay is None:
        raise errors.NotFound(f"No relay {relay_id}.")
    return relay


# -- relays -------------------------------------------------------------------

def apply_fields(relay, data):
    contact = data.pop("contact", None)
    if contact is not None:
        relay.contact_email, relay.contact_phone, relay.website = (
            contact.get("email"), contact.get("phone"), contact.get("website"))
    weekly = data.pop("opening_hours", None)
    if weekly is not None:
        relay.opening_hours = opening_rows(weekly)
    if data.pop("rotate_check_in_code", False):
        relay.check_in_secret = check_in_codes.new_secret()
    for name, value in data.items():
        setattr(relay, name, value)


def create_relay(uow, caller, data):
    caller.require("network_admin")
    relay = Relay(department=data.pop("department", None) or department_of_postcode(data["postcode"]),
                  check_in_secret=check_in_codes.new_secret(), opening_hours=default_opening_rows())
    apply_fields(relay, data)
    uow.session.add(relay)
    uow.session.flush()
    uow.session.refresh(relay)
    uow.publish("booking.relay_created", relay_created_data(relay))
    return relay


def relay_created_data(relay):
    return {"relay_id": relay.id, "name": relay.name, "commune": relay.commune,
            "postcode": relay.postcode, "timezone": relay.timezone,
            "latitude": relay.latitude, "longitude": relay.longitude}


# What says which relay it is and where (what members search and travel by,
# what billing and settlements name): the network's, not the relay manager's.
NETWORK_ADMIN_FIELDS = frozenset({"name", "address", "postcode", "commune", "department",
                                  "latitude", "longitude", "timezone"})


def update_relay(uow, caller, relay_id, data):
    relay = managed_relay(uow.session, caller, relay_id, for_update=True)
    if not caller.is_network_admin and NETWORK_ADMIN_FIELDS & set(data):
        raise errors.Forbidden("Only network admins move or rename a relay: "
                               f"{', '.join(sorted(NETWORK_ADMIN_FIELDS & set(data)))}.",
                               code="network-admin-only")
    apply_fields(relay, data)
    uow.session.flush()
    # Billing and notify know a relay by its name and time zone.
    uow.publish("booking.relay_updated", relay_created_data(relay))
    return relay


def get_relay(session, relay_id, now=None):
    """A relay's public page: its details, spaces, and its next 7 days."""
    relay = None
    if is_uuid(relay_id):
        relay = session.execute(
            select(Relay).options(*RELAY_LOADS).where(Relay.id == relay_id)
        ).scalar_one_or_none()
    if relay is None:
        raise errors.NotFound(f"No relay {relay_id}.")
    if now is not None:
        relay.week = week_of(session, relay, local_today(relay, now), now)
    return relay


def local_today(relay, now):
    return now.astimezone(ZoneInfo(relay.timezone)).date()


def distance_km_sql(latitude, longitude):
    """Haversine in SQL, the same formula as geo.haversine_km, from (latitude,
    longitude): numbers, or bound parameters (``near``)."""
    dlat = func.radians(Relay.latitude - latitude) / 2
    dlon = func.radians(Relay.longitude - longitude) / 2
    a = (func.power(func.sin(dlat), 2) + func.cos(func.radians(latitude))
         * func.cos(func.radians(Relay.latitude)) * func.power(func.sin(dlon), 2))
    return 2 * geo.EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(a)))


def sql_degrees(value):
    """A coordinate rounded to 1e-7 degree (1 cm): PostgreSQL raises "value out
    of range: underflow" on one such as 6e-180 instead of reading it as 0."""
    return round(value, 7)


def near(statement):
    """Keep relays within a radius of a point (box prefilter on indexed
    columns, then exact distance) and order them nearest first; adds a
    distance_km column. The point, the radius and the boxes are bound
    parameters (``near_parameters``), so that a statement built once serves
    every search: building it cost as much CPU as running it."""
    latitude = bindparam("near_latitude", type_=Float)
    longitude = bindparam("near_longitude", type_=Float)
    distance = distance_km_sql(latitude, longitude)
    in_box = [and_(Relay.latitude.between(bindparam(f"box{i}_lat_min", type_=Float),
                                          bindparam(f"box{i}_lat_max", type_=Float)),
                   Relay.longitude.between(bindparam(f"box{i}_lon_min", type_=Float),
                                           bindparam(f"box{i}_lon_max", type_=Float)))
              for i in range(2)]
    return (statement.add_columns(distance.label("distance_km"))
            .where(or_(*in_box))
            .where(distance <= bindparam("near_radius_km", type_=Float))
            .order_by(distance, Relay.id))


def near_parameters(latitude, longitude, radius_km):
    """The values of ``near``'s parameters: one box (given twice) or two
    across the antimeridian."""
    latitude, longitude = sql_degrees(latitude), sql_degrees(longitude)
    boxes = geo.bounding_boxes(latitude, longitude, radius_km)
    parameters = {"near_latitude": latitude, "near_longitude": longitude,
                  "near_radius_km": radius_km}
    for i, box in enumerate((boxes * 2)[:2]):
        parameters.update(zip((f"box{i}_lat_min", f"box{i}_lat_max",
                               f"box{i}_lon_min", f"box{i}_lon_max"), box))
    return parameters


def list_relays(session, query):
    statement = select(Relay).options(*RELAY_LOADS)
    if "postcode_prefix" in query:
        statement = statement.where(Relay.postcode.startswith(query["postcode_prefix"]))
    if "department" in query:
        statement = statement.where(Relay.department == query["department"])
    if "service" in query:
        statement = statement.where(Relay.services.contains(query["service"]))
    page = (query["limit"], query["offset"])
    if "latitude" not in query:
        statement = statement.order_by(Relay.name, Relay.id)
        return session.execute(statement.limit(page[0]).offset(page[1])).scalars().all()
    relays = []
    for relay, distance in session.execute(
            near(statement).limit(page[0]).offset(page[1]),
            near_parameters(query["latitude"], query["longitude"], query["radius_km"])).all():
        relay.distance_km = round(distance, 2)
        relays.append(relay)
    return relays


# -- spaces -------------------------------------------------------------------

def create_space(uow, caller, relay_id, data):
    relay = managed_relay(uow.session, caller, relay_id, for_update=True)
    if any(space.name == data["name"] for space in relay.spaces):
        raise errors.Conflict(f"This relay already has a space named {data['name']!r}.",
                              code="space-name-taken", fields={"name": ["Already taken."]})
    space = Space(relay_id=relay.id, **data)
    uow.session.add(space)
    uow.session.flush()
    uow.publish("booking.space_created", {
        "space_id": space.id, "relay_id": relay.id, "kind": space.kind,
        "name": space.name, "capacity": space.capacity,
    })
    return space


def set_space_sessions(uow, caller, space_id, data):
    """Replace the sessions of a space (its relay's managers): a space with
    sessions is booked for one of them only; without, by the hour. Bookings
    already made stay as they are."""
    space = uow.session.get(Space, space_id) if is_uuid(space_id) else None
    if space is None:
        raise errors.NotFound(f"No space {space_id}.")
    managed_relay(uow.session, caller, space.relay_id, for_update=True)
    if space.kind == "desk" and data["sessions"]:
        raise errors.InvalidInput("A desk is booked by slot, not by session.",
                                  code="desk-by-slot",
                                  fields={"sessions": ["Desks have no sessions."]})
    space.sessions = [SpaceSession(name=s["name"], start=s["start"], end=s["end"])
                      for s in data["sessions"]]
    uow.session.flush()
    return space


def sessions_of(space):
    """The space's sessions as slots.check_session reads them."""
    return [(s.name, s.start, s.end) for s in space.sessions]


def fits_sessions_sql(space):
    """SQL true when the space (its alias or table name) may be booked from
    :local_start to :local_end (local times; NULL for a desk's slot): it has
    no session, or one of exactly those times. slots.check_session is the same
    rule for one space in Python."""
    return (f"(CAST(:local_start AS time) IS NULL"
            f" OR NOT EXISTS (SELECT 1 FROM space_sessions ss WHERE ss.space_id = {space}.id)"
            f" OR EXISTS (SELECT 1 FROM space_sessions ss WHERE ss.space_id = {space}.id"
            f" AND ss.start = CAST(:local_start AS time) AND ss.\"end\" = CAST(:local_end AS time)))")


# -- closures -------------------------------------------------------------------

def add_closure(uow, caller, relay_id, data, now, cancel):
    """Close a relay for some days; the bookings it held then are cancelled
    (by the relay, so never late-billed) through ``cancel(booking)``."""
    relay = managed_relay(uow.session, caller, relay_id, for_update=True)
    closure = Closure(relay_id=relay.id, **data)
    uow.session.add(closure)
    uow.session.flush()
    affected = uow.session.execute(
        select(Booking).where(Booking.relay_id == relay.id, Booking.status == "confirmed",
                              Booking.date.between(data["starts_on"], data["ends_on"]),
                              Booking.ends_at > now)
        .order_by(Booking.starts_at).with_for_update()
    ).scalars().all()
    for booking in affected:
        cancel(booking, f"relay closed: {data['reason']}")
    closure.kind = "closure"
    closure.cancelled_bookings = len(affected)
    return closure


def list_closures(session, relay_id, query, now):
    """Ad-hoc closures and public holidays in a window, in date order."""
    relay = get_relay(session, relay_id)
    first = query.get("start") or local_today(relay, now)
    last = first + timedelta(days=query["days"] - 1)
    entries = []
    for closure in closures_between(session, [relay.id], first, last).get(relay.id, []):
        entries.append(dict(closure._mapping, kind="closure"))
    if relay.closed_on_public_holidays:
        for year in range(first.year, last.year + 1):
            for day, name in public_holidays(year, relay.department).items():
                if first <= day <= last:
                    entries.append({"id": None, "relay_id": relay.id, "starts_on": day,
                                    "ends_on": day, "reason": name, "kind": "public_holiday"})
    return sorted(entries, key=lambda e: e["starts_on"])


def delete_closure(uow, caller, relay_id, closure_id):
    managed_relay(uow.session, caller, relay_id, for_update=True)
    closure = uow.session.get(Closure, closure_id) if is_uuid(closure_id) else None
    if closure is None or closure.relay_id != relay_id:
        raise errors.NotFound(f"No closure {closure_id}.")
    uow.session.delete(closure)
    return {"id": closure_id, "deleted": True}


# -- a relay's week -------------------------------------------------------------

def active_bookings_between(session, relay_id, starts_at, ends_at):
    return session.execute(
        select(Booking.space_id, Booking.starts_at, Booking.ends_at, Booking.status,
               Booking.slot, Booking.date)
        .where(Booking.relay_id == relay_id, Booking.status.in_(lifecycle.ACTIVE_STATUSES),
               Booking.starts_at < ends_at, Booking.ends_at > starts_at)
    ).all()


def week_of(session, relay, first_day, now):
    """The next 7 local days: open or why closed, opening hours, and for each
    space the slots still free and its busy hours (never who booked)."""
    days = [first_day + timedelta(days=n) for n in range(7)]
    calendar = calendar_of(relay, closures_between(session, [relay.id], days[0], days[-1])
                           .get(relay.id, []))
    tz = ZoneInfo(relay.timezone)
    window_start = datetime.combine(days[0], datetime.min.time(), tz)
    busy = active_bookings_between(session, relay.id, window_start.astimezone(timezone.utc),
                                   (window_start + timedelta(days=8)).astimezone(timezone.utc))
    week = []
    for day in days:
        closed = calendar.closed_because(day)
        entry = {"date": day.isoformat(), "open": closed is None,
                 "closed_because": closed[1] if closed else None, "spaces": []}
        if closed is None:
            hours = calendar.weekly[day.weekday()]
            for space in relay.spaces:
                taken = [(b.starts_at, b.ends_at) for b in busy if b.space_id == space.id]
                free = []
                for slot in SLOTS:
                    try:
                        times = slot_times(day, slot, hours, relay.timezone)
                    except SlotRefused:
                        continue
                    if times.ends_at > now and not any(
                            s < times.ends_at and e > times.starts_at for s, e in taken):
                        free.append(slot)
                entry["spaces"].append({
                    "space_id": space.id, "name": space.name, "kind": space.kind,
                    "free_slots": free,
                    "busy": [[s.astimezone(tz).strftime("%H:%M"), e.astimezone(tz).strftime("%H:%M")]
                             for s, e in sorted(taken) if s.astimezone(tz).date() == day]})
        week.append(entry)
    return week

