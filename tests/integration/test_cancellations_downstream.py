"""What billing and notify do with booking.cancelled and booking.no_show."""
import email
import email.policy
import uuid

import pytest

from services.notify.service import NotifyService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import (  # noqa: F401 (fixtures)
    MEMBER_ID, ORGANISATION_ID, billing_with_rate_card, confirmed_booking, smtp_sink,
    usage_lines,
)


def cancelled(booking, late, by="member", reason=None):
    return dict(booking, late=late, cancelled_at="2026-11-30T09:00:00+00:00",
                cancelled_by=by, reason=reason)


def line_of(databases, booking_id):
    found = [line for line in usage_lines(databases) if str(line["booking_id"]) == booking_id]
    return found[0] if found else None


def test_a_cancellation_in_time_voids_the_usage_line_a_late_one_stays_billable(
        billing_with_rate_card, publish_event, databases):
    billing_with_rate_card()
    in_time, late = confirmed_booking(), confirmed_booking()
    for booking in (in_time, late):
        publish_event("booking", "booking.confirmed", booking)
    assert wait_for(lambda: len(usage_lines(databases)) == 2)

    publish_event("booking", "booking.cancelled", cancelled(in_time, late=False))
    publish_event("booking", "booking.cancelled", cancelled(late, late=True))

    assert wait_for(lambda: line_of(databases, in_time["booking_id"])["status"] == "void")
    assert wait_for(lambda: line_of(databases, late["booking_id"])["late_cancellation"])
    voided, billable = line_of(databases, in_time["booking_id"]), line_of(databases, late["booking_id"])
    assert (voided["late_cancellation"], voided["cancelled_at"] is not None) == (False, True)
    assert (billable["status"], billable["amount_incl_vat_cents"]) == ("priced", 3000)


def test_a_cancellation_that_overtakes_its_confirmation_leaves_one_void_line(
        billing_with_rate_card, publish_event, databases):
    billing_with_rate_card()
    booking = confirmed_booking()
    publish_event("booking", "booking.cancelled", cancelled(booking, late=False, by="system",
                                                           reason="member deactivated"))
    assert wait_for(lambda: line_of(databases, booking["booking_id"]))
    publish_event("booking", "booking.confirmed", booking)
    assert wait_for(lambda: rows(databases["billing"], "SELECT 1 FROM inbox WHERE consumer = "
                                 "'billing.on_booking_confirmed'"))
    (line,) = usage_lines(databases)
    assert (line["status"], line["unit_price_cents"]) == ("void", 2500)


@pytest.fixture
def notify_with_contact(start_service, publish_event, smtp_sink, databases):  # noqa: F811
    sink, port = smtp_sink()
    start_service(NotifyService, SMTP_PORT=port)
    publish_event("identity", "identity.user_provisioned", {
        "user_id": MEMBER_ID, "organisation_id": ORGANISATION_ID,
        "email": "lou@entreprise.example", "full_name": "Lou Nomade", "roles": ["member"]})
    assert wait_for(lambda: rows(databases["notify"], "SELECT 1 FROM contacts"))
    return sink


def test_the_member_is_told_of_a_late_cancellation_and_of_a_no_show(
        notify_with_contact, publish_event, databases):
    sink = notify_with_contact
    booking = confirmed_booking()
    publish_event("booking", "booking.cancelled",
                  cancelled(booking, late=True, by="relay_manager", reason="dégât des eaux"))
    no_show = confirmed_booking(str(uuid.uuid4()))
    publish_event("booking", "booking.no_show",
                  dict(no_show, released_at="2026-12-01T08:00:00+00:00"))

    assert wait_for(lambda: len(sink.received) == 2, timeout=10)
    mails = {message["Subject"].split(" :")[0]: message.get_body(("plain",)).get_content()
             for message in (email.message_from_bytes(m.content, policy=email.policy.default)
                             for m in sink.received)}
    assert "annulée par le relais" in mails["Réservation annulée"]
    assert "Motif : dégât des eaux." in mails["Réservation annulée"]
    assert "reste facturée" in mails["Réservation annulée"]
    assert "votre place a été libérée" in mails["Absence constatée"]
    subjects = sorted(row["subject"] for row in rows(databases["notify"],
                                                     "SELECT subject FROM deliveries"))
    assert subjects == ["Absence constatée : Relais de Bourganeuf, 01/12/2026",
                        "Réservation annulée : Relais de Bourganeuf, 01/12/2026"]
