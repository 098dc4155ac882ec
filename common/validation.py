"""Load RPC payloads through marshmallow, turning its errors into InvalidInput
with per-field messages (what the gateway shows as a 422 problem).

Every input is bounded before any pattern sees it (``check_bounds``, run by
``load`` before marshmallow): a text field holds at most its declared
``Length`` (an e-mail 320 characters, a URL 2,048, any other text 10,000), a
date, number or id at most 64 characters, a list at most 1,000 items. So a
regular expression, however written, only ever runs on a short string, and
the patterns that stay are linear (``is_email``).
"""
import re
import uuid

from marshmallow import ValidationError, fields, validate

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


MAX_EMAIL_LENGTH = 320  # RFC 5321's 64 + 1 + 255, rounded as everyone does
MAX_URL_LENGTH = 2048
MAX_TEXT_LENGTH = 10_000  # a text field that declares no maximum
MAX_SCALAR_LENGTH = 64  # a date, a number, an id, a boolean written as text
MAX_LIST_ITEMS = 1000  # a list that declares no maximum
# Linear: a local part without "@", then dot-separated labels without "@" or
# ".", so each character can belong to one place only (no backtracking). The
# old ``[^@\s]+@[^@\s]+\.[^@\s]+`` tried every dot of the domain: quadratic.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def is_email(value):
    """An e-mail address as Relais accepts one: bounded, then one linear pattern."""
    return (isinstance(value, str) and len(value) <= MAX_EMAIL_LENGTH
            and _EMAIL.fullmatch(value) is not None)


SCALAR_FIELDS = (fields.Number, fields.Boolean, fields.DateTime, fields.Date, fields.Time,
                 fields.TimeDelta)


def _declared_max(field, kind):
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return validator.max
    if kind == "list":
        return MAX_LIST_ITEMS
    if isinstance(field, fields.Email):
        return MAX_EMAIL_LENGTH
    if isinstance(field, fields.Url):
        return MAX_URL_LENGTH
    if isinstance(field, SCALAR_FIELDS):
        return MAX_SCALAR_LENGTH
    return MAX_TEXT_LENGTH  # text, and fields of our own (a comma list...)


def _too_long(schema, payload, path, found):
    if not isinstance(payload, dict):
        return
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        if key in payload:
            _bound(field, payload[key], f"{path}{key}", found)


def _bound(field, value, path, found):
    if isinstance(field, fields.Nested):
        items = value if field.many and isinstance(value, list) else [value]
        if field.many and isinstance(value, list) and len(value) > MAX_LIST_ITEMS:
            found[path] = [f"At most {MAX_LIST_ITEMS} items."]
            return
        for index, item in enumerate(items):
            _too_long(field.schema, item, f"{path}.{index}." if field.many else f"{path}.",
                      found)
    elif isinstance(field, fields.List) and isinstance(value, list):
        limit = _declared_max(field, "list")
        if len(value) > limit:
            found[path] = [f"At most {limit} items."]
            return
        for index, item in enumerate(value):
            _bound(field.inner, item, f"{path}.{index}", found)
    elif isinstance(field, fields.Dict) and isinstance(value, dict):
        if len(value) > MAX_LIST_ITEMS:
            found[path] = [f"At most {MAX_LIST_ITEMS} entries."]
            return
        for key, item in value.items():
            if isinstance(key, str) and len(key) > MAX_SCALAR_LENGTH:
                found[path] = [f"A key has at most {MAX_SCALAR_LENGTH} characters."]
            elif field.value_field is not None:
                _bound(field.value_field, item, f"{path}.{key}", found)
    elif isinstance(value, str):
        limit = _declared_max(field, "text")
        if len(value) > limit:
            found[path] = [f"Longer than maximum length {limit}."]


def check_bounds(schema, payload):
    """Refuse, naming the fields, any text longer than its field allows (and any
    list longer than its bound) before marshmallow runs a single validator."""
    found = {}
    _too_long(schema, payload, "", found)
    if found:
        raise errors.InvalidInput("The request has values that are too long.", fields=found)


MAX_JSON_DEPTH = 32  # objects and arrays within each other; no contract nests half as deep


def nesting_depth(value):
    """How deep objects and arrays nest in ``value``, without recursion (a
    recursive walk of a hostile body is what overflows the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            stack.extend((child, depth + 1) for child in item
                         if isinstance(child, (dict, list, tuple)))
    return deepest


def check_depth(value):
    if nesting_depth(value) > MAX_JSON_DEPTH:
        raise errors.InvalidInput(f"The body nests objects and arrays more than "
                                  f"{MAX_JSON_DEPTH} deep.", code="too-deep")


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
    check_depth(payload)
    check_text(payload)
    check_bounds(schema, payload)
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
