"""Security: a relay manager runs their relay but does not move or rename it
(issue 13: the address and commune were theirs to change, though the route
table says network admins own where a relay is)."""
import pytest

from services.booking.directory import NETWORK_ADMIN_FIELDS
from tests.integration.booking_helpers import manager_of, refusal, relay_with
from tests.integration.conftest import ADMIN

CHANGES = {"name": "Ailleurs", "address": "1 rue Fausse", "postcode": "75001",
           "commune": "Paris", "department": "75", "latitude": 48.86, "longitude": 2.35,
           "timezone": "Europe/Brussels"}


def test_every_field_of_place_and_name_is_covered():
    assert set(CHANGES) == NETWORK_ADMIN_FIELDS


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_a_manager_cannot_move_or_rename_the_relay(booking, field):
    relay, _ = relay_with(booking)
    kind, detail = refusal(booking.update_relay, caller=manager_of(relay["id"]),
                           relay_id=relay["id"], payload={field: CHANGES[field]})
    assert kind == "Forbidden" and "network-admin-only" in detail
    assert booking.get_relay(relay_id=relay["id"])[field if field != "department"
                                                   else "commune"] == relay[
        field if field != "department" else "commune"]


def test_a_manager_still_runs_the_relay_and_an_admin_moves_it(booking):
    relay, _ = relay_with(booking)
    changed = booking.update_relay(caller=manager_of(relay["id"]), relay_id=relay["id"],
                                   payload={"managers": ["Sam"], "no_show_after_minutes": 45})
    assert changed["managers"] == ["Sam"]
    moved = booking.update_relay(caller=ADMIN, relay_id=relay["id"],
                                 payload={"address": "2 place du Marché", "commune": "Felletin"})
    assert moved["address"] == "2 place du Marché"
