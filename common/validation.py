"""Load RPC payloads through marshmallow, turning its errors into InvalidInput
with per-field messages (what the gateway shows as a 422 problem)."""
import re
import uuid

from marshmallow import ValidationError

from common import errors


# A NUL, which PostgreSQL's text cannot hold, or a lone UTF-16 surrogate, which
# cannot be encoded (psycopg2, argon2): no input holds either.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value, path=""):
    """The paths (``a.b.0``) of the strings in ``value`` (keys too) that hold a
    NUL or a lone surrogate."""
    if isinstance(value, str):
        return [path or "_schema"] if _UNSTORABLE.search(value) else []
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key):
                found.append(path or "_schema")
                continue
            found.extend(unstorable_text(item, name))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(unstorable_text(item, f"{path}.{index}" if path else str(index)))
    return found


def check_text(value, path=""):
    """Refuse NULs and lone surrogates, naming where they are: the one check,
    used by the gateway (bodies, query strings) and by every service's ``load``."""
    found = unstorable_text(value, path)
    if found:
        raise errors.InvalidInput(
            "Text may not contain NUL characters or unpaired surrogates.",
            code="invalid-characters",
            fields={name: ["Contains a NUL character or an unpaired surrogate."]
                    for name in found})


def load(schema, payload, **kwargs):
    if not isinstance(payload, dict):
        raise errors.InvalidInput("The request body must be a JSON object.")
    check_text(payload)
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
