"""Booking's per-relay metrics read from its real database: what became of
each relay's bookings, today's occupancy, the relay's name and department; and
every service's outbox lag."""
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from common.metrics import for_container
from services.booking.metrics import RelayActivityCollector
from services.booking.service import BookingService
from tests.integration.booking_helpers import booked_for_now, next_open_day, relay_with
from tests.integration.conftest import member


def samples(engine):
    registry = CollectorRegistry()
    registry.register(RelayActivityCollector(engine))
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples}


def test_relay_figures_come_from_the_database(booking, databases, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    booking.check_in(caller=member(1), booking_id=made["id"], payload={"code": code})
    other, (desk,) = relay_with(booking, name="Relais de Gentioux", postcode="23340")
    day = next_open_day(7)
    kept = booking.book(caller=member(2), payload={"space_id": desk["id"], "date": day,
                                                   "slot": "morning"})
    dropped = booking.book(caller=member(3), payload={"space_id": desk["id"], "date": day,
                                                      "slot": "afternoon"})
    booking.cancel_booking(caller=member(3), booking_id=dropped["id"])
    found = samples(databases["booking"])

    def count(relay_id, event):
        return found.get(("relais_relay_bookings_total",
                          (("event", event), ("relay", relay_id))))

    assert (count(relay["id"], "confirmed"), count(relay["id"], "checked_in")) == (1, 1)
    assert (count(other["id"], "confirmed"), count(other["id"], "cancelled"),
            count(other["id"], "late_cancelled"), count(other["id"], "no_show")) == (2, 1, 0, 0)
    assert kept["status"] == "confirmed"
    # A relay nobody booked yet reports its zeros: its first booking will be an
    # increase, and it counts among the relays without a booking.
    quiet, _ = relay_with(booking, name="Relais de Faux-la-Montagne", postcode="23340")
    found = samples(databases["booking"])
    assert [count(quiet["id"], event) for event in ("confirmed", "checked_in", "no_show")] == [
        0, 0, 0]
    assert found[("relais_relay_info", (("department", "23"), ("name", "Relais de Gentioux"),
                                        ("relay", other["id"])))] == 1
    # One desk, open round the clock, one of its two half-days booked today.
    assert found[("relais_relay_occupancy_ratio", (("kind", "desk"), ("relay", relay["id"])))] == 0.5


def test_every_service_reports_its_outbox_lag(start_service):
    container = start_service(BookingService)
    text = generate_latest(for_container(container).registry).decode()
    assert 'relais_outbox_oldest_unpublished_age_seconds{service="booking"} 0.0' in text
