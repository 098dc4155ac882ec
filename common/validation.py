"""Load RPC payloads through marshmallow, turning its errors into InvalidInput
with per-field messages (what the gateway shows as a 422 problem)."""
import uuid

from marshmallow import ValidationError

from common import errors


def load(schema, payload, **kwargs):
    if not isinstance(payload, dict):
        raise errors.InvalidInput("The request body must be a JSON object.")
    try:
        return schema.load(payload, **kwargs)
    except ValidationError as exc:
        raise errors.InvalidInput("The request has invalid fields.",
                                  fields=flatten_messages(exc.messages)) from None


def flatten_messages(messages, prefix=""):
    """{"address": {"postcode": ["..."]}} -> {"address.postcode": ["..."]}"""
    flat = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_schema", messages)]):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_messages(value, name + "."))
        else:
            flat[name] = value if isinstance(value, list) else [value]
    return flat


def is_uuid(value):
    """Ids are UUIDs: anything else names no row (and would make PostgreSQL
    raise instead of finding nothing)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
