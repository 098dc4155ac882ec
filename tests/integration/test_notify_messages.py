"""Messages people want: in their language, with a calendar invitation they can
add, and optional ones they can turn off (one click, no log-in). notify runs
in-process with real RabbitMQ and PostgreSQL and mails an SMTP sink."""
import email
import email.policy
import uuid
from datetime import datetime
from urllib.parse import urlparse

import icalendar
import pytest
from nameko.exceptions import RemoteError

from services.notify.service import NotifyService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import (  # noqa: F401 (fixtures)
    MEMBER_ID, ORGANISATION_ID, confirmed_booking, smtp_sink,
)

MEMBER = {"user_id": MEMBER_ID, "organisation_id": ORGANISATION_ID, "roles": ["member"],
          "relay_ids": []}
ADDRESS = "2 place du Champ de Foire, 23400 Bourganeuf"


@pytest.fixture
def notify(start_service, publish_event, smtp_sink, databases, rpc):  # noqa: F811
    """notify running and knowing the member, in ``locale``."""
    def start(locale="fr"):
        sink, port = smtp_sink()
        start_service(NotifyService, SMTP_PORT=port, PUBLIC_URL="https://relais.example",
                      UNSUBSCRIBE_KEY="a-test-key-of-notify-for-unsubscribe-links")
        publish_event("identity", "identity.user_provisioned", {
            "user_id": MEMBER_ID, "organisation_id": ORGANISATION_ID,
            "email": "lou@entreprise.example", "full_name": "Lou Nomade", "roles": ["member"],
            "locale": locale})
        assert wait_for(lambda: rows(databases["notify"], "SELECT 1 FROM contacts"))
        return sink, rpc("notify")
    return start


def mails(sink):
    return [email.message_from_bytes(m.content, policy=email.policy.default)
            for m in sink.received]


def booking_at_relay():
    return dict(confirmed_booking(), relay_address=ADDRESS)


def cancelled(booking, by):
    return dict(booking, late=False, cancelled_at="2026-11-30T09:00:00+00:00",
                cancelled_by=by, reason=None)


def invitation_of(message):
    (part,) = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]
    assert part.get_content_type() == "text/calendar"
    return part.get_param("method"), icalendar.Calendar.from_ical(part.get_content())


def test_a_confirmation_invites_and_a_cancellation_withdraws_the_same_calendar_event(
        notify, publish_event):
    sink, _ = notify()
    booking = booking_at_relay()
    publish_event("booking", "booking.confirmed", booking)
    publish_event("booking", "booking.cancelled", cancelled(booking, by="member"))
    assert wait_for(lambda: len(sink.received) == 2, timeout=10)
    by_subject = {m["Subject"].split(" :")[0]: m for m in mails(sink)}

    method, request = invitation_of(by_subject["Réservation confirmée"])
    assert method == "REQUEST" and request["METHOD"] == "REQUEST"
    (event,) = request.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime.fromisoformat(booking["starts_at"])
    assert event.decoded("DTEND") == datetime.fromisoformat(booking["ends_at"])
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert str(event["LOCATION"]) == f"Relais de Bourganeuf, {ADDRESS}"
    assert [str(tz["TZID"]) for tz in request.walk("VTIMEZONE")] == ["Europe/Paris"]

    method, cancel = invitation_of(by_subject["Réservation annulée"])
    (withdrawn,) = cancel.walk("VEVENT")
    assert (method, str(cancel["METHOD"]), str(withdrawn["STATUS"])) == \
        ("CANCEL", "CANCEL", "CANCELLED")
    assert withdrawn["UID"] == event["UID"] == f"{booking['booking_id']}@relais-des-possibles.fr"
    assert withdrawn.decoded("SEQUENCE") > event.decoded("SEQUENCE")


def test_an_english_speaking_member_gets_english_in_text_and_html(notify, publish_event):
    sink, _ = notify(locale="en")
    publish_event("booking", "booking.confirmed", booking_at_relay())
    assert wait_for(lambda: len(sink.received) == 1, timeout=10)
    (message,) = mails(sink)
    assert message["Subject"] == "Booking confirmed: Relais de Bourganeuf, 01/12/2026"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Hello Lou Nomade,") and "full day (08:30–18:00)" in text
    assert '<html lang="en">' in html and "Your booking is confirmed" in html


def test_an_optional_mail_has_a_one_click_unsubscribe_that_needs_no_log_in(
        notify, publish_event, databases):
    sink, notify_rpc = notify()
    booking = booking_at_relay()
    publish_event("booking", "booking.confirmed", booking)
    assert wait_for(lambda: len(sink.received) == 1, timeout=10)
    (confirmation,) = mails(sink)
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = urlparse(confirmation["List-Unsubscribe"].strip("<>"))
    assert (url.scheme, url.netloc) == ("https", "relais.example")
    token = url.path.rsplit("/", 1)[1]

    page = notify_rpc.unsubscribe_page(token)            # GET: asks, changes nothing
    assert '<form method="post">' in page
    assert not rows(databases["notify"], "SELECT 1 FROM preferences")
    assert "Désabonnement enregistré" in notify_rpc.unsubscribe(token)   # the one click
    assert "Désabonnement enregistré" in notify_rpc.unsubscribe(token)   # again: same answer

    # Receipts are off; a cancellation by the relay is news the member still gets,
    # and, being mandatory, it offers no unsubscribe link.
    other = booking_at_relay()
    envelope = publish_event("booking", "booking.confirmed", other)
    publish_event("booking", "booking.cancelled", cancelled(other, by="relay_manager"))
    assert wait_for(lambda: len(sink.received) == 2, timeout=10)
    latest = mails(sink)[1]
    assert latest["Subject"].startswith("Réservation annulée")
    assert latest["List-Unsubscribe"] is None
    assert wait_for(lambda: rows(databases["notify"], "SELECT 1 FROM inbox WHERE event_id = :id "
                                 "AND consumer = 'notify.on_booking_confirmed'",
                                 id=envelope["event_id"]))
    assert len(sink.received) == 2   # no confirmation of the second booking


def test_a_forged_or_altered_unsubscribe_token_is_not_found(notify):
    _, notify_rpc = notify()
    for token in ("nonsense", "bm90LWEtdG9rZW4.c2lnbmF0dXJl"):
        with pytest.raises(RemoteError) as refused:
            notify_rpc.unsubscribe(token)
        assert refused.value.exc_type == "NotFound"


def test_preferences_are_read_and_changed_by_their_owner_only(notify):
    _, notify_rpc = notify()
    listed = {p["category"]: p for p in notify_rpc.get_notification_preferences(MEMBER, MEMBER_ID)}
    assert listed["reminders"] == {"category": "reminders", "enabled": True, "mandatory": False}
    assert listed["invoicing"]["mandatory"] and listed["invoicing"]["enabled"]

    changed = notify_rpc.set_notification_preferences(MEMBER, MEMBER_ID, {"reminders": False})
    assert {p["category"]: p["enabled"] for p in changed}["reminders"] is False

    with pytest.raises(RemoteError) as refused:
        notify_rpc.set_notification_preferences(MEMBER, MEMBER_ID, {"invoicing": False})
    assert refused.value.exc_type == "InvalidInput"
    someone_else = dict(MEMBER, user_id=str(uuid.uuid4()))
    with pytest.raises(RemoteError) as hidden:
        notify_rpc.get_notification_preferences(someone_else, MEMBER_ID)
    assert hidden.value.exc_type == "NotFound"
