"""A producer may add a field to an event (and raise its version) without
breaking an older consumer: the real consumers, on real queues, handle an
event that carries fields their contract does not know."""
import uuid

from contracts import events
from common.events import make_envelope
from services.billing.service import BillingService
from services.booking.service import BookingService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import RELAY_ID, confirmed_booking


def newer(event_type, data, **added):
    """The envelope a newer producer would publish: the next version, with fields added."""
    return make_envelope(events.source_of(event_type), event_type, dict(data, **added),
                         version=events.version_of(event_type) + 1)


def test_billing_records_a_booking_confirmed_from_a_newer_producer(
        start_service, publish_event, databases):
    start_service(BillingService)
    relay = {"relay_id": RELAY_ID, "name": "Relais de Bourganeuf", "commune": "Bourganeuf",
             "postcode": "23400", "timezone": "Europe/Paris", "latitude": 45.95,
             "longitude": 1.75}
    publish_event("booking", "booking.relay_created", None,
                  envelope=newer("booking.relay_created", relay, wifi_mbps=300))
    booking = confirmed_booking()
    publish_event("booking", "booking.confirmed", None, envelope=newer(
        "booking.confirmed", booking, co2_avoided_grams=5400, carpool={"seats": 2}))

    (line,) = wait_for(lambda: rows(databases["billing"], "SELECT * FROM usage_lines"))
    assert str(line["booking_id"]) == booking["booking_id"]
    (known,) = rows(databases["billing"], "SELECT * FROM known_relays")
    assert known["name"] == "Relais de Bourganeuf"


def test_booking_keeps_a_policy_changed_that_carries_an_unknown_field(
        start_service, publish_event, databases):
    start_service(BookingService)
    organisation_id = str(uuid.uuid4())
    publish_event("identity", "identity.policy_changed", None, envelope=newer(
        "identity.policy_changed",
        {"organisation_id": organisation_id, "allowed_relays": "all", "relay_ids": [],
         "radius_km": None, "max_days_per_month": 8, "booking_horizon_days": 30,
         "space_kinds": None, "monthly_budget_cents": None},
        weekly_days_cap=2))

    (policy,) = wait_for(lambda: rows(databases["booking"],
                                      "SELECT * FROM organisation_policies"))
    assert str(policy["organisation_id"]) == organisation_id
    assert (policy["max_days_per_month"], policy["booking_horizon_days"]) == (8, 30)
