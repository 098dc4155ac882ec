"""SCIM 2.0 (RFC 7643/7644) for the User resource, as pure functions: the filter
grammar, reading a User from a request body, applying PATCH operations, and
writing a User out. No database here; ``scim.py`` does the I/O.

A user, as SCIM sees it, is the flat dict ``State``: ``user_name``, ``email``,
``external_id``, ``active``, ``given_name``, ``family_name``, ``full_name``,
``password`` (write only). Attribute names are case-insensitive (RFC 7643 2.1)
and may carry their schema URN. Attributes of the core User schema or of the
enterprise extension that Relais does not keep (title, phoneNumbers,
department...) are accepted and ignored, so an identity provider's default
mapping works; a path that names nothing of either schema is ``invalidPath``.
"""
import json
import re

from common import errors
from common.validation import MAX_EMAIL_LENGTH, is_email, unstorable_text
from contracts.scim import (
    ENTERPRISE_SCHEMA, IGNORED_NAME_PARTS, LIST_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, normalise_path,
)
from contracts.scim import IGNORED_ATTRIBUTES as IGNORED_ATTRIBUTES_BY_NAME

# Core User attributes Relais accepts but does not keep (names lowered, as
# every attribute name here is).
IGNORED_ATTRIBUTES = {name.lower() for name in IGNORED_ATTRIBUTES_BY_NAME} | {
    f"name.{part.lower()}" for part in IGNORED_NAME_PARTS}
# Every string of a User is bounded before anything else reads it (an e-mail's
# bound: userName is often one); the e-mail check is linear (common.validation).
MAX_VALUE_LENGTH = MAX_EMAIL_LENGTH
MAX_FILTER_LENGTH = 1000
# Parentheses, "not" and value paths nest at most this deep: deeper is not a
# filter an identity provider sends, and it would exhaust Python's stack.
MAX_FILTER_DEPTH = 20


def scim_error(scim_type, detail):
    """A 400 with its SCIM ``scimType`` (the gateway shows it as a SCIM error)."""
    return errors.InvalidInput(detail, code=scim_type)


# Filters (RFC 7644 3.4.2.2) -------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:(?P<lpar>\()|(?P<rpar>\))|(?P<lbr>\[)|(?P<rbr>\])'
                    r'|(?P<string>"(?:[^"\\]|\\.)*")'
                    r'|(?P<word>[^\s()\[\]"]+))')
COMPARISONS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}


def parse_filter(text):
    """The filter as a tree: ``("and"|"or", left, right)``, ``("not", node)``,
    ``("pr", path)``, ``("cmp", path, op, value)``, ``("value_path", path, node)``.
    Raises ``invalidFilter`` with what is wrong."""
    if len(text) > MAX_FILTER_LENGTH:
        raise scim_error("invalidFilter", f"A filter has at most {MAX_FILTER_LENGTH} characters.")
    if unstorable_text(text):
        raise scim_error("invalidFilter", "A filter may not hold a NUL or an unpaired surrogate.")
    tokens = _tokenise(text)
    parser = _FilterParser(tokens)
    node = parser.expression()
    if parser.position != len(tokens):
        raise scim_error("invalidFilter", f"Unexpected {tokens[parser.position][1]!r} in the filter.")
    return node


def _tokenise(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise scim_error("invalidFilter", f"Cannot read the filter at {text[position:]!r}.")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise scim_error("invalidFilter", "The filter is empty.")
    return tokens


class _FilterParser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def nested(self, closing):
        """The expression inside ``(...)`` or ``[...]``, at most MAX_FILTER_DEPTH deep."""
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise scim_error("invalidFilter",
                             f"A filter nests at most {MAX_FILTER_DEPTH} levels deep.")
        node = self.expression()
        self.take(closing)
        self.depth -= 1
        return node

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self, kind=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind):
            raise scim_error("invalidFilter", "The filter ends too early or is unbalanced.")
        self.position += 1
        return token

    def keyword(self, word):
        kind, value = self.peek()
        if kind == "word" and value.lower() == word:
            self.position += 1
            return True
        return False

    def expression(self):
        node = self.conjunction()
        while self.keyword("or"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.term()
        while self.keyword("and"):
            node = ("and", node, self.term())
        return node

    def term(self):
        if self.keyword("not"):
            self.take("lpar")
            return ("not", self.nested("rpar"))
        if self.peek()[0] == "lpar":
            self.take("lpar")
            return self.nested("rpar")
        kind, path = self.take("word")
        path = normalise_path(path)
        if self.peek()[0] == "lbr":
            self.take("lbr")
            return ("value_path", path, self.nested("rbr"))
        kind, op = self.take("word")
        op = op.lower()
        if op == "pr":
            return ("pr", path)
        if op not in COMPARISONS:
            raise scim_error("invalidFilter", f"Unknown operator {op!r}.")
        return ("cmp", path, op, self.value())

    def value(self):
        kind, raw = self.take()
        if kind == "string":
            try:
                text = json.loads(raw)
            except ValueError:
                raise scim_error("invalidFilter", f"{raw!r} is not a JSON string.") from None
            # After decoding: "\u0000" is a NUL once decoded, which no text may hold.
            if unstorable_text(text):
                raise scim_error("invalidFilter",
                                 "A filter may not hold a NUL or an unpaired surrogate.")
            return text
        if kind == "word":
            lowered = raw.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            try:
                return json.loads(raw)
            except ValueError:
                pass
        raise scim_error("invalidFilter", f"{raw!r} is not a value: quote strings.")


# Reading a User ---------------------------------------------------------------

def _check_text(body):
    """The service's own defence (the gateway refuses these first)."""
    found = unstorable_text(body)
    if found:
        raise scim_error("invalidValue", f"{', '.join(found)}: a NUL or an unpaired "
                                         "surrogate cannot be stored.")


def _lower_keys(value):
    if isinstance(value, dict):
        return {key.lower(): _lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


def state_from_resource(body, active=True):
    """The ``State`` a POST or PUT body describes; ``active`` when the body does
    not say (a PUT keeps the user's current value: RFC 7644 3.5.1 lets a
    server keep what the client does not send, and an identity provider that
    omits ``active`` must not reactivate someone)."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    lowered = _lower_keys(body)
    schemas = [str(schema).lower() for schema in lowered.get("schemas") or []]
    if USER_SCHEMA.lower() not in schemas:
        raise scim_error("invalidSyntax", f"schemas must list {USER_SCHEMA}.")
    state = {"password": None}
    apply_value(state, "username", lowered.get("username"))
    for attribute in ("externalid", "name", "displayname", "emails", "active", "password"):
        if attribute in lowered:
            apply_value(state, attribute, lowered[attribute])
    state.setdefault("active", active)
    state.setdefault("external_id", None)
    return complete(state)


def complete(state):
    """Fill what follows from the rest: the e-mail from a userName that is one,
    the full name from the parts. Checks what a user cannot do without."""
    user_name = state.get("user_name")
    if not user_name:
        raise scim_error("invalidValue", "userName is required.")
    if not state.get("email"):
        if is_email(user_name):
            state["email"] = user_name
        else:
            raise scim_error("invalidValue", "Give an e-mail: userName or emails[].value.")
    if not is_email(state["email"]):
        raise scim_error("invalidValue", f"{state['email']!r} is not an e-mail address.")
    if not state.get("full_name"):
        parts = [state.get("given_name"), state.get("family_name")]
        state["full_name"] = " ".join(part for part in parts if part)[:MAX_VALUE_LENGTH] \
            or user_name
    return state


def _string(path, value, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise scim_error("invalidValue", f"{path} must be a non-empty string.")
    if len(value) > MAX_VALUE_LENGTH:  # before any pattern or rule reads it
        raise scim_error("invalidValue",
                         f"{path} is too long ({MAX_VALUE_LENGTH} characters at most).")
    return value.strip()


def _boolean(path, value):
    # Microsoft Entra ID sends "True" and "False" as strings.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise scim_error("invalidValue", f"{path} must be true or false.")
    return value


def _primary_email(emails):
    if not isinstance(emails, list) or not all(isinstance(item, dict) for item in emails):
        raise scim_error("invalidValue", "emails must be a list of {value, type, primary}.")
    if not emails:
        return None
    chosen = next((item for item in emails if item.get("primary") in (True, "true", "True")),
                  emails[0])
    return _string("emails.value", chosen.get("value"), required=True)


def apply_value(state, path, value):
    """Set one attribute (a normalised path) of ``state``: what a POST/PUT
    attribute, a PATCH add/replace with a path, or a key of a PATCH value does."""
    if path == "username":
        state["user_name"] = _string("userName", value, required=True)
    elif path == "externalid":
        state["external_id"] = _string("externalId", value)
    elif path == "active":
        state["active"] = _boolean("active", value)
    elif path == "password":
        state["password"] = _string("password", value, required=True)
    elif path in ("displayname", "name.formatted"):
        state["full_name"] = _string(path, value)
    elif path == "name.givenname":
        state["given_name"] = _string("name.givenName", value)
    elif path == "name.familyname":
        state["family_name"] = _string("name.familyName", value)
    elif path == "name":
        if not isinstance(value, dict):
            raise scim_error("invalidValue", "name must be an object.")
        for key, item in _lower_keys(value).items():
            apply_value(state, f"name.{key}", item)
    elif path == "emails":
        email = _primary_email(value)
        if email:
            state["email"] = email
    elif path in ("emails.value", 'emails[type eq "work"].value',
                  "emails[primary eq true].value"):
        state["email"] = _string("emails.value", value, required=True)
    elif path.startswith("enterprise:") or path.split(".")[0].split("[")[0] in IGNORED_ATTRIBUTES:
        return
    elif path.startswith("urn:"):
        if path.startswith(ENTERPRISE_SCHEMA.lower()):
            return
        raise scim_error("invalidPath", f"Unknown schema in {path!r}.")
    else:
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a User.")


# PATCH (RFC 7644 3.5.2) ---------------------------------------------------------

# What a remove clears; the full name and the e-mail are then derived again
# (from the name's parts, or from userName) by ``complete``.
REMOVABLE = {"externalid": ("external_id",), "name.givenname": ("given_name",),
             "name.familyname": ("family_name",), "displayname": ("full_name",),
             "name.formatted": ("full_name",),
             "name": ("given_name", "family_name", "full_name"),
             "emails": ("email",), "emails.value": ("email",)}


def apply_patch(state, body):
    """``state`` after the PATCH request ``body``; all or nothing."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    lowered = _lower_keys(body)
    if PATCH_SCHEMA.lower() not in [str(s).lower() for s in lowered.get("schemas") or []]:
        raise scim_error("invalidSyntax", f"schemas must be [{PATCH_SCHEMA}].")
    operations = lowered.get("operations")
    if not isinstance(operations, list) or not operations:
        raise scim_error("invalidSyntax", "Operations must be a non-empty list.")
    state = dict(state, password=None)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise scim_error("invalidSyntax", "Each operation is an object.")
        op = str(operation.get("op", "")).lower()
        path = operation.get("path")
        if op not in ("add", "replace", "remove"):
            raise scim_error("invalidSyntax", f"Unknown op {operation.get('op')!r}.")
        if path is not None and not isinstance(path, str):
            raise scim_error("invalidPath", "path must be a string.")
        # Operations carry the body's lowered keys; values keep their case.
        value = _original_value(body, index)
        if op == "remove":
            _remove(state, path)
        elif path is None:
            if not isinstance(value, dict):
                raise scim_error("invalidValue", "Without a path, value must be an object.")
            for key, item in value.items():
                apply_value(state, normalise_path(key), item)
        else:
            apply_value(state, normalise_path(path), value)
    return complete(state)


def _original_value(body, index):
    operations = next(value for key, value in body.items() if key.lower() == "operations")
    operation = operations[index]
    return next((value for key, value in operation.items() if key.lower() == "value"), None)


def _remove(state, path):
    if not path:
        raise scim_error("noTarget", "remove needs a path.")
    path = normalise_path(path)
    if path in REMOVABLE:
        for name in REMOVABLE[path]:
            state[name] = None
    elif path.startswith("enterprise:") or path.split(".")[0].split("[")[0] in IGNORED_ATTRIBUTES:
        return
    elif path in ("username", "active", "password"):
        raise scim_error("mutability", f"{path} cannot be removed.")
    else:
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a User.")


# Writing a User -----------------------------------------------------------------

def resource(user):
    """A user as a SCIM User resource (``meta.location`` is added by the
    gateway, which knows the public URL)."""
    name = {"formatted": user.full_name}
    if user.given_name:
        name["givenName"] = user.given_name
    if user.family_name:
        name["familyName"] = user.family_name
    body = {
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": user.user_name or user.email,
        "name": name,
        "displayName": user.full_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": user.active,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.isoformat(),
            "lastModified": user.updated_at.isoformat(),
            "version": f'W/"{int(user.updated_at.timestamp() * 1_000_000)}"',
        },
    }
    if user.external_id:
        body["externalId"] = user.external_id
    return body


def state_of(user):
    return {"user_name": user.user_name or user.email, "email": user.email,
            "external_id": user.external_id, "active": user.active,
            "given_name": user.given_name, "family_name": user.family_name,
            "full_name": user.full_name, "password": None}


def list_response(resources, total, start_index):
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start_index,
            "itemsPerPage": len(resources), "Resources": resources}
