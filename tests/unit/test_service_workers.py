"""Service entrypoints with nameko's worker_factory: dependencies (database,
mailer, metrics) are mocks, so these check what an entrypoint does at its
boundary: who may call, what input it refuses, and what it hands on."""
import inspect
import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from unittest.mock import ANY

import pytest
from marshmallow import ValidationError
from nameko.testing.services import worker_factory

from common import errors
from common.caller import Caller
from common.events import make_envelope
from services.billing.service import BillingService
from services.booking.service import BookingService
from services.identity.service import IdentityService
from services.notify import webhooks
from services.notify.service import NotifyService

MEMBER = {"user_id": "u-1", "organisation_id": "o-1", "roles": ["member"], "relay_ids": []}
ADMIN = {"user_id": "u-admin", "organisation_id": "o-net", "roles": ["network_admin"]}
SPACE_ID = "5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f"
BOOKING = {"space_id": SPACE_ID, "date": "2027-03-29", "slot": "morning"}


def unit_of_work(service):
    """The ``uow`` an entrypoint gets from ``with self.db.unit_of_work() as uow``."""
    return service.db.unit_of_work.return_value.__enter__.return_value


def run_idempotent_operation(uow):
    """Run the operation the entrypoint gave ``uow.idempotent`` (as a first call would)."""
    scope, key, request, operation = uow.idempotent.call_args.args
    return operation()


# --- the idempotent RPCs' shape (common.entrypoints) ----------------------------


@pytest.mark.parametrize("service_cls, method, signature", [
    (BookingService, "create_relay", "(self, caller, payload, idempotency_key=None)"),
    (BookingService, "create_space", "(self, caller, relay_id, payload, idempotency_key=None)"),
    (BookingService, "add_closure", "(self, caller, relay_id, payload, idempotency_key=None)"),
    (BookingService, "book", "(self, caller, payload, idempotency_key=None)"),
    (BookingService, "book_series", "(self, caller, payload, idempotency_key=None)"),
    (IdentityService, "create_organisation", "(self, caller, payload, idempotency_key=None)"),
    (IdentityService, "create_user",
     "(self, caller, organisation_id, payload, idempotency_key=None)"),
    (BillingService, "set_rate_card", "(self, caller, relay_id, payload, idempotency_key=None)"),
])
def test_idempotent_rpcs_keep_the_signature_callers_use(service_cls, method, signature):
    """nameko checks each call against it (``inspect.getcallargs``): a call the
    old method refused is still refused, before any work."""
    rpc = getattr(service_cls, method)
    assert str(inspect.signature(rpc)) == signature
    inspect.getcallargs(rpc, None, *[f"{name}-value" for name in inspect.signature(rpc)
                                     .parameters if name not in ("self", "idempotency_key")])
    with pytest.raises(TypeError):
        inspect.getcallargs(rpc, None, caller=ADMIN)


def test_idempotent_scopes_name_the_operation_the_caller_and_the_target():
    service = worker_factory(BookingService)
    uow = unit_of_work(service)

    service.create_space(caller=ADMIN, relay_id="r-1", payload={"kind": "desk", "name": "B1"},
                         idempotency_key="k-1")

    uow.idempotent.assert_called_once_with(
        "create_space:u-admin:r-1", "k-1", {"kind": "desk", "name": "B1"}, ANY, lock=None)


# --- booking ------------------------------------------------------------------


def test_book_refuses_an_anonymous_caller():
    service = worker_factory(BookingService)

    with pytest.raises(errors.Unauthorized):
        service.book(caller=None, payload=BOOKING)

    service.db.unit_of_work.assert_not_called()


def test_book_refuses_invalid_input_before_touching_the_database():
    service = worker_factory(BookingService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.book(caller=MEMBER, payload={"slot": "night"})

    assert set(raised.value.fields) == {"space_id", "date", "slot"}
    assert raised.value.code == "validation-error"
    service.db.unit_of_work.assert_not_called()


def test_book_refuses_a_payload_that_is_not_an_object():
    service = worker_factory(BookingService)

    with pytest.raises(errors.InvalidInput):
        service.book(caller=MEMBER, payload=[BOOKING])

    service.db.unit_of_work.assert_not_called()


def test_book_runs_once_per_idempotency_key_and_returns_json(monkeypatch):
    service = worker_factory(BookingService)
    uow = unit_of_work(service)
    uow.idempotent.return_value = {"id": "b-1"}
    seen = {}

    def book(uow_arg, caller, data, now, quote=None, ask_home=None):
        seen.update(uow=uow_arg, caller=caller, data=data, now=now)
        return SimpleNamespace(
            id="b-1", space_id=SPACE_ID, relay_id="r-1", member_id="u-1", organisation_id="o-1",
            date=date(2027, 3, 29), slot="morning",
            starts_at=datetime(2027, 3, 29, 6, 30, tzinfo=timezone.utc),
            ends_at=datetime(2027, 3, 29, 10, 30, tzinfo=timezone.utc),
            status="confirmed", created_at=datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc),
            space=SimpleNamespace(name="Poste 1", kind="desk"),
            relay=SimpleNamespace(name="Relais de Millau", timezone="Europe/Paris"),
            series_id=None, no_show_at=None, checked_in_at=None, checked_in_by=None,
            cancelled_at=None, cancelled_by=None, cancellation_reason=None,
            late_cancellation=None, completed_at=None)

    monkeypatch.setattr("services.booking.service.bookings.book", book)

    result = service.book(caller=MEMBER, payload=BOOKING, idempotency_key="k-1")

    assert result == {"id": "b-1"}
    # the member's lock is taken with the key's claim
    uow.idempotent.assert_called_once_with("book:u-1", "k-1", BOOKING, ANY,
                                           lock="booking-member:u-1")
    dumped = run_idempotent_operation(uow)
    assert seen["uow"] is uow
    assert seen["caller"] == Caller("u-1", "o-1", frozenset({"member"}), frozenset())
    assert seen["data"] == {"space_id": uuid.UUID(SPACE_ID),
                            "date": date(2027, 3, 29), "slot": "morning"}
    assert seen["now"].tzinfo is not None
    assert abs(datetime.now(timezone.utc) - seen["now"]) < timedelta(seconds=5)
    assert dumped["starts_at"] == "2027-03-29T06:30:00+00:00"
    assert dumped["date"] == "2027-03-29"
    assert dumped["status"] == "confirmed"
    assert dumped["local_starts_at"] == "2027-03-29T08:30:00+02:00"
    assert dumped["relay_name"] == "Relais de Millau"


def test_create_space_refuses_a_desk_for_two():
    service = worker_factory(BookingService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.create_space(caller=ADMIN, relay_id="r-1",
                             payload={"kind": "desk", "name": "Poste 1", "capacity": 2})

    assert set(raised.value.fields) == {"capacity"}
    service.db.unit_of_work.assert_not_called()


def test_create_relay_refuses_an_unknown_time_zone_and_a_bad_postcode():
    service = worker_factory(BookingService)
    payload = {"name": "Relais de Saint-Affrique", "address": "1 place de la Mairie",
               "postcode": "1240", "commune": "Saint-Affrique", "latitude": 43.95,
               "longitude": 2.89, "timezone": "Europe/Saint-Affrique"}

    with pytest.raises(errors.InvalidInput) as raised:
        service.create_relay(caller=ADMIN, payload=payload)

    assert set(raised.value.fields) == {"postcode", "timezone"}
    service.db.unit_of_work.assert_not_called()


# --- identity -----------------------------------------------------------------


def test_corporate_organisation_needs_its_invoicing_details():
    service = worker_factory(IdentityService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.create_organisation(caller=ADMIN, payload={"kind": "corporate",
                                                           "name": "Nomade Office"})

    assert raised.value.fields == {
        "legal_name": ["Required for a corporate account."],
        "siret": ["Required for a corporate account."],
        "billing_email": ["Required for a corporate account."],
    }
    service.db.unit_of_work.assert_not_called()


def test_corporate_organisation_names_only_what_is_missing():
    service = worker_factory(IdentityService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.create_organisation(caller=ADMIN, payload={
            "kind": "corporate", "name": "Nomade Office", "legal_name": "AG2R La Mondiale",
            "siret": "12345678901234"})

    assert set(raised.value.fields) == {"billing_email"}


def test_individual_organisation_needs_no_invoicing_details():
    service = worker_factory(IdentityService)
    uow = unit_of_work(service)
    uow.idempotent.return_value = {"id": "o-9"}

    result = service.create_organisation(caller=ADMIN, payload={"kind": "individual",
                                                                "name": "Camille Martin"},
                                         idempotency_key="k-9")

    assert result == {"id": "o-9"}
    uow.idempotent.assert_called_once_with(
        "create_organisation:u-admin", "k-9", {"kind": "individual", "name": "Camille Martin"}, ANY,
        lock=None)


def test_create_organisation_refuses_an_anonymous_caller():
    service = worker_factory(IdentityService)

    with pytest.raises(errors.Unauthorized):
        service.create_organisation(caller=None, payload={"kind": "individual", "name": "X"})

    service.db.unit_of_work.assert_not_called()


def test_issue_token_refuses_a_bad_email_without_looking_anyone_up(monkeypatch):
    service = worker_factory(IdentityService)
    looked_up = []
    monkeypatch.setattr("services.identity.service.sessions.log_in",
                        lambda *args: looked_up.append(args))

    with pytest.raises(errors.InvalidInput) as raised:
        service.issue_token(payload={"email": "not-an-email", "password": ""})

    assert set(raised.value.fields) == {"email", "password"}
    assert looked_up == []


def test_create_user_refuses_unknown_roles_and_a_short_password():
    service = worker_factory(IdentityService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.create_user(caller=ADMIN, organisation_id="o-1", payload={
            "email": "camille@example.org", "full_name": "Camille Martin",
            "roles": ["superuser"], "password": "short"})

    assert set(raised.value.fields) == {"roles.0", "password"}
    assert raised.value.fields["password"] == ["A password has 12 to 256 characters."]
    service.db.unit_of_work.assert_not_called()


# --- billing -------------------------------------------------------------------


def test_rate_card_price_must_be_integer_cents():
    service = worker_factory(BillingService)

    with pytest.raises(errors.InvalidInput) as raised:
        service.set_rate_card(caller=ADMIN, relay_id="r-1", payload={
            "space_kind": "desk", "half_day_price_cents": 12.5, "valid_from": "2027-01-01"})

    assert set(raised.value.fields) == {"half_day_price_cents"}
    service.db.unit_of_work.assert_not_called()


def confirmed_event():
    return make_envelope("booking", "booking.confirmed", {
        "booking_id": "b-1", "relay_id": "r-1", "relay_name": "Relais de Saint-Affrique",
        "space_id": SPACE_ID, "space_name": "Poste 3", "space_kind": "desk",
        "member_id": "u-1", "organisation_id": "o-1", "date": "2027-03-29", "slot": "day",
        "half_days": 2, "timezone": "Europe/Paris",
        "starts_at": "2027-03-29T06:30:00+00:00", "ends_at": "2027-03-29T16:00:00+00:00",
        "local_starts_at": "2027-03-29T08:30:00+02:00", "local_ends_at": "2027-03-29T18:00:00+02:00",
        "duration_minutes": 570})


def test_billing_records_usage_once_per_event(monkeypatch):
    service = worker_factory(BillingService)
    uow = unit_of_work(service)
    recorded = []
    monkeypatch.setattr("services.billing.service.usage.record_usages",
                        lambda uow_arg, bookings: recorded.extend(bookings))
    event = confirmed_event()

    uow.mark_batch_handled.return_value = {event["event_id"]}
    assert service.on_booking_confirmed([event]) == {}
    uow.mark_batch_handled.return_value = set()  # the same event, redelivered
    assert service.on_booking_confirmed([event]) == {}

    assert len(recorded) == 1
    assert recorded[0]["date"] == date(2027, 3, 29)
    assert recorded[0]["half_days"] == 2
    uow.mark_batch_handled.assert_called_with([event["event_id"]],
                                              "billing.on_booking_confirmed")


def test_billing_sets_an_event_with_bad_data_apart_from_its_batch(monkeypatch):
    service = worker_factory(BillingService)
    uow = unit_of_work(service)
    recorded = []
    monkeypatch.setattr("services.billing.service.usage.record_usages",
                        lambda uow_arg, bookings: recorded.extend(bookings))
    bad, good = confirmed_event(), confirmed_event()
    del bad["data"]["half_days"]
    uow.mark_batch_handled.side_effect = lambda event_ids, consumer: set(event_ids)

    failed = service.on_booking_confirmed([bad, good])

    assert list(failed) == [0] and isinstance(failed[0], ValidationError)
    uow.mark_batch_handled.assert_called_once_with([good["event_id"]],
                                                   "billing.on_booking_confirmed")
    assert [booking["booking_id"] for booking in recorded] == [good["data"]["booking_id"]]


# --- notify ----------------------------------------------------------------------


def test_deliveries_are_for_network_staff_only():
    service = worker_factory(NotifyService)

    with pytest.raises(errors.Forbidden):
        service.list_deliveries(caller=MEMBER)
    with pytest.raises(errors.Unauthorized):
        service.list_deliveries(caller=None)


def test_network_ops_list_deliveries_with_paging(monkeypatch):
    service = worker_factory(NotifyService)
    asked = []
    monkeypatch.setattr("services.notify.service.deliveries.list_deliveries",
                        lambda session, limit, offset: asked.append((session, limit, offset)) or [])

    result = service.list_deliveries(caller={"user_id": "u-ops", "roles": ["network_ops"]},
                                     query={"limit": "10", "offset": "20"})

    assert result == []
    assert asked == [(service.db.session, 10, 20)]


def test_notify_tells_the_member_with_json_native_booking_data(monkeypatch):
    service = worker_factory(NotifyService)
    uow = unit_of_work(service)
    uow.read_ahead = {}
    uow.mark_all_handled.side_effect = lambda event, consumers: set(consumers)
    told = []
    monkeypatch.setattr("services.notify.service.deliveries.tell_member",
                        lambda *args: told.append(args))
    remembered, offered = [], []
    monkeypatch.setattr("services.notify.service.deliveries.read_for_booking_event",
                        lambda uow_arg, event_type, booking, write: remembered.append(
                            (booking, write[1])) or ["an endpoint"])
    monkeypatch.setattr("services.notify.service.webhooks.fan_out",
                        lambda uow_arg, event_arg, data, **lease: offered.append(
                            (data, lease["endpoints"])) or webhooks.Offered(leased=[], due=1))
    event = confirmed_event()

    service.on_booking_confirmed(event)

    [(uow_arg, mailer, links, event_arg, booking)] = told
    assert uow_arg is uow and mailer is service.mailer and event_arg is event
    assert links is service.links
    assert booking["date"] == "2027-03-29"
    assert booking["local_starts_at"] == "2027-03-29T08:30:00+02:00"
    # the day-before record written by the read of what the next steps need
    [(booking, written)] = remembered
    assert booking["date"] == written["date"] == "2027-03-29"
    assert written["status"] == "confirmed"
    [(_, endpoints)] = offered
    assert endpoints == ["an endpoint"]
    # one consumer, one transaction, each effect under the inbox mark its own
    # consumer had: the database's effects first, the mail last
    service.db.unit_of_work.assert_called_once_with()
    uow.mark_all_handled.assert_called_once_with(event, [
        "notify.remember_booking_confirmed", "notify.webhooks_booking_confirmed",
        "notify.on_booking_confirmed"])
    uow.after_commit.assert_called_once_with(service.webhook_dispatcher.wake)
