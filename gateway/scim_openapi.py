"""SCIM 2.0 in the OpenAPI document: the paths gateway/scim.py serves and the
bodies identity reads (services/identity/scim_protocol.py), as JSON Schema.

SCIM is not built from the route table: it has its own media type
(application/scim+json), errors (a SCIM Error body with ``scimType``: 400 where
the JSON API says 422) and credential (a SCIM token). Attribute names are
case-insensitive (RFC 7643 2.1); the document names them in their usual case.
"""
from common.validation import MAX_EMAIL_LENGTH
from contracts.scim import (
    ENTERPRISE_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA, KEPT_ATTRIBUTES, KEPT_NAME_PARTS, LIST_SCHEMA,
    PATCH_SCHEMA, USER_SCHEMA,
)
from contracts.vocabulary import PASSWORD_MAX_LENGTH, PASSWORD_POLICY
from gateway.scim import MAX_COUNT, MEDIA_TYPE, ScimApi

SCIM_TAG = "SCIM"
PREFIX = ScimApi.PREFIX
MAX_VALUE_LENGTH = MAX_EMAIL_LENGTH  # identity bounds every SCIM string so


def _text(required=False, **extra):
    schema = {"type": "string", "maxLength": MAX_VALUE_LENGTH, **extra}
    if required:
        schema["pattern"] = r"\S"  # not blank
    else:
        schema["nullable"] = True
    return schema


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


NAME = {"type": "object", "properties": {
    "formatted": _text(), "givenName": _text(), "familyName": _text(),
    **{part: _text() for part in KEPT_NAME_PARTS}}}
EMAILS = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["value"], "properties": {
        "value": {"type": "string", "format": "email", "maxLength": MAX_VALUE_LENGTH},
        "type": {"type": "string", "maxLength": MAX_VALUE_LENGTH, "nullable": True},
        "display": {"type": "string", "maxLength": MAX_VALUE_LENGTH, "nullable": True},
        "primary": {"description": "true (or the strings \"true\", \"True\") marks the "
                                   "address Relais mails."}}},
    "description": "Kept as sent; Relais mails the primary address (else the work one, else "
                   "the first)."}
PASSWORD = {"type": "string", "format": "password", "minLength": 1,
            "maxLength": PASSWORD_MAX_LENGTH, "writeOnly": True,
            "description": "Kept only if it meets the policy (" + PASSWORD_POLICY + "); a "
                           "weaker one is accepted and not kept (the user sets their own "
                           "with the invitation). Members only: SCIM never sets an admin's "
                           "password."}


GROUP_MEMBERS = {"type": "array", "maxItems": 1000, "items": {
    "type": "object", "required": ["value"], "properties": {"value": {"type": "string"}}},
    "description": "Ids of the organisation's users (anything else: 400 invalidValue)."}

# Multi-valued attributes kept as sent (RFC 7643 4.1.2): their values' sub-attributes.
MULTI_VALUED_KEPT = ("phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
                     "x509Certificates")
KEPT_MULTI = {"type": "array", "nullable": True, "maxItems": 20, "description": "Kept as sent.",
              "items": {
    "type": "object", "additionalProperties": False, "properties": {
        **{name: _text() for name in ("value", "display", "type", "formatted",
                                      "streetAddress", "locality", "region", "postalCode",
                                      "country")},
        # Entra ID sends "True" and "False" as strings
        "primary": {"anyOf": [{"type": "boolean", "nullable": True},
                              {"enum": ["true", "false", "True", "False"]}]}}}}
ENTERPRISE = {"type": "object", "description": "Kept as sent.", "additionalProperties": False,
              "properties": {
                  **{name: _text() for name in ("employeeNumber", "costCenter", "organization",
                                                "division", "department")},
                  # Entra ID sends the manager's id alone; the schema says {value, ...}
                  "manager": {"anyOf": [_text(), {
                      "type": "object", "additionalProperties": False, "properties": {
                          "value": _text(), "$ref": _text(), "displayName": _text()}}]}}}

# attributes / excludedAttributes in a .search body: "a,b" or ["a", "b"].
NAMES = {"anyOf": [{"type": "string", "nullable": True},
                   {"type": "array", "items": {"type": "string"}}]}


def scim_components():
    return {
        "ScimUserRequest": {
            "type": "object", "required": ["schemas", "userName", "emails"],
            "description": "A User to create or replace. Every other attribute of the core "
                           "User schema (title, phoneNumbers...) and the enterprise extension "
                           "is kept as sent and read back unchanged. A PUT without active keeps "
                           "the current value.",
            "properties": {
                "schemas": {"enum": [[USER_SCHEMA], [USER_SCHEMA, ENTERPRISE_SCHEMA],
                                     [ENTERPRISE_SCHEMA, USER_SCHEMA]]},
                "userName": _text(required=True),
                "externalId": _text(),
                "name": NAME,
                "displayName": _text(),
                "emails": EMAILS,
                "active": {"type": "boolean"},
                "password": PASSWORD,
                **{attribute: KEPT_MULTI if attribute in MULTI_VALUED_KEPT else _text(
                    description="Kept as sent.") for attribute in KEPT_ATTRIBUTES},
                ENTERPRISE_SCHEMA: ENTERPRISE,
            }},
        "ScimPatchRequest": {
            "type": "object", "required": ["schemas", "Operations"],
            "properties": {
                "schemas": {"enum": [[PATCH_SCHEMA]]},
                "Operations": {"type": "array", "minItems": 1, "items": _ref("ScimPatchOperation")},
            }},
        "ScimPatchOperation": {"oneOf": [
            {"type": "object", "required": ["op", "path", "value"], "properties": {
                "op": {"enum": ["add", "replace"]}, "path": {"enum": [path]}, "value": value}}
            for path, value in (("userName", _text(required=True)),
                                ("externalId", _text()), ("displayName", _text()),
                                ("name.givenName", _text()), ("name.familyName", _text()),
                                ("emails", EMAILS), ("active", {"type": "boolean"}),
                                ("password", PASSWORD))
        ] + [
            {"type": "object", "required": ["op", "path"], "properties": {
                "op": {"enum": ["remove"]},
                "path": {"enum": ["externalId", "name.givenName", "name.familyName",
                                  "displayName", "name"]}}},
        ]},
        "ScimSearchRequest": {
            "type": "object", "properties": {
                "schemas": {"type": "array", "items": {"type": "string"}},
                "filter": {"type": "string", "maxLength": 1000, "nullable": True},
                "startIndex": {"type": "integer"},
                "count": {"type": "integer"},
                "attributes": NAMES,
                "excludedAttributes": NAMES,
            }},
        "ScimUser": {
            "type": "object", "required": ["schemas", "id"],
            "description": "Only the attributes asked for (attributes, excludedAttributes); "
                           "id and schemas always.",
            "properties": {
                "schemas": {"type": "array", "items": {"type": "string"}},
                "id": {"type": "string"},
                "userName": {"type": "string"},
                "externalId": {"type": "string"},
                "name": {"type": "object"},
                "displayName": {"type": "string"},
                "emails": {"type": "array", "items": {"type": "object"}},
                "active": {"type": "boolean"},
                "meta": {"type": "object"},
            }},
        "ScimGroupRequest": {
            "type": "object", "required": ["schemas", "displayName"],
            "description": "A Group to create or replace: members are users of the "
                           "organisation (their ids).",
            "properties": {
                "schemas": {"type": "array", "items": {"type": "string"},
                            "description": f"Lists {GROUP_SCHEMA}; another extension's "
                                           "schema is accepted and its attributes ignored."},
                "displayName": _text(required=True),
                "externalId": _text(),
                "members": GROUP_MEMBERS,
            }},
        "ScimGroupPatchRequest": {
            "type": "object", "required": ["schemas", "Operations"],
            "description": "Rename a group or change its members, as Entra ID (Add/Remove "
                           "with path members and a list of values) and Okta (remove with "
                           "members[value eq \"<id>\"], replace without path) send it.",
            "properties": {
                "schemas": {"enum": [[PATCH_SCHEMA]]},
                "Operations": {"type": "array", "minItems": 1, "items": {"oneOf": [
                    {"type": "object", "required": ["op", "path", "value"], "properties": {
                        "op": {"enum": ["add", "replace"]}, "path": {"enum": ["displayName"]},
                        "value": _text(required=True)}},
                    {"type": "object", "required": ["op", "path", "value"], "properties": {
                        "op": {"enum": ["add", "replace", "remove"]},
                        "path": {"enum": ["members"]}, "value": GROUP_MEMBERS}},
                    {"type": "object", "required": ["op", "path"], "properties": {
                        "op": {"enum": ["remove"]}, "path": {"enum": ["externalId"]}}},
                ]}},
            }},
        "ScimGroup": {
            "type": "object", "required": ["schemas", "id"],
            "properties": {
                "schemas": {"type": "array", "items": {"type": "string"}},
                "id": {"type": "string"}, "displayName": {"type": "string"},
                "externalId": {"type": "string"},
                "members": {"type": "array", "items": {"type": "object"}},
                "meta": {"type": "object"},
            }},
        "ScimListResponse": {
            "type": "object",
            "required": ["schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"],
            "properties": {
                "schemas": {"enum": [[LIST_SCHEMA]]},
                "totalResults": {"type": "integer"}, "startIndex": {"type": "integer"},
                "itemsPerPage": {"type": "integer"},
                "Resources": {"type": "array", "items": {"type": "object"}},
            }},
        "ScimError": {
            "type": "object", "required": ["schemas", "status", "detail"],
            "properties": {
                "schemas": {"enum": [[ERROR_SCHEMA]]},
                "status": {"type": "string"}, "detail": {"type": "string"},
                "scimType": {"type": "string"},
            }},
    }


def _answer(status, schema, description="OK", **extra):
    return {status: {"description": description,
                     "content": {MEDIA_TYPE: {"schema": _ref(schema)}}, **extra}}


def _errors(*statuses):
    return {str(status): {"description": "SCIM error",
                          "content": {MEDIA_TYPE: {"schema": _ref("ScimError")}}}
            for status in statuses}


def _body(schema):
    return {"required": True, "content": {MEDIA_TYPE: {"schema": _ref(schema)},
                                          "application/json": {"schema": _ref(schema)}}}


# What every authenticated SCIM request may answer besides its own result:
# a bad body or query 400, no token 401, the token's rate 429, identity down 503/504.
PROVISIONING_ERRORS = (400, 401, 403, 404, 413, 415, 429, 503, 504)
ID = [{"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}]
# A query string longer than the HTTP server reads (8 KB request line): before the API.
TOO_LONG = {"414": {"description": "URI too long (the request line holds at most 8 KB)"}}
PROJECTION = [{"in": "query", "name": name, "required": False, "schema": {"type": "string"},
               "description": "Comma-separated attribute names."}
              for name in ("attributes", "excludedAttributes")]


def _operation(operation_id, summary, responses, security=True, **extra):
    operation = {"operationId": operation_id, "summary": summary, "tags": [SCIM_TAG],
                 "responses": responses, **extra}
    if security:
        operation["security"] = [{"scim_token": []}]
    return operation


def _discovery(operation_id, summary, parameters=()):
    """A discovery document: public (RFC 7644 4), any JSON object."""
    return {"get": _operation(operation_id, summary, {
        "200": {"description": "OK", "content": {MEDIA_TYPE: {"schema": {"type": "object"}}}},
        **_errors(404)}, security=False, parameters=list(parameters))}


def scim_paths():
    return {
        f"{PREFIX}/ServiceProviderConfig": _discovery(
            "scim_serviceproviderconfig", "What this SCIM server supports"),
        f"{PREFIX}/ResourceTypes": _discovery("scim_resourcetypes", "The resource types (User)"),
        f"{PREFIX}/ResourceTypes/{{id}}": _discovery("scim_resource_type", "A resource type",
                                                     ID),
        f"{PREFIX}/Schemas": _discovery("scim_schemas", "The schemas (User)"),
        f"{PREFIX}/Schemas/{{id}}": _discovery("scim_schema", "A schema", ID),
        f"{PREFIX}/Users": {
            "get": _operation("scim_list_users", "The organisation's users, filtered", {
                **_answer("200", "ScimListResponse"), **_errors(*PROVISIONING_ERRORS),
                **TOO_LONG},
                parameters=[
                    {"in": "query", "name": "filter", "required": False,
                     "schema": {"type": "string", "maxLength": 1000},
                     "description": "eq ne co sw ew gt ge lt le pr and or not, emails[...]"},
                    {"in": "query", "name": "startIndex", "required": False,
                     "schema": {"type": "integer"}, "description": "1-based; below 1 is 1."},
                    {"in": "query", "name": "count", "required": False,
                     "schema": {"type": "integer"},
                     "description": f"At most {MAX_COUNT}; below 0 is 0."},
                    *PROJECTION]),
            "post": _operation("scim_create_user", "Provision a user", {
                **_answer("201", "ScimUser", "Created", links={
                    operation_id: {"operationId": operation_id,
                                   "parameters": {"id": "$response.body#/id"}}
                    for operation_id in ("scim_get_user", "scim_replace_user",
                                         "scim_patch_user", "scim_delete_user")}),
                **_errors(*PROVISIONING_ERRORS, 409)},
                requestBody=_body("ScimUserRequest")),
        },
        f"{PREFIX}/Users/.search": {"post": _operation(
            "scim_search_users", "Search users with a body (RFC 7644 3.4.3)", {
                **_answer("200", "ScimListResponse"), **_errors(*PROVISIONING_ERRORS)},
            requestBody=_body("ScimSearchRequest"))},
        **_resource_paths("group", "Groups", "ScimGroupRequest", "ScimGroupPatchRequest",
                          "ScimGroup", "a group",
                          "displayName eq ne co sw ew, externalId, id, members[value eq ...]"),
        f"{PREFIX}/Users/{{id}}": {
            "get": _operation("scim_get_user", "A user", {
                **_answer("200", "ScimUser"), **_errors(*PROVISIONING_ERRORS)},
                parameters=ID + PROJECTION),
            "put": _operation("scim_replace_user", "Replace a user", {
                **_answer("200", "ScimUser"), **_errors(*PROVISIONING_ERRORS, 409)},
                parameters=ID, requestBody=_body("ScimUserRequest")),
            "patch": _operation("scim_patch_user", "Change some of a user's attributes", {
                **_answer("200", "ScimUser"), **_errors(*PROVISIONING_ERRORS, 409)},
                parameters=ID, requestBody=_body("ScimPatchRequest")),
            "delete": _operation("scim_delete_user", "Deprovision a user", {
                "204": {"description": "Done"}, **_errors(*PROVISIONING_ERRORS)},
                parameters=ID),
        },
    }


def _resource_paths(kind, endpoint, request, patch, answer, what, filters):
    """The paths of a SCIM resource other than Users (Groups), as Users are."""
    ids = [f"scim_get_{kind}", f"scim_replace_{kind}", f"scim_patch_{kind}",
           f"scim_delete_{kind}"]
    listing = {**_answer("200", "ScimListResponse"), **_errors(*PROVISIONING_ERRORS)}
    searching = dict(listing)
    listing = {**listing, **TOO_LONG}
    return {
        f"{PREFIX}/{endpoint}": {
            "get": _operation(f"scim_list_{kind}s", f"The organisation's {endpoint.lower()}",
                              listing, parameters=[
                                  {"in": "query", "name": "filter", "required": False,
                                   "schema": {"type": "string", "maxLength": 1000},
                                   "description": filters},
                                  {"in": "query", "name": "startIndex", "required": False,
                                   "schema": {"type": "integer"}},
                                  {"in": "query", "name": "count", "required": False,
                                   "schema": {"type": "integer"}},
                                  *PROJECTION]),
            "post": _operation(f"scim_create_{kind}", f"Create {what}", {
                **_answer("201", answer, "Created", links={
                    operation_id: {"operationId": operation_id,
                                   "parameters": {"id": "$response.body#/id"}}
                    for operation_id in ids}),
                **_errors(*PROVISIONING_ERRORS, 409)}, requestBody=_body(request)),
        },
        f"{PREFIX}/{endpoint}/.search": {"post": _operation(
            f"scim_search_{kind}s", f"Search {endpoint.lower()} with a body", searching,
            requestBody=_body("ScimSearchRequest"))},
        f"{PREFIX}/{endpoint}/{{id}}": {
            "get": _operation(ids[0], what.capitalize(), {
                **_answer("200", answer), **_errors(*PROVISIONING_ERRORS)},
                parameters=ID + PROJECTION),
            "put": _operation(ids[1], f"Replace {what}", {
                **_answer("200", answer), **_errors(*PROVISIONING_ERRORS, 409)},
                parameters=ID, requestBody=_body(request)),
            "patch": _operation(ids[2], f"Change {what} (its name, its members)", {
                **_answer("200", answer), **_errors(*PROVISIONING_ERRORS, 409)},
                parameters=ID, requestBody=_body(patch)),
            "delete": _operation(ids[3], f"Delete {what}", {
                "204": {"description": "Done"}, **_errors(*PROVISIONING_ERRORS)},
                parameters=ID),
        },
    }
