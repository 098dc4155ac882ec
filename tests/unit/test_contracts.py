"""The published language: one contract per event type, with its version, that
publishers dump with and consumers load with; consumers ignore what they do
not know."""
from datetime import datetime, timezone

import pytest
from marshmallow import EXCLUDE, ValidationError

from common.events import make_envelope
from contracts import events
from contracts.events.identity import UserDeactivatedSchema
from contracts.rpc.booking import SpaceSchema, SpaceSessionsSchema


@pytest.mark.parametrize("event_type", sorted(events.EVENTS))
def test_every_event_has_a_version_and_ignores_unknown_fields(event_type):
    assert events.version_of(event_type) >= 1
    assert events.schema_of(event_type).unknown == EXCLUDE
    assert events.source_of(event_type) in ("identity", "booking", "billing", "notify")


def test_a_consumer_loads_a_newer_version_with_an_added_field():
    data = {"user_id": "u-1", "organisation_id": "o-1",
            "deactivated_at": "2026-12-01T09:00:00+00:00", "reason": "left the company"}
    envelope = make_envelope("identity", "identity.user_deactivated", data, version=2)
    assert events.load(envelope) == {
        "user_id": "u-1", "organisation_id": "o-1",
        "deactivated_at": datetime(2026, 12, 1, 9, tzinfo=timezone.utc)}


def test_publishers_dump_through_the_contract_consumers_load_with():
    """What the publisher writes in the outbox loads back to the same facts."""
    at = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
    data = events.dump("identity.user_deactivated", {
        "user_id": "u-1", "organisation_id": "o-1", "deactivated_at": at, "password_hash": "x"})
    assert data == {"user_id": "u-1", "organisation_id": "o-1",
                    "deactivated_at": "2026-12-01T09:30:00+00:00"}  # nothing beyond the contract
    assert UserDeactivatedSchema().load(data)["deactivated_at"] == at


def test_user_deactivated_is_one_contract_as_identity_publishes_it():
    """It once had two schemas that disagreed: the organisation is always known
    (a user belongs to one) and the instant is an ISO-8601 aware datetime."""
    with pytest.raises(ValidationError) as refused:
        UserDeactivatedSchema().load({"user_id": "u-1", "organisation_id": None,
                                      "deactivated_at": "2026-12-01T09:00:00"})
    assert set(refused.value.messages) == {"organisation_id", "deactivated_at"}


def test_an_event_type_outside_the_published_language_is_refused():
    with pytest.raises(events.UnknownEventType):
        events.dump("booking.teleported", {})


def test_every_date_in_the_contracts_is_the_one_bounded_date_field():
    """One date rule everywhere: each date a contract loads is ``BoundedDate``
    (YYYY-MM-DD, 2000–2100), never marshmallow's lenient ``fields.Date``."""
    import contracts.rpc.billing
    import contracts.rpc.booking
    import contracts.rpc.identity
    import contracts.rpc.notify
    from marshmallow import Schema, fields

    from common.schemas import BoundedDate
    from contracts.events import EVENTS

    schemas = [schema for module in (contracts.rpc.billing, contracts.rpc.booking,
                                     contracts.rpc.identity, contracts.rpc.notify)
               for schema in vars(module).values()
               if isinstance(schema, type) and issubclass(schema, Schema)]
    schemas += [schema for schema, _version in EVENTS.values()]
    lenient = [f"{schema.__name__}.{name}" for schema in schemas
               for name, field in schema._declared_fields.items()
               if isinstance(field, fields.Date) and not isinstance(field, BoundedDate)]
    assert schemas and lenient == []


def test_a_space_offers_what_its_kind_may_and_a_booth_is_always_soundproof():
    booth = SpaceSchema().load({"kind": "teleconsultation_booth", "name": "Cabine",
                                "features": ["connected_medical_devices"]})
    assert booth["features"] == ["connected_medical_devices", "soundproof"]
    for wrong in ({"kind": "desk", "name": "B", "features": ["exam_suitable"]},
                  {"kind": "visio_room", "name": "V", "features": ["exam_suitable"]},
                  {"kind": "teleconsultation_booth", "name": "C", "capacity": 2},
                  {"kind": "study_room", "name": "S", "features": ["wifi"]}):
        with pytest.raises(ValidationError):
            SpaceSchema().load(wrong)
    study = SpaceSchema().load({"kind": "study_room", "name": "S", "capacity": 6,
                                "features": ["exam_suitable"]})
    assert study["capacity"] == 6
    for sessions in ([{"name": "A", "start": "09:00", "end": "09:30"}],
                     [{"name": "A", "start": "09:00", "end": "11:00"},
                      {"name": "B", "start": "10:00", "end": "12:00"}],
                     [{"name": "A", "start": "09:00", "end": "10:00"},
                      {"name": "A", "start": "10:00", "end": "11:00"}]):
        with pytest.raises(ValidationError):
            SpaceSessionsSchema().load({"sessions": sessions})
