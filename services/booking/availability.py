"""The availability search: for a local date and a slot (desks) or hours
(rooms), near a point, the relays with free spaces of a kind, nearest first.

Three steps, so the database does what it is good at and the calendar rules
stay in one place (slots.py): (1) relays within the radius that have such
spaces (box prefilter on indexed latitude/longitude, exact haversine, services);
(2) each relay's own times for that date in its time zone, dropping relays that
are closed (weekday, public holiday, closure) or whose slot is over; (3) one
query for the spaces with no overlapping active booking, using the exclusion
constraint's GiST index.
"""
from sqlalchemy import Text, bindparam, select, text
from sqlalchemy.orm import noload, selectinload
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

from services.booking import blocks, directory, lifecycle
from services.booking.models import Relay, Space
from services.booking.policy import NETWORK_HORIZON_DAYS
from services.booking.slots import HOURS, SlotRefused, check_bookable, requested_times

# Step (3): (relay, start, end) triples in, free spaces out.
FREE_SPACES = text(f"""
    SELECT wanted.ord, s.id
    FROM unnest(:relay_ids, :starts, :ends) WITH ORDINALITY
         AS wanted(relay_id, starts_at, ends_at, ord)
    JOIN spaces s ON s.relay_id = wanted.relay_id::uuid
    WHERE s.kind = :kind AND s.capacity >= :min_capacity
      AND s.features @> :features
      AND {directory.fits_sessions_sql("s")}
      AND NOT {blocks.held_by_others_sql("s", "wanted.starts_at", "wanted.ends_at")}
      AND NOT EXISTS (
        SELECT 1 FROM bookings b
        WHERE b.space_id = s.id
          AND b.status IN {lifecycle.ACTIVE_STATUSES!r}
          AND tstzrange(b.starts_at, b.ends_at) && tstzrange(wanted.starts_at, wanted.ends_at))
    ORDER BY wanted.ord, s.name
""").bindparams(bindparam("relay_ids", type_=ARRAY(Text)),
                bindparam("starts", type_=ARRAY(TIMESTAMP(timezone=True))),
                bindparam("ends", type_=ARRAY(TIMESTAMP(timezone=True))),
                bindparam("features", type_=ARRAY(Text)))


def times_for(calendar, query):
    slot = query.get("slot", HOURS)
    return requested_times(calendar, query["date"], slot, query.get("start"), query.get("end"))


def _candidates(with_service):
    """Relays near a point with a space of a kind (and a service): built once
    for each shape, every value bound at the search."""
    has_space = select(Space.id).where(
        Space.relay_id == Relay.id, Space.kind == bindparam("kind"),
        Space.capacity >= bindparam("min_capacity"),
        Space.features.contains(bindparam("features", type_=Space.features.type))).exists()
    # Only the opening hours are loaded with the candidates; of their spaces,
    # only the free ones, at the end (loading every relay's spaces doubled p99).
    statement = select(Relay).options(selectinload(Relay.opening_hours)).where(has_space)
    if with_service:
        statement = statement.where(
            Relay.services.contains(bindparam("services", type_=Relay.services.type)))
    return directory.near(statement)


CANDIDATES = {with_service: _candidates(with_service) for with_service in (False, True)}


def search(session, query, now):
    parameters = directory.near_parameters(query["latitude"], query["longitude"],
                                           query["radius_km"])
    parameters.update(kind=query["kind"], min_capacity=query["min_capacity"],
                      features=query.get("feature", []), services=query.get("service"))
    candidates = session.execute(CANDIDATES["service" in query], parameters).all()
    closures = directory.closures_between(session, [relay.id for relay, _ in candidates],
                                          query["date"], query["date"])
    open_relays = []
    for relay, distance in candidates:
        calendar = directory.calendar_of(relay, closures.get(relay.id, []))
        try:
            times = check_bookable(times_for(calendar, query), relay.timezone, now,
                                   NETWORK_HORIZON_DAYS)
        except SlotRefused:
            continue
        open_relays.append((relay, distance, times))
    if not open_relays:
        return []
    free = {}
    for ord_, space_id in session.execute(FREE_SPACES, {
            "relay_ids": [relay.id for relay, _, _ in open_relays],
            "starts": [times.starts_at for _, _, times in open_relays],
            "ends": [times.ends_at for _, _, times in open_relays],
            "kind": query["kind"], "min_capacity": query["min_capacity"],
            "features": query.get("feature", []), "organisation_id": None, "now": now,
            "local_start": query.get("start"), "local_end": query.get("end")}).all():
        free.setdefault(ord_ - 1, []).append(str(space_id))
    free_spaces = select(Space).where(Space.id.in_([i for ids in free.values() for i in ids]))
    if query["kind"] == "desk":
        # a desk never has sessions (directory.set_space_sessions refuses them):
        # not one more SELECT per search for an empty list
        free_spaces = free_spaces.options(noload(Space.sessions))
    spaces = {space.id: space for space in session.execute(free_spaces).scalars()}
    results = []
    for index, (relay, distance, times) in enumerate(open_relays):
        if index not in free:
            continue
        results.append({
            "relay": relay, "distance_km": round(distance, 2),
            "starts_at": times.starts_at, "ends_at": times.ends_at,
            "local_starts_at": times.local_starts_at.isoformat(),
            "local_ends_at": times.local_ends_at.isoformat(),
            "free_spaces": [spaces[space_id] for space_id in free[index]]})
        if len(results) == query["limit"]:
            break
    return results
