"""The event envelope every Relais event travels in.

``{event_id, type, occurred_at, version, source, data}``: ``event_id`` makes a
redelivered event recognisable (the inbox), ``type`` is a past-tense fact such as
``booking.confirmed``, ``data`` holds JSON-native values only.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import Schema, fields, validate, EXCLUDE


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z]+\.[a-z_]+$"))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    source = fields.String(required=True)
    data = fields.Dict(required=True)


def make_envelope(source, event_type, data, version=1):
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "version": version,
        "source": source,
        "data": data,
    }


def event_exchange_name(source_service):
    """The exchange a service's events are published to (nameko's convention)."""
    return f"{source_service}.events"
