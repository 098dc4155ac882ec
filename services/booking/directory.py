"""Use cases of the relay directory: create relays and their spaces, read them."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from common import errors
from common.validation import is_uuid
from services.booking.models import Relay, Space

def create_relay(uow, caller, data):
    caller.require("network_admin")
    opening = {key: value for key, value in data.pop("opening_hours").items() if value is not None}
    relay = Relay(**data, **opening)
    uow.session.add(relay)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise errors.InvalidInput("The opening hours are out of order.",
                                  fields={"opening_hours": [str(exc.orig.diag.message_primary)]}) from None
    uow.session.refresh(relay)
    uow.emit("booking.relay_created", {
        "relay_id": relay.id, "name": relay.name, "commune": relay.commune,
        "postcode": relay.postcode, "timezone": relay.timezone,
        "latitude": relay.latitude, "longitude": relay.longitude,
    })
    return relay


def get_relay(session, relay_id):
    relay = None
    if is_uuid(relay_id):
        relay = session.execute(
            select(Relay).options(selectinload(Relay.spaces)).where(Relay.id == relay_id)
        ).scalar_one_or_none()
    if relay is None:
        raise errors.NotFound(f"No relay {relay_id}.")
    return relay


def list_relays(session, query):
    statement = select(Relay).options(selectinload(Relay.spaces)).order_by(Relay.name, Relay.id)
    if "postcode_prefix" in query:
        statement = statement.where(Relay.postcode.startswith(query["postcode_prefix"]))
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()


def create_space(uow, caller, relay_id, data):
    if not (caller.is_network_admin or relay_id in caller.relay_ids):
        raise errors.NotFound(f"No relay {relay_id}.")
    relay = get_relay(uow.session, relay_id)
    if any(space.name == data["name"] for space in relay.spaces):
        raise errors.Conflict(f"This relay already has a space named {data['name']!r}.",
                              code="space-name-taken")
    space = Space(relay_id=relay.id, **data)
    uow.session.add(space)
    uow.session.flush()
    uow.emit("booking.space_created", {
        "space_id": space.id, "relay_id": relay.id, "kind": space.kind,
        "name": space.name, "capacity": space.capacity,
    })
    return space
