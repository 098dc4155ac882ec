"""Shared code: payload validation, the caller context, event envelopes, and
how the gateway shows a service's error (problem+json)."""
import json
import uuid
from datetime import datetime, timezone
from http import HTTPStatus

import pytest
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from nameko.exceptions import serialize

from common import errors
from common.caller import Caller, load_caller
from common.db import database_unavailable
from common.events import EnvelopeSchema, event_exchange_name, make_envelope
from common.validation import flatten_messages, is_uuid, load
from gateway.problems import PROBLEM_BASE, REMOTE_STATUSES, Problem, from_remote_error
from gateway.rpc import RemoteError
from contracts.rpc.booking import BookingCreateSchema, RelayCreateSchema

# --- common.validation --------------------------------------------------------


def test_load_returns_the_deserialised_data():
    data = load(BookingCreateSchema(), {"space_id": "5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f",
                                        "date": "2027-03-29", "slot": "morning"})

    assert data["space_id"] == uuid.UUID("5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f")
    assert data["date"].isoformat() == "2027-03-29"
    assert data["slot"] == "morning"


def test_load_raises_invalid_input_with_one_entry_per_bad_field():
    with pytest.raises(errors.InvalidInput) as raised:
        load(BookingCreateSchema(), {"space_id": "nope", "slot": "night"})

    exc = raised.value
    assert exc.code == "validation-error"
    assert exc.detail == "The request has invalid fields."
    assert set(exc.fields) == {"space_id", "date", "slot"}
    assert exc.fields["date"] == ["Missing data for required field."]
    assert all(isinstance(messages, list) and messages for messages in exc.fields.values())


def test_load_flattens_nested_field_errors_to_dotted_names():
    payload = {"name": "R", "address": "1 place de la Mairie", "postcode": "12400",
               "commune": "Saint-Affrique", "latitude": 43.95, "longitude": 2.89,
               "timezone": "Europe/Paris",
               "opening_hours": {"monday": {"morning": ["8h", "12:00"]}}}

    with pytest.raises(errors.InvalidInput) as raised:
        load(RelayCreateSchema(), payload)

    assert set(raised.value.fields) == {"opening_hours.monday.value.morning._schema"}


@pytest.mark.parametrize("payload", [None, [], ["a"], "text", 42])
def test_load_refuses_a_payload_that_is_not_an_object(payload):
    with pytest.raises(errors.InvalidInput) as raised:
        load(BookingCreateSchema(), payload)

    assert raised.value.detail == "The request body must be a JSON object."
    assert raised.value.fields == {}


def test_flatten_messages():
    assert flatten_messages({"address": {"postcode": ["bad"]}, "name": "short"}) == {
        "address.postcode": ["bad"], "name": ["short"]}
    assert flatten_messages(["whole request is wrong"]) == {"_schema": ["whole request is wrong"]}


@pytest.mark.parametrize("value, expected", [
    ("5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7f", True),
    (uuid.uuid4(), True),
    ("42", False),
    ("", False),
    ("5f0e0c1a-7d1b-4d8e-9c57-0a3b4c5d6e7", False),
])
def test_is_uuid(value, expected):
    assert is_uuid(value) is expected


# --- common.caller ------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, {}])
def test_load_caller_refuses_an_anonymous_call(raw):
    with pytest.raises(errors.Unauthorized) as raised:
        load_caller(raw)

    assert raised.value.code == "unauthorized"


def test_load_caller_builds_a_caller():
    caller = load_caller({"user_id": "u-1", "organisation_id": "o-1",
                          "roles": ["member", "corporate_admin"], "relay_ids": ["r-1"],
                          "unexpected": "ignored"})

    assert caller == Caller("u-1", "o-1", frozenset({"member", "corporate_admin"}),
                            frozenset({"r-1"}))


def test_load_caller_defaults():
    caller = load_caller({"user_id": "u-1"})

    assert caller.organisation_id is None
    assert caller.roles == frozenset()
    assert caller.relay_ids == frozenset()


def test_load_caller_rejects_an_unknown_role():
    with pytest.raises((ValidationError, errors.RelaisError)) as raised:
        load_caller({"user_id": "u-1", "roles": ["superuser"]})

    assert "roles" in str(raised.value.args)


def test_load_caller_refuses_a_malformed_caller_as_unauthorized():
    with pytest.raises(errors.Unauthorized):
        load_caller({"user_id": "u-1", "roles": ["superuser"]})


def test_require_passes_with_one_of_the_roles_and_refuses_otherwise():
    caller = Caller("u-1", "o-1", frozenset({"member"}))

    caller.require("member", "network_admin")  # does not raise
    with pytest.raises(errors.Forbidden) as raised:
        caller.require("network_admin", "network_ops")

    assert raised.value.code == "forbidden"
    assert "network_admin, network_ops" in raised.value.detail


def test_caller_scopes():
    ops = Caller("u-1", None, frozenset({"network_ops"}))
    admin = Caller("u-2", None, frozenset({"network_admin"}))
    member = Caller("u-3", "o-1", frozenset({"member"}))

    assert ops.sees_whole_network and not ops.is_network_admin
    assert admin.sees_whole_network and admin.is_network_admin
    assert not member.sees_whole_network and not member.is_network_admin
    assert member.has("member", "relay_manager") and not member.has("relay_manager")


# --- common.errors --------------------------------------------------------------


def test_errors_carry_detail_code_and_fields_in_their_args():
    exc = errors.Conflict("Taken.", code="space-taken", fields={"date": ["Taken."]})

    assert exc.args == ("Taken.", "space-taken", {"date": ["Taken."]})
    assert (exc.detail, exc.code, exc.fields) == ("Taken.", "space-taken", {"date": ["Taken."]})
    assert errors.NotFound("x").code == "not-found"
    assert errors.NotFound("x").fields == {}


# --- common.events ----------------------------------------------------------------


def test_make_envelope_passes_the_envelope_schema():
    envelope = make_envelope("booking", "booking.confirmed", {"booking_id": "b-1"})

    assert EnvelopeSchema().validate(envelope) == {}
    loaded = EnvelopeSchema().load(envelope)
    assert loaded["type"] == "booking.confirmed"
    assert loaded["source"] == "booking"
    assert loaded["version"] == 1
    assert loaded["data"] == {"booking_id": "b-1"}
    assert loaded["occurred_at"].utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - loaded["occurred_at"]).total_seconds()) < 5


def test_make_envelope_is_json_native_and_ids_are_unique():
    first = make_envelope("identity", "identity.user_provisioned", {"user_id": "u-1"}, version=2)
    second = make_envelope("identity", "identity.user_provisioned", {"user_id": "u-1"})

    assert json.loads(json.dumps(first)) == first
    assert uuid.UUID(first["event_id"]).version == 4
    assert first["event_id"] != second["event_id"]
    assert first["version"] == 2


@pytest.mark.parametrize("bad_type", ["BookingConfirmed", "booking", "booking.Confirmed",
                                      "booking.confirmed.v2", "booking-confirmed", ""])
def test_envelope_schema_rejects_a_badly_named_type(bad_type):
    envelope = make_envelope("booking", bad_type, {})

    assert "type" in EnvelopeSchema().validate(envelope)


def test_envelope_schema_rejects_missing_fields_naive_times_and_version_zero():
    envelope = make_envelope("booking", "booking.confirmed", {})
    envelope["occurred_at"] = "2027-03-29T08:30:00"
    envelope["version"] = 0
    del envelope["event_id"]

    assert set(EnvelopeSchema().validate(envelope)) == {"occurred_at", "version", "event_id"}


def test_event_exchange_name_follows_nameko():
    assert event_exchange_name("booking") == "booking.events"


# --- gateway.problems ----------------------------------------------------------


def remote(exc):
    """What the gateway's RPC client raises when a service raised ``exc``
    (built with nameko's own serialisation)."""
    return RemoteError(serialize(exc))


@pytest.mark.parametrize("exc, status", [
    (errors.InvalidInput("Bad date.", fields={"date": ["Not a valid date."]}), 422),
    (errors.NotFound("No booking b-1."), 404),
    (errors.Conflict("This space is already booked.", code="space-taken"), 409),
    (errors.Forbidden("This needs one of the roles: network_admin."), 403),
    (errors.Unauthorized("Wrong e-mail or password.", code="invalid-credentials"), 401),
])
def test_from_remote_error_maps_each_service_error(exc, status):
    problem = from_remote_error(remote(exc))

    assert problem.status == status
    assert problem.code == exc.code
    assert problem.detail == exc.detail
    assert problem.fields == exc.fields


def test_every_common_error_has_a_status():
    paths = {f"common.errors.{cls.__name__}" for cls in errors.RelaisError.__subclasses__()}

    assert paths == set(REMOTE_STATUSES)


def test_unknown_remote_error_is_a_500_without_internals():
    secret = "connection to server at 10.0.3.7 failed: password authentication failed"
    problem = from_remote_error(RemoteError({
        "exc_type": "OperationalError", "exc_path": "sqlalchemy.exc.OperationalError",
        "exc_args": [secret], "value": secret}))

    assert problem.status == 500
    assert problem.code == "internal-error"
    assert problem.fields == {}
    assert "10.0.3.7" not in problem.detail and "password" not in problem.detail


def test_remote_error_without_args_still_maps():
    problem = from_remote_error(RemoteError({
        "exc_type": "NotFound", "exc_path": "common.errors.NotFound", "exc_args": [],
        "value": "gone"}))

    assert (problem.status, problem.code, problem.detail, problem.fields) == (404, "error", "gone", {})


def test_problem_response_is_rfc9457():
    problem = Problem(422, "validation-error", "The request has invalid fields.",
                      {"slot": ["Must be one of: morning, afternoon, day."]},
                      headers={"X-Extra": "1"})

    response = problem.response("/v1/bookings", "gateway.post.abc")
    body = json.loads(response.get_data())

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.headers["X-Extra"] == "1"
    assert body == {
        "type": PROBLEM_BASE + "validation-error",
        "title": HTTPStatus(422).phrase,
        "status": 422,
        "detail": "The request has invalid fields.",
        "instance": "/v1/bookings",
        "call_id": "gateway.post.abc",
        "errors": {"slot": ["Must be one of: morning, afternoon, day."]},
    }
    assert body["type"].startswith("https://")


def test_problem_response_omits_errors_when_there_are_none():
    body = json.loads(Problem(404, "not-found", "No booking b-1.").response("/x", "c").get_data())

    assert "errors" not in body
    assert body["title"] == "Not Found"
    assert body["type"] == PROBLEM_BASE + "not-found"


def test_a_request_is_remembered_by_a_keyed_hash(monkeypatch):
    import hashlib
    import json

    from common.db import hash_request
    request = {"email": "a@example.org", "password": "correct horse battery staple"}
    default = hash_request(request)
    assert default == hash_request({"password": request["password"], "email": "a@example.org"})
    assert default != hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    monkeypatch.setenv("RELAIS_IDEMPOTENCY_HMAC_KEY", "a-production-secret")
    assert hash_request(request) not in (default, hashlib.sha256(
        json.dumps(request, sort_keys=True, default=str).encode()).hexdigest())


def test_nul_and_lone_surrogates_are_refused_at_load_naming_the_field():
    from marshmallow import Schema, fields

    from common import errors
    from common.validation import load, unstorable_text

    assert unstorable_text({"a": "ok", "b": ["x", "y\x00"], "c": {"d": "\ud800"}}) == [
        "b.1", "c.d"]
    assert unstorable_text({"fine": "é 😀 \u2028"}) == []

    class Named(Schema):
        name = fields.String()

    with pytest.raises(errors.InvalidInput) as refused:
        load(Named(), {"name": "a\x00b"})
    assert refused.value.code == "invalid-characters"
    assert list(refused.value.fields) == ["name"]
    assert load(Named(), {"name": "Zoé"}) == {"name": "Zoé"}


def test_rpc_replies_are_published_without_waiting_for_a_confirm():
    """A reply goes to the caller's exclusive, non-durable queue: a confirm
    cost a broker round trip per call and protected nothing (common.service)."""
    from nameko import rpc as nameko_rpc
    from nameko.amqp.publish import Publisher

    from common.service import ReplyPublisher
    assert nameko_rpc.Responder.publisher_cls is ReplyPublisher
    assert ReplyPublisher("amqp://unused/").use_confirms is False
    assert Publisher.use_confirms is True  # events and parked messages keep theirs


def test_rpc_replies_share_one_producer_pool_per_broker_setting_without_confirms(monkeypatch):
    """nameko made a kombu Connection (parsing the URL) for every reply only to
    find the producer pool: the pool's key is now made once, and a reply goes
    through it with the service's broker user, without a confirm."""
    from kombu.pools import producers

    from common.service import ReplyPublisher, _reply_pool_key
    uri = "amqp://relais_booking:secret@broker:5672/relais"
    key = _reply_pool_key(uri, None)
    assert _reply_pool_key(uri, None) is key
    assert key.transport_options["confirm_publish"] is False
    published = []

    class Producer:
        def publish(self, payload, **kwargs):
            published.append((payload, kwargs))

    class Pool:
        def acquire(self, block):
            assert block is True
            from contextlib import nullcontext
            return nullcontext(Producer())
    monkeypatch.setitem(producers, key, Pool())
    ReplyPublisher(uri).publish({"result": 1, "error": None}, serializer="json",
                                exchange="nameko-rpc", routing_key="reply.1", correlation_id="c")
    (payload, kwargs), = published
    assert payload == {"result": 1, "error": None}
    assert kwargs["user_id"] == "relais_booking" and kwargs["routing_key"] == "reply.1"
    assert kwargs["correlation_id"] == "c" and kwargs["retry"] is True


def test_the_consumers_quick_envelope_check_never_accepts_what_the_schema_refuses():
    """common.consumer checks an envelope made by make_envelope in microseconds;
    anything unusual goes to EnvelopeSchema, which decides."""
    from common.consumer import plainly_an_envelope
    good = make_envelope("booking", "booking.confirmed", {"booking_id": "b"})
    assert plainly_an_envelope(good)
    EnvelopeSchema().load(good)
    odd = [dict(good, version="1"), dict(good, version=True), dict(good, version=0),
           dict(good, type="Booking.confirmed"), dict(good, type="booking.confirmed\n"),
           dict(good, event_id="not-a-uuid"), dict(good, occurred_at="2026-12-01T10:00:00"),
           dict(good, occurred_at="yesterday"), dict(good, data=[]), dict(good, source=None),
           {key: value for key, value in good.items() if key != "source"}, [], None, "text"]
    for body in odd:
        assert not plainly_an_envelope(body), body


class _PgError(Exception):
    def __init__(self, pgcode):
        super().__init__("from PostgreSQL")
        self.pgcode = pgcode


@pytest.mark.parametrize("error, unavailable", [
    (sa_exc.OperationalError("SELECT 1", {}, _PgError("57P01")), True),   # terminated by an admin
    (sa_exc.OperationalError("SELECT 1", {}, _PgError("57P03")), True),   # starting up
    (sa_exc.OperationalError("SELECT 1", {}, _PgError(None)), True),      # connection refused
    (sa_exc.OperationalError("SELECT 1", {}, _PgError("08006")), True),   # connection failure
    (sa_exc.OperationalError("SELECT 1", {}, _PgError("57014")), False),  # statement timeout
    (sa_exc.OperationalError("SELECT 1", {}, _PgError("40P01")), False),  # deadlock
    (sa_exc.IntegrityError("INSERT", {}, _PgError("23505")), False),
    (sa_exc.DBAPIError("SELECT 1", {}, _PgError("XX000"), connection_invalidated=True), True),
    (ValueError("not the database"), False),
])
def test_database_unavailable_tells_an_outage_from_a_wrong_statement(error, unavailable):
    assert database_unavailable(error) is unavailable


def test_the_database_unavailable_reaches_the_client_as_503_with_retry_after():
    error = errors.Unavailable("The service's database is unavailable.", code="database-unavailable",
                               fields={"retry_after_seconds": [2]})
    problem = from_remote_error(RemoteError(serialize(error)))
    assert (problem.status, problem.code, problem.headers) == (
        503, "database-unavailable", {"Retry-After": "2"})
