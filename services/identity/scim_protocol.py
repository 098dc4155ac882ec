"""SCIM 2.0 (RFC 7643/7644) as pure functions: the filter grammar, reading a
User from a request body, applying PATCH operations, writing a User out, and
the same for a Group. No database here; ``scim.py`` does the I/O.

A user, as SCIM sees it, is the dict ``State``: ``user_name``, ``email``,
``external_id``, ``active``, ``given_name``, ``family_name``, ``full_name``,
``locale`` (from ``preferredLanguage``: its first language Relais writes in, else
French), ``password`` (write only), and ``kept``: every other attribute of the core User
schema and of the enterprise extension, kept as the identity provider sent it
and read back unchanged. Attribute names are case-insensitive (RFC 7643 2.1)
and may carry their schema URN; a path that names nothing of either schema is
``invalidPath``.
"""
import json
import re

from common import errors
from common.validation import MAX_EMAIL_LENGTH, is_email, unstorable_text
from contracts.vocabulary import DEFAULT_LOCALE, LOCALES, PASSWORD_MAX_LENGTH
from contracts.scim import (
    ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, normalise_path,
)

# Every string of a User is bounded before anything else reads it (an e-mail's
# bound: userName is often one); the e-mail check is linear (common.validation).
MAX_VALUE_LENGTH = MAX_EMAIL_LENGTH
MAX_FILTER_LENGTH = 1000
# Parentheses, "not" and value paths nest at most this deep: deeper is not a
# filter an identity provider sends, and it would exhaust Python's stack.
MAX_FILTER_DEPTH = 20
# Members one PATCH or PUT may name: providers send batches of a few hundred.
MAX_GROUP_MEMBERS_A_REQUEST = 1000


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
            node = ("value_path", path, self.nested("rbr"))
            kind, word = self.peek()
            if kind == "word" and word.startswith("."):
                # emails[type eq "work"].value eq "x": not RFC 7644's grammar, but
                # what Entra ID sends to match users on e-mail. It means
                # emails[type eq "work" and value eq "x"].
                self.position += 1
                sub = f"{path}{word.lower()}"
                kind, op = self.take("word")
                op = op.lower()
                last = ("pr", sub) if op == "pr" else ("cmp", sub, op, self.value())
                if op != "pr" and op not in COMPARISONS:
                    raise scim_error("invalidFilter", f"Unknown operator {op!r}.")
                node = ("value_path", path, ("and", node[2], _unprefixed(last, path)))
            return node
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


# What a User holds ----------------------------------------------------------------
#
# Columns hold what Relais uses (userName, the e-mail, givenName, familyName, the
# person's name, externalId, active). Everything else of the core User schema and
# of the enterprise extension is *kept as sent* in ``kept`` (the users table's
# ``scim_attributes``) and read back unchanged: an identity provider compares
# what it sent with what it reads, and a value that never matches means an
# update on every cycle (Entra ID). ``groups`` is read-only (memberships, from
# /Groups) and ``roles`` is kept but grants nothing in Relais.

# Core single-valued attributes kept as sent, by lowered name.
KEPT_SINGLE = {name.lower(): name for name in (
    "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
    "locale", "timezone")}
NAME_PARTS = {name.lower(): name for name in (
    "formatted", "givenName", "familyName", "middleName", "honorificPrefix", "honorificSuffix")}
# Core multi-valued attributes and their sub-attributes (RFC 7643 4.1.2).
MULTI_VALUED = {name.lower(): name for name in (
    "emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
    "x509Certificates")}
ENTRY_FIELDS = {name.lower(): name for name in (
    "value", "display", "type", "primary", "formatted", "streetAddress", "locality", "region",
    "postalCode", "country")}
ENTERPRISE_FIELDS = {name.lower(): name for name in (
    "employeeNumber", "costCenter", "organization", "division", "department", "manager")}
MANAGER_FIELDS = {name.lower(): name for name in ("value", "$ref", "displayName")}
READ_ONLY = {"groups", "id", "meta", "schemas"}
MAX_ENTRIES = 20            # per multi-valued attribute
MAX_KEPT_BYTES = 16 * 1024  # all the kept attributes of one user, as JSON


def new_state(active=True):
    return {"user_name": None, "email": None, "external_id": None, "active": active,
            "given_name": None, "family_name": None, "full_name": None, "password": None,
            "locale": DEFAULT_LOCALE, "kept": {}}


def state_of(user):
    return {"user_name": user.user_name or user.email, "email": user.email,
            "external_id": user.external_id, "active": user.active,
            "given_name": user.given_name, "family_name": user.family_name,
            "full_name": user.full_name, "password": None, "locale": user.locale,
            "kept": json.loads(json.dumps(user.scim_attributes or {}))}


def _unprefixed(node, path):
    """``("cmp", "emails.value", ...)`` -> ``("cmp", "value", ...)``: inside
    ``emails[...]`` a sub-attribute is named alone."""
    return (node[0], node[1][len(path) + 1:]) + tuple(node[2:])


# Reading a User ---------------------------------------------------------------

def _check_text(body):
    """The service's own defence (the gateway refuses these first)."""
    found = unstorable_text(body)
    if found:
        raise scim_error("invalidValue", f"{', '.join(found)}: a NUL or an unpaired "
                                         "surrogate cannot be stored.")


def _schemas_of(body):
    schemas = next((value for key, value in body.items() if key.lower() == "schemas"), None)
    return [str(schema).lower() for schema in schemas or []] if isinstance(schemas, list) else []


def state_from_resource(body, active=True):
    """The ``State`` a POST or PUT body describes; ``active`` when the body does
    not say (a PUT keeps the user's current value: RFC 7644 3.5.1 lets a
    server keep what the client does not send, and an identity provider that
    omits ``active`` must not reactivate someone). A PUT replaces every kept
    attribute with the body's."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    if USER_SCHEMA.lower() not in _schemas_of(body):
        raise scim_error("invalidSyntax", f"schemas must list {USER_SCHEMA}.")
    state = new_state(active)
    user_name = next((value for key, value in body.items() if key.lower() == "username"), None)
    apply_value(state, "userName", user_name)
    for key, value in body.items():
        if key.lower() not in ("username", "schemas", "id", "meta"):
            apply_value(state, key, value)
    return complete(state)


def complete(state):
    """Fill what follows from the rest: the e-mail from the kept e-mails or a
    userName that is one, the person's name from displayName, name.formatted
    or the parts. Checks what a user cannot do without."""
    user_name = state.get("user_name")
    if not user_name:
        raise scim_error("invalidValue", "userName is required.")
    kept = state["kept"]
    if kept.get("emails"):
        state["email"] = _chosen_entry(kept["emails"]).get("value") or state.get("email")
    if not state.get("email"):
        if is_email(user_name):
            state["email"] = user_name
        else:
            raise scim_error("invalidValue", "Give an e-mail: userName or emails[].value.")
    if not isinstance(state["email"], str) or not is_email(state["email"]):
        raise scim_error("invalidValue", f"{state['email']!r} is not an e-mail address.")
    if not state.get("full_name"):
        parts = " ".join(part for part in (state.get("given_name"), state.get("family_name"))
                         if part)
        state["full_name"] = (kept.get("displayName") or kept.get("name", {}).get("formatted")
                              or parts[:MAX_VALUE_LENGTH] or user_name)
    state["locale"] = state.get("locale") or DEFAULT_LOCALE
    if len(json.dumps(kept)) > MAX_KEPT_BYTES:
        raise scim_error("invalidValue", f"A user's other attributes hold at most "
                                         f"{MAX_KEPT_BYTES // 1024} KB.")
    return state


def locale_of_language(tag):
    """SCIM's preferredLanguage is an Accept-Language value ("en-US",
    "en-GB;q=0.9, fr"): the first language of it Relais writes in, else French."""
    for item in (tag or "").split(","):
        primary = item.split(";")[0].strip().split("-")[0].lower()
        if primary in LOCALES:
            return primary
    return DEFAULT_LOCALE


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


def _kept_text(path, value):
    """A kept string, as sent (or null)."""
    if value is None:
        return value
    if not isinstance(value, str):
        raise scim_error("invalidValue", f"{path} must be a string.")
    if len(value) > MAX_VALUE_LENGTH:
        raise scim_error("invalidValue",
                         f"{path} is too long ({MAX_VALUE_LENGTH} characters at most).")
    return value


def _entry(attribute, value):
    """One value of a multi-valued attribute, with its sub-attributes named as
    the schema does and kept as sent."""
    if not isinstance(value, dict):
        raise scim_error("invalidValue",
                         f"Each of {attribute} is an object ({{value, type, primary}}).")
    entry = {}
    for key, item in value.items():
        name = ENTRY_FIELDS.get(key.lower())
        if name is None:
            raise scim_error("invalidPath", f"{attribute}.{key} is not an attribute of a User.")
        if name == "primary":
            entry[name] = None if item is None else _boolean(f"{attribute}.primary", item)
        else:
            entry[name] = _kept_text(f"{attribute}.{name}", item)
    if attribute == "emails" and entry.get("value") is not None:
        entry["value"] = _string("emails.value", entry["value"], required=True)
    return entry


def _entries(attribute, value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise scim_error("invalidValue", f"{attribute} must be a list of objects.")
    if len(value) > MAX_ENTRIES:
        raise scim_error("invalidValue", f"{attribute} holds at most {MAX_ENTRIES} values.")
    return [_entry(attribute, item) for item in value]


def _chosen_entry(entries):
    """The e-mail Relais uses: the primary one, else the work one, else the first."""
    return (next((e for e in entries if e.get("primary") is True), None)
            or next((e for e in entries if str(e.get("type", "")).lower() == "work"), None)
            or entries[0])


# Paths: attribute, attribute.sub, attribute[filter], attribute[filter].sub -----------

_PATH = re.compile(r"^(?P<attribute>[A-Za-z][\w$-]*)(?:\[(?P<filter>.*)\])?"
                   r"(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$", re.DOTALL)


def parse_path(path):
    """``(schema, attribute, filter node or None, sub-attribute or None)`` with
    names lowered; ``schema`` is ``"core"`` or ``"enterprise"``."""
    if not isinstance(path, str) or not path.strip() or len(path) > MAX_FILTER_LENGTH:
        raise scim_error("invalidPath", "path must be a non-empty string.")
    path = path.strip()
    schema = "core"
    for urn, name in ((ENTERPRISE_SCHEMA, "enterprise"), (USER_SCHEMA, "core")):
        if path.lower().startswith(urn.lower()):
            schema, path = name, path[len(urn):].lstrip(":")
            break
    else:
        if path.lower().startswith("urn:"):
            raise scim_error("invalidPath", f"Unknown schema in {path!r}.")
    if schema == "enterprise" and not path:
        return schema, "", None, None
    match = _PATH.match(path)
    if not match:
        raise scim_error("invalidPath", f"{path!r} is not an attribute path.")
    node = None
    if match.group("filter") is not None:
        try:
            node = parse_filter(match.group("filter"))
        except errors.InvalidInput as error:
            raise scim_error("invalidPath", f"In {path!r}: {error}") from None
    sub = match.group("sub")
    return schema, match.group("attribute").lower(), node, sub.lower() if sub else None


def matches(entry, node):
    """Whether one value of a multi-valued attribute matches a value filter
    (``type eq "work"``, ``primary eq true``, ``value eq "x"``...)."""
    kind = node[0]
    if kind == "and":
        return matches(entry, node[1]) and matches(entry, node[2])
    if kind == "or":
        return matches(entry, node[1]) or matches(entry, node[2])
    if kind == "not":
        return not matches(entry, node[1])
    if kind != "cmp" and kind != "pr":
        raise scim_error("invalidFilter", "A value filter compares sub-attributes.")
    field = ENTRY_FIELDS.get(node[1].split(".")[-1])
    found = {key.lower(): value for key, value in entry.items()}.get(field.lower()) \
        if field else None
    if kind == "pr":
        return found not in (None, "")
    op, wanted = node[2], node[3]
    if isinstance(found, str) and isinstance(wanted, str):
        found, wanted = found.lower(), wanted.lower()
    return {"eq": lambda: found == wanted, "ne": lambda: found != wanted,
            "co": lambda: isinstance(found, str) and wanted in found,
            "sw": lambda: isinstance(found, str) and found.startswith(wanted),
            "ew": lambda: isinstance(found, str) and found.endswith(wanted)
            }.get(op, lambda: False)()


def apply_value(state, path, value):
    """Set what ``path`` names (an attribute of a POST/PUT body, a PATCH
    add/replace path, or a key of a PATCH value without path)."""
    _set(state, parse_path(path), value, path, op="replace")


def _set(state, parsed, value, path, op):
    schema, attribute, node, sub = parsed
    kept = state["kept"]
    if schema == "enterprise":
        return _set_enterprise(kept, attribute, sub, value, path)
    if attribute == "username":
        state["user_name"] = _string("userName", value, required=True)
    elif attribute == "externalid":
        state["external_id"] = _string("externalId", value)
    elif attribute == "active":
        state["active"] = _boolean("active", value)
    elif attribute == "password":
        state["password"] = _string("password", value, required=True)
        if len(state["password"]) > PASSWORD_MAX_LENGTH:  # weaker ones are only not kept
            raise scim_error("invalidValue", f"password has at most {PASSWORD_MAX_LENGTH} "
                                             "characters.")
    elif attribute == "name" and sub is None:
        if not isinstance(value, dict):
            raise scim_error("invalidValue", "name must be an object.")
        if op == "replace":
            kept.pop("name", None)
            state.update(given_name=None, family_name=None)
        for key, item in value.items():
            _set(state, ("core", "name", None, key.lower()), item, f"name.{key}", op)
    elif attribute == "name":
        _set_name_part(state, sub, value)
    elif attribute == "preferredlanguage":
        kept["preferredLanguage"] = _string("preferredLanguage", value)
        state["locale"] = locale_of_language(kept["preferredLanguage"])
    elif attribute == "displayname":
        kept["displayName"] = _string("displayName", value)
        state["full_name"] = kept["displayName"] or None
    elif attribute in KEPT_SINGLE:
        kept[KEPT_SINGLE[attribute]] = _kept_text(KEPT_SINGLE[attribute], value)
    elif attribute in MULTI_VALUED:
        _set_multi(kept, MULTI_VALUED[attribute], node, sub, value, op)
    elif attribute in READ_ONLY or attribute.startswith("urn:"):
        return  # groups come from /Groups; another extension's schemas are not kept
    else:
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a User.")


def _set_name_part(state, sub, value):
    name = NAME_PARTS.get(sub)
    if name is None:
        raise scim_error("invalidPath", f"name.{sub} is not an attribute of a User.")
    if name == "givenName":
        state["given_name"] = _string("name.givenName", value)
    elif name == "familyName":
        state["family_name"] = _string("name.familyName", value)
    else:
        state["kept"].setdefault("name", {})[name] = _string(f"name.{name}", value) \
            if name == "formatted" else _kept_text(f"name.{name}", value)
        if name == "formatted" and not state["kept"].get("displayName"):
            state["full_name"] = state["kept"]["name"]["formatted"] or None


def _set_multi(kept, attribute, node, sub, value, op):
    entries = kept.get(attribute) or []
    if sub is not None and ENTRY_FIELDS.get(sub) is None:
        raise scim_error("invalidPath", f"{attribute}.{sub} is not an attribute of a User.")
    field = ENTRY_FIELDS.get(sub) if sub else None
    if node is None and field is None:
        new = _entries(attribute, value)
        # add appends (RFC 7644 3.5.2.1); a value already there is not doubled.
        kept[attribute] = entries + [e for e in new if e not in entries] if op == "add" else new
    elif node is None:
        # emails.value: the one Relais uses (primary, else work, else first).
        target = _chosen_entry(entries) if entries else None
        if target is None:
            target = {"type": "work", "primary": True} if attribute == "emails" else {}
            entries.append(target)
        target.update(_entry(attribute, {field: value}))
        kept[attribute] = entries
    else:
        chosen = [entry for entry in entries if matches(entry, node)]
        if not chosen:
            if op == "replace" and field is None:
                raise scim_error("noTarget", f"No value of {attribute} matches the filter.")
            chosen = [_entry_from_filter(node)]
            entries.append(chosen[0])
        for entry in chosen:
            entry.update(_entry(attribute, {field: value} if field else value))
        kept[attribute] = entries
    if len(kept[attribute]) > MAX_ENTRIES:
        raise scim_error("invalidValue", f"{attribute} holds at most {MAX_ENTRIES} values.")


def _entry_from_filter(node):
    """The new value a filtered path creates: ``emails[type eq "other"].value``
    on a user without one adds ``{"type": "other", ...}`` (what Entra ID means)."""
    if node[0] == "cmp" and node[2] == "eq" and ENTRY_FIELDS.get(node[1].split(".")[-1]):
        return {ENTRY_FIELDS[node[1].split(".")[-1]]: node[3]}
    if node[0] == "and":
        return {**_entry_from_filter(node[1]), **_entry_from_filter(node[2])}
    raise scim_error("noTarget", "No value matches the filter.")


def _set_enterprise(kept, attribute, sub, value, path):
    extension = kept.setdefault(ENTERPRISE_SCHEMA, {})
    if not attribute:  # the whole extension object
        if not isinstance(value, dict):
            raise scim_error("invalidValue", f"{ENTERPRISE_SCHEMA} must be an object.")
        for key, item in value.items():
            if key.lower() not in READ_ONLY:
                _set_enterprise(kept, key.lower(), None, item, key)
        return
    name = ENTERPRISE_FIELDS.get(attribute)
    if name is None:
        raise scim_error("invalidPath", f"{path!r} is not an attribute of the enterprise User.")
    if name != "manager":
        extension[name] = _kept_text(name, value)
        return
    # Entra ID sends the manager's id as a bare string; the schema says {value, ...}.
    manager = extension.get("manager") if isinstance(extension.get("manager"), dict) else {}
    if sub:
        field = MANAGER_FIELDS.get(sub)
        if field is None:
            raise scim_error("invalidPath", f"manager.{sub} is not an attribute.")
        manager[field] = _kept_text(f"manager.{field}", value)
    elif isinstance(value, dict):
        manager = {}
        for key, item in value.items():
            field = MANAGER_FIELDS.get(key.lower())
            if field is None:
                raise scim_error("invalidPath", f"manager.{key} is not an attribute.")
            manager[field] = _kept_text(f"manager.{field}", item)
    else:
        manager = {"value": _kept_text("manager", value)} if value not in (None, "") else None
    extension["manager"] = manager


# PATCH (RFC 7644 3.5.2) ---------------------------------------------------------

def apply_patch(state, body):
    """``state`` after the PATCH request ``body``; all or nothing."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    if PATCH_SCHEMA.lower() not in _schemas_of(body):
        raise scim_error("invalidSyntax", f"schemas must be [{PATCH_SCHEMA}].")
    # A copy: a failing operation leaves the caller's state as it was.
    state = dict(state, password=None, kept=json.loads(json.dumps(state.get("kept") or {})))
    for op, path, value in patch_operations(body):
        if op == "remove":
            _remove(state, path, value)
        elif path is None:
            if not isinstance(value, dict):
                raise scim_error("invalidValue", "Without a path, value must be an object.")
            for key, item in value.items():
                if key.lower() not in READ_ONLY:
                    _set(state, parse_path(key), item, key, op)
        else:
            _set(state, parse_path(path), value, path, op)
    return complete(state)


def patch_operations(body):
    """``(op, path, value)`` of each operation, op lowered (Entra ID sends
    "Replace"), values as sent."""
    operations = next((value for key, value in body.items() if key.lower() == "operations"),
                      None)
    if not isinstance(operations, list) or not operations:
        raise scim_error("invalidSyntax", "Operations must be a non-empty list.")
    result = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise scim_error("invalidSyntax", "Each operation is an object.")
        fields = {key.lower(): value for key, value in operation.items()}
        op = str(fields.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise scim_error("invalidSyntax", f"Unknown op {fields.get('op')!r}.")
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise scim_error("invalidPath", "path must be a string.")
        result.append((op, path, fields.get("value")))
    return result


def _remove(state, path, value=None):
    if not path:
        raise scim_error("noTarget", "remove needs a path.")
    schema, attribute, node, sub = parse_path(path)
    kept = state["kept"]
    if schema == "enterprise":
        extension = kept.get(ENTERPRISE_SCHEMA, {})
        if not attribute:
            kept.pop(ENTERPRISE_SCHEMA, None)
        elif ENTERPRISE_FIELDS.get(attribute) is None:
            raise scim_error("invalidPath", f"{path!r} is not an attribute of the enterprise User.")
        else:
            extension.pop(ENTERPRISE_FIELDS[attribute], None)
        return
    if attribute in ("username", "active", "password"):
        raise scim_error("mutability", f"{attribute} cannot be removed.")
    if attribute == "externalid":
        state["external_id"] = None
    elif attribute == "name" and sub is None:
        kept.pop("name", None)
        state.update(given_name=None, family_name=None, full_name=None)
    elif attribute == "name":
        name = NAME_PARTS.get(sub)
        if name is None:
            raise scim_error("invalidPath", f"name.{sub} is not an attribute of a User.")
        if name in ("givenName", "familyName"):
            state["given_name" if name == "givenName" else "family_name"] = None
        else:
            kept.get("name", {}).pop(name, None)
        state["full_name"] = None  # derived again from what remains
    elif attribute == "displayname":
        kept.pop("displayName", None)
        state["full_name"] = None
    elif attribute == "preferredlanguage":
        kept.pop("preferredLanguage", None)
        state["locale"] = DEFAULT_LOCALE
    elif attribute in KEPT_SINGLE:
        kept.pop(KEPT_SINGLE[attribute], None)
    elif attribute in MULTI_VALUED:
        _remove_multi(state, MULTI_VALUED[attribute], node, sub, value)
    elif attribute not in READ_ONLY:
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a User.")


def _remove_multi(state, attribute, node, sub, value):
    kept = state["kept"]
    entries = kept.get(attribute) or []
    if node is None and isinstance(value, list):  # remove the values listed
        listed = _entries(attribute, value)
        remaining = [e for e in entries
                     if not any(e.get("value") == item.get("value") for item in listed)]
    elif node is None and sub is None:
        remaining = []
    else:
        field = ENTRY_FIELDS.get(sub) if sub else None
        remaining = []
        for entry in entries:
            if node is not None and not matches(entry, node):
                remaining.append(entry)
            elif field and field != "value":
                remaining.append({k: v for k, v in entry.items() if k != field})
        if node is None and field == "value":
            remaining = []
    kept[attribute] = remaining
    if attribute == "emails":
        state["email"] = None  # derived again: another e-mail, or userName if it is one


# Writing a User -----------------------------------------------------------------

def resource(user, groups=()):
    """A user as a SCIM User resource (``meta.location`` is added by the
    gateway, which knows the public URL): the columns, then what was kept as
    sent. ``groups``: ``[(id, displayName)]`` the user is a member of."""
    kept = user.scim_attributes or {}
    name = dict(kept.get("name") or {})
    name.setdefault("formatted", user.full_name)
    if user.given_name:
        name["givenName"] = user.given_name
    if user.family_name:
        name["familyName"] = user.family_name
    body = {
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": user.user_name or user.email,
        "name": name,
        "displayName": kept.get("displayName") or user.full_name,
        "emails": _emails_out(user, kept.get("emails")),
        "active": user.active,
    }
    # As the provider sent it, unless the person chose another language since.
    sent = kept.get("preferredLanguage")
    if sent and locale_of_language(sent) == user.locale:
        body["preferredLanguage"] = sent
    elif user.locale != DEFAULT_LOCALE:
        body["preferredLanguage"] = user.locale
    for attribute in list(KEPT_SINGLE.values()) + list(MULTI_VALUED.values()):
        if attribute not in body and kept.get(attribute) not in (None, []):
            body[attribute] = kept[attribute]
    if groups:
        body["groups"] = [{"value": group_id, "display": display, "type": "direct"}
                          for group_id, display in groups]
    extension = {key: value for key, value in (kept.get(ENTERPRISE_SCHEMA) or {}).items()
                 if value not in (None, "")}
    if extension:
        body["schemas"] = [USER_SCHEMA, ENTERPRISE_SCHEMA]
        body[ENTERPRISE_SCHEMA] = extension
    if user.external_id:
        body["externalId"] = user.external_id
    body["meta"] = _meta("User", user)
    return body


def _emails_out(user, kept_emails):
    """The e-mails as sent; the one Relais uses shows the address it holds now
    (an admin may have changed it outside SCIM)."""
    if not kept_emails:
        return [{"value": user.email, "type": "work", "primary": True}]
    entries = [dict(entry) for entry in kept_emails]
    chosen = _chosen_entry(entries)
    if str(chosen.get("value", "")).lower() != user.email.lower():
        chosen["value"] = user.email
    return entries


def list_response(resources, total, start_index):
    return {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start_index,
            "itemsPerPage": len(resources), "Resources": resources}


# Groups (RFC 7643 4.2) ------------------------------------------------------------
#
# A group is ``{"display_name", "external_id", "members": [user id, ...]}``.
# Members are the organisation's users (not groups). Entra ID adds its own
# extension URN to ``schemas``; other schemas are accepted and their
# attributes ignored.

def group_from_resource(body):
    """The group a POST or PUT body describes (members: ``[]`` if not given)."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    if GROUP_SCHEMA.lower() not in _schemas_of(body):
        raise scim_error("invalidSyntax", f"schemas must list {GROUP_SCHEMA}.")
    group = {"display_name": None, "external_id": None, "members": []}
    for key, value in body.items():
        if key.lower() not in ("schemas", "id", "meta"):
            _set_group(group, key, value, "replace")
    return _complete_group(group)


def apply_group_patch(group, body):
    """``group`` after the PATCH request ``body``; all or nothing. Takes the
    forms both providers send: Entra ID's ``{"op": "Add"|"Remove", "path":
    "members", "value": [{"value": id}]}``, Okta's ``{"op": "remove", "path":
    "members[value eq \\"id\\"]"}`` and ``{"op": "replace", "value":
    {"id": ..., "displayName": ...}}``."""
    if not isinstance(body, dict):
        raise scim_error("invalidSyntax", "The body must be a JSON object.")
    _check_text(body)
    if PATCH_SCHEMA.lower() not in _schemas_of(body):
        raise scim_error("invalidSyntax", f"schemas must be [{PATCH_SCHEMA}].")
    group = dict(group, members=list(group["members"]))
    for op, path, value in patch_operations(body):
        if path is None:
            if op == "remove":
                raise scim_error("noTarget", "remove needs a path.")
            if not isinstance(value, dict):
                raise scim_error("invalidValue", "Without a path, value must be an object.")
            for key, item in value.items():
                if key.lower() not in ("id", "schemas", "meta"):
                    _set_group(group, key, item, op)
        elif op == "remove":
            _remove_from_group(group, path, value)
        else:
            _set_group(group, path, value, op)
    return _complete_group(group)


def _set_group(group, path, value, op):
    attribute = _group_attribute(path)
    if attribute == "displayname":
        group["display_name"] = _string("displayName", value, required=True)
    elif attribute == "externalid":
        group["external_id"] = _string("externalId", value)
    elif attribute == "members":
        ids = _member_ids(value)
        if op == "add":
            group["members"] += [i for i in ids if i not in group["members"]]
        else:
            group["members"] = ids


def _remove_from_group(group, path, value):
    attribute, node = _group_attribute(path, with_filter=True)
    if attribute == "displayname":
        raise scim_error("mutability", "displayName cannot be removed.")
    if attribute == "externalid":
        group["external_id"] = None
    elif attribute == "members" and node is not None:
        group["members"] = [i for i in group["members"] if not matches({"value": i}, node)]
    elif attribute == "members" and value is not None:
        gone = set(_member_ids(value))
        group["members"] = [i for i in group["members"] if i not in gone]
    elif attribute == "members":
        group["members"] = []


def _group_attribute(path, with_filter=False):
    """A Group path's attribute, lowered (``members[value eq "x"]`` only where
    a remove takes it); another extension's attributes are ignored."""
    if not isinstance(path, str) or not path.strip():
        raise scim_error("invalidPath", "path must be a non-empty string.")
    text = path.strip()
    if text.lower().startswith(GROUP_SCHEMA.lower()):
        text = text[len(GROUP_SCHEMA):].lstrip(":")
    elif text.lower().startswith("urn:") or text.lower().startswith("http"):
        return (None, None) if with_filter else None
    match = _PATH.match(text)
    attribute = match.group("attribute").lower() if match else None
    if attribute not in ("displayname", "externalid", "members") or (
            match.group("sub") and attribute != "members"):
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a Group.")
    node = None
    if match.group("filter") is not None:
        if not with_filter or attribute != "members":
            raise scim_error("invalidPath", f"{path!r}: only a remove filters members.")
        node = parse_filter(match.group("filter"))
    elif match.group("sub"):
        raise scim_error("invalidPath", f"{path!r} is not an attribute of a Group.")
    return (attribute, node) if with_filter else attribute


def _member_ids(value):
    """``[{"value": id, "display": ...}, ...]`` (or one such object) -> ids."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise scim_error("invalidValue", "members must be a list of {value}.")
    ids = []
    for item in value:
        member = next((v for k, v in item.items() if k.lower() == "value"), None)
        if not isinstance(member, str) or not member:
            raise scim_error("invalidValue", "Each member needs its user id as value.")
        if member not in ids:
            ids.append(member)
    if len(ids) > MAX_GROUP_MEMBERS_A_REQUEST:
        raise scim_error("invalidValue",
                         f"At most {MAX_GROUP_MEMBERS_A_REQUEST} members a request.")
    return ids


def _complete_group(group):
    if not group.get("display_name"):
        raise scim_error("invalidValue", "displayName is required.")
    return group


def group_resource(group, members):
    """A group as a SCIM Group resource; ``members``: ``[(user id, display)]``
    or None when the caller excluded them (no query for them then)."""
    body = {"schemas": [GROUP_SCHEMA], "id": group.id, "displayName": group.display_name}
    if group.external_id:
        body["externalId"] = group.external_id
    if members is not None:
        body["members"] = [{"value": user_id, "display": display, "type": "User"}
                           for user_id, display in members]
    body["meta"] = _meta("Group", group)
    return body


def _meta(resource_type, row):
    return {"resourceType": resource_type, "created": row.created_at.isoformat(),
            "lastModified": row.updated_at.isoformat(),
            "version": f'W/"{int(row.updated_at.timestamp() * 1_000_000)}"'}
