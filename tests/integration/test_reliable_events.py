"""Nothing lost, nothing doubled: billing and notify consume booking's events
through real RabbitMQ queues, with retries, dead letters and the inbox."""
import socket
import uuid
from unittest import mock

import eventlet
import pytest
from aiosmtpd.controller import Controller

from common import deadletters
from common.consumer import dead_letter_queue_name
from common.events import make_envelope
from contracts import events
from services.billing import usage
from services.billing.models import Base
from services.billing.service import BillingService
from services.notify.service import NotifyService
from tests.integration.conftest import rows, second_waits_for_first, wait_for

BILLING_QUEUE = "evt-booking-booking.confirmed--billing.on_booking_confirmed"
RELAY_ID = str(uuid.uuid4())
MEMBER_ID = str(uuid.uuid4())
ORGANISATION_ID = str(uuid.uuid4())


def confirmed_booking(booking_id=None):
    return {
        "booking_id": booking_id or str(uuid.uuid4()), "relay_id": RELAY_ID,
        "relay_name": "Relais de Bourganeuf", "space_id": str(uuid.uuid4()),
        "space_name": "Bureau 1", "space_kind": "desk", "member_id": MEMBER_ID,
        "organisation_id": ORGANISATION_ID, "date": "2026-12-01", "slot": "day",
        "half_days": 2, "timezone": "Europe/Paris",
        "starts_at": "2026-12-01T07:30:00+00:00", "ends_at": "2026-12-01T17:00:00+00:00",
        "local_starts_at": "2026-12-01T08:30:00+01:00",
        "local_ends_at": "2026-12-01T18:00:00+01:00", "duration_minutes": 570,
    }


@pytest.fixture
def billing_with_rate_card(start_service, publish_event, databases):
    """billing running, knowing the relay, with a desk rate card of 12.50 € a half-day."""
    def start(**overrides):
        container = start_service(BillingService, **overrides)
        publish_event("booking", "booking.relay_created", {
            "relay_id": RELAY_ID, "name": "Relais de Bourganeuf", "commune": "Bourganeuf",
            "postcode": "23400", "timezone": "Europe/Paris", "latitude": 45.95,
            "longitude": 1.75})
        assert wait_for(lambda: rows(databases["billing"], "SELECT * FROM known_relays"))
        with databases["billing"].begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO rate_cards (id, relay_id, space_kind, half_day_price_cents, "
                "vat_rate_bp, valid_from) VALUES (gen_random_uuid(), %s, 'desk', 1250, 2000, "
                "'2026-01-01')", (RELAY_ID,))
        return container
    return start


def usage_lines(databases):
    return rows(databases["billing"], "SELECT * FROM usage_lines")


def test_usage_line_is_priced_from_the_rate_card(billing_with_rate_card, publish_event, databases):
    billing_with_rate_card()
    booking = confirmed_booking()
    publish_event("booking", "booking.confirmed", booking)

    (line,) = wait_for(lambda: usage_lines(databases))
    assert str(line["booking_id"]) == booking["booking_id"]
    # a day on a card without a day price costs two half-days
    assert (line["status"], line["unit"], line["quantity"], line["unit_price_cents"]) == (
        "priced", "day", 1, 2500)
    assert (line["amount_excl_vat_cents"], line["vat_cents"], line["amount_incl_vat_cents"]) == (
        2500, 500, 3000)


def test_an_event_delivered_twice_leaves_one_usage_line(billing_with_rate_card, publish_event,
                                                         databases):
    container = billing_with_rate_card()
    envelope = publish_event("booking", "booking.confirmed", confirmed_booking())
    publish_event("booking", "booking.confirmed", None, envelope=envelope)

    metrics = container.relais_metrics
    handled = metrics.events_consumed.labels("billing", "booking.confirmed", "handled")
    assert wait_for(lambda: handled._value.get() == 2)
    assert len(usage_lines(databases)) == 1
    assert len(rows(databases["billing"], "SELECT * FROM inbox WHERE event_id = :id",
                    id=envelope["event_id"])) == 1


def test_two_writers_of_one_booking_s_line_leave_one_line_and_neither_fails(databases):
    """Two replicas recording the same booking at once (its confirmation
    redelivered while the first is still in its transaction): the second
    waits for the first's line, then writes nothing, without an error."""
    booking = events.load(make_envelope("booking", "booking.confirmed", confirmed_booking()))
    recorded = []

    def record(uow):
        usage.record_usage(uow, booking)
        recorded.append(True)
    assert second_waits_for_first(databases["billing"], "billing", Base.metadata,
                                  record, record) is None
    assert len(recorded) == 2
    assert len(usage_lines(databases)) == 1


def test_a_handler_that_fails_twice_still_records_the_line_once(billing_with_rate_card,
                                                                 publish_event, databases):
    calls = []
    real = usage.record_usages

    def flaky(uow, bookings):
        calls.append([booking["booking_id"] for booking in bookings])
        if len(calls) <= 2:
            raise ConnectionError("billing database hiccup")
        return real(uow, bookings)

    container = billing_with_rate_card()
    with mock.patch.object(usage, "record_usages", flaky):
        publish_event("booking", "booking.confirmed", confirmed_booking())
        assert wait_for(lambda: usage_lines(databases))
    assert len(calls) == 3
    assert len(usage_lines(databases)) == 1
    consumed = container.relais_metrics.events_consumed
    assert consumed.labels("billing", "booking.confirmed", "retried")._value.get() == 2


def test_a_handler_that_keeps_failing_dead_letters_the_event_for_replay(
        billing_with_rate_card, publish_event, databases, broker):
    container = billing_with_rate_card()
    booking = confirmed_booking()
    with mock.patch.object(usage, "record_usages", side_effect=ValueError("no such tariff")):
        publish_event("booking", "booking.confirmed", booking)
        parked = wait_for(lambda: deadletters.show(broker.uri("ops"), BILLING_QUEUE))
    assert parked[0]["body"]["data"]["booking_id"] == booking["booking_id"]
    assert parked[0]["attempts"] == 3  # the first try and two retries
    assert "ValueError: no such tariff" in parked[0]["error"]
    assert usage_lines(databases) == []
    assert container.relais_metrics.registry.get_sample_value("relais_dead_letters", {
        "service": "billing", "queue": dead_letter_queue_name(BILLING_QUEUE)}) == 1

    assert deadletters.replay(broker.uri("ops"), BILLING_QUEUE) == 1
    (line,) = wait_for(lambda: usage_lines(databases))
    assert str(line["booking_id"]) == booking["booking_id"]


def test_a_consumer_killed_mid_flight_gets_the_event_again(billing_with_rate_card, publish_event,
                                                            databases, container_factory,
                                                            config_for):
    entered = eventlet.Event()
    real = usage.record_usages

    def stuck_then_fine(uow, bookings):
        if not entered.ready():
            entered.send()
            eventlet.sleep(60)  # the worker dies here
        return real(uow, bookings)

    first = billing_with_rate_card()
    with mock.patch.object(usage, "record_usages", stuck_then_fine):
        publish_event("booking", "booking.confirmed", confirmed_booking())
        entered.wait(10)
        first.kill()
        assert usage_lines(databases) == []
        second = container_factory(BillingService, config_for("billing"))
        second.start()
        (line,) = wait_for(lambda: usage_lines(databases))
    assert line["status"] == "priced"
    assert len(usage_lines(databases)) == 1


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FlakySmtpSink:
    """A real SMTP server that answers 451 (try again later) the first times."""

    def __init__(self, refusals):
        self.refusals = refusals
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        if self.refusals > 0:
            self.refusals -= 1
            return "451 Requested action aborted: try again later"
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink():
    sinks = []

    def start(refusals=0):
        handler = FlakySmtpSink(refusals)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        sinks.append(controller)
        return handler, port

    yield start
    for controller in sinks:
        controller.stop()


def test_the_confirmation_mail_arrives_once_despite_a_late_contact_and_smtp_failures(
        start_service, publish_event, smtp_sink, databases):
    sink, port = smtp_sink(refusals=2)
    start_service(NotifyService, SMTP_PORT=port, RETRY_DELAYS_MS=[100, 200, 400, 800, 1600])
    booking = confirmed_booking()
    envelope = publish_event("booking", "booking.confirmed", booking)
    eventlet.sleep(0.2)  # the booking is retried: its member is not known yet
    publish_event("identity", "identity.user_provisioned", {
        "user_id": MEMBER_ID, "organisation_id": ORGANISATION_ID,
        "email": "lou@entreprise.example", "full_name": "Lou Nomade", "roles": ["member"]})

    assert wait_for(lambda: sink.received, timeout=15)
    eventlet.sleep(0.5)  # room for a duplicate to show up
    assert len(sink.received) == 1
    mail = sink.received[0]
    assert mail.rcpt_tos == ["lou@entreprise.example"]
    content = mail.content.decode()
    assert f"Message-ID: <{envelope['event_id']}@relais-des-possibles>" in content
    assert "Relais de Bourganeuf" in content
    assert len(rows(databases["notify"], "SELECT * FROM deliveries")) == 1


def test_an_invitation_link_is_minted_at_send_time_and_mailed_once(
        start_service, rpc, smtp_sink, databases):
    """identity and notify together: no event holds the link; notify asks
    identity for it when it sends; a refused SMTP delivery retried mints a new
    link that replaces the old one, so the only link that works is the mailed one."""
    from services.identity import tokens
    from services.identity.bootstrap import bootstrap
    from services.identity.service import IdentityService
    from tests.integration.conftest import ADMIN, database_url

    sink, port = smtp_sink(refusals=2)
    bootstrap(database_url("identity"), None, None)
    start_service(IdentityService)
    start_service(NotifyService, SMTP_PORT=port, RETRY_DELAYS_MS=[100, 200, 400, 800])
    identity = rpc("identity")
    company = identity.create_organisation(caller=ADMIN, payload={
        "kind": "corporate", "name": "Assureur", "legal_name": "Assureur SA",
        "siret": "55208131766522", "billing_email": "compta@assureur.example"})
    user = identity.create_user(caller=ADMIN, organisation_id=company["id"], payload={
        "email": "invitee@assureur.example", "full_name": "Camille Invitée"})

    assert wait_for(lambda: sink.received, timeout=15)
    eventlet.sleep(0.5)  # room for a duplicate to show up
    assert len(sink.received) == 1
    import email
    from email import policy
    text = email.message_from_bytes(sink.received[0].content, policy=policy.default
                                    ).get_body(("plain",)).get_content()
    token = next(word for word in text.split() if "#token=riv_" in word).split("#token=")[1]
    # Three attempts minted three tokens; the last one, mailed, is the one kept.
    (invitation,) = rows(databases["identity"], "SELECT token_hash FROM invitations")
    assert invitation["token_hash"] == tokens.secret_hash(token)
    assert not rows(databases["identity"], "SELECT 1 FROM outbox WHERE envelope::text LIKE '%riv_%'")
    assert len(rows(databases["notify"], "SELECT * FROM deliveries")) == 1
    done = identity.set_password(payload={"token": token, "password": "correct horse battery staple"})
    assert done["id"] == user["id"] and done["password_set"] is True


def test_an_invitation_revoked_before_notify_sends_it_is_not_mailed(
        start_service, rpc, smtp_sink, databases, publish_event):
    from services.identity.bootstrap import bootstrap
    from services.identity.service import IdentityService
    from tests.integration.conftest import ADMIN, database_url

    sink, port = smtp_sink()
    bootstrap(database_url("identity"), None, None)
    start_service(IdentityService)
    identity = rpc("identity")
    company = identity.create_organisation(caller=ADMIN, payload={
        "kind": "corporate", "name": "Assureur", "legal_name": "Assureur SA",
        "siret": "55208131766522", "billing_email": "compta@assureur.example"})
    user = identity.create_user(caller=ADMIN, organisation_id=company["id"], payload={
        "email": "gone@assureur.example", "full_name": "Parti Vite"})
    identity.deactivate_user(caller=ADMIN, user_id=user["id"])  # revokes the invitation
    start_service(NotifyService, SMTP_PORT=port, RETRY_DELAYS_MS=[100, 200])
    # notify was not listening yet: deliver the provisioning event now, late.
    (invitation,) = rows(databases["identity"], "SELECT id FROM invitations")
    publish_event("identity", "identity.user_provisioned", {
        "user_id": user["id"], "organisation_id": company["id"], "email": user["email"],
        "full_name": user["full_name"], "roles": ["member"],
        "invitation_id": str(invitation["id"]), "invitation_expires_at": "2030-01-01T00:00:00+00:00"})
    assert wait_for(lambda: rows(databases["notify"],
                                 "SELECT 1 FROM inbox WHERE consumer = 'notify.on_user_provisioned'"),
                    timeout=10)
    eventlet.sleep(0.5)
    # The revoked invitation was neither minted nor mailed.
    assert sink.received == []
    (invitation,) = rows(databases["identity"], "SELECT token_hash, revoked_at FROM invitations")
    assert invitation["token_hash"] is None and invitation["revoked_at"] is not None
