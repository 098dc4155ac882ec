"""SCIM 2.0 over HTTP (RFC 7644) for a corporate account's identity provider.

SCIM is not the JSON API: its own media type (``application/scim+json``), its
own error body (``{"schemas": [Error], "status", "scimType", "detail"}``) and
its own bearer credential (a SCIM token, opaque, checked by identity and
cached like API keys). This module does the HTTP side and the discovery
documents; identity does the users (``scim_*`` RPCs).
"""
import json

from werkzeug.wrappers import Response

from common import config
from gateway.bodies import read_json, storable
from gateway.problems import Problem
from contracts.scim import (
    ENTERPRISE_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA, project,
)

MEDIA_TYPE = "application/scim+json"
DISCOVERY = ("ServiceProviderConfig", "ResourceTypes", "Schemas")
RESOURCES = {"Users": "user", "Groups": "group"}
MAX_COUNT = 200
# A startIndex beyond any real list is clamped here: PostgreSQL's OFFSET is a
# bigint, and a page that far is empty anyway.
MAX_START_INDEX = 2 ** 31
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

SCIM_TYPES = {"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
              "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive"}


class ScimError(Exception):
    def __init__(self, status, detail, scim_type=None, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}

    def response(self):
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return scim_response(self.status, body, self.headers)


def from_problem(problem):
    """The SCIM error for a problem of the shared code (body reading, tokens,
    a service's error): SCIM says 400 where the JSON API says 422, and
    classifies it with a scimType (the service's code when it is one)."""
    status, scim_type = problem.status, None
    if status == 422 or (status == 400 and problem.code == "malformed-json"):
        status = 400
        scim_type = problem.code if problem.code in SCIM_TYPES else (
            "invalidSyntax" if problem.code == "malformed-json" else "invalidValue")
    elif status == 409:
        scim_type = "uniqueness"
    detail = problem.detail
    if problem.fields:
        detail += " " + "; ".join(f"{name}: {' '.join(map(str, messages))}"
                                  for name, messages in problem.fields.items())
    return ScimError(status, detail, scim_type, problem.headers)


def scim_response(status, body=None, headers=None):
    return Response(json.dumps(body) if body is not None else None, status=status,
                    headers=headers or {}, content_type=MEDIA_TYPE if body is not None else None)


class ScimApi:
    PREFIX = "/scim/v2"

    def __init__(self, gateway):
        self.gateway = gateway

    def respond(self, request, call_id):
        try:
            return self.route(request, call_id)
        except ScimError as error:
            return error.response()
        except Problem as problem:
            return from_problem(problem).response()

    def route(self, request, call_id):
        parts = [part for part in request.path[len(self.PREFIX):].split("/") if part]
        method = request.method
        if parts and parts[0] in DISCOVERY:
            if method != "GET":
                raise ScimError(405, f"/{parts[0]} is read-only.", headers={"Allow": "GET"})
            if parts == ["ServiceProviderConfig"]:
                return scim_response(200, service_provider_config(self.base(request)))
            if parts[0] == "ResourceTypes":
                return self.discovery(parts, resource_types(self.base(request)), "ResourceType")
            if parts[0] == "Schemas":
                return self.discovery(parts, schemas(self.base(request)), "Schema")
        if parts == [".search"]:  # a search at the root: of Users, the usual resource
            parts = ["Users", ".search"]
        if not parts or parts[0] not in RESOURCES or len(parts) > 2:
            raise ScimError(404, f"No SCIM endpoint {request.path} (Users and Groups are "
                                 "provisioned).")
        kind = RESOURCES[parts[0]]
        caller = self.caller(request)
        self.gateway.limit_scim(request)
        storable(request.args.to_dict(), "query")
        if len(parts) == 1 and method == "GET":
            return self.search(request, call_id, caller, kind, request.args)
        if parts[1:] == [".search"]:
            if method != "POST":
                raise ScimError(405, "/.search takes POST.", headers={"Allow": "POST"})
            return self.search(request, call_id, caller, kind, self.body(request))
        if len(parts) == 1 and method == "POST":
            found = self.call(f"scim_create_{kind}", call_id, caller=caller,
                              body=self.body(request))
            return self.resource_response(request, 201, parts[0], found)
        if len(parts) == 1:
            raise ScimError(405, f"/{parts[0]} does not take {method}.",
                            headers={"Allow": "GET, POST"})
        ids = {f"{kind}_id": parts[1]}
        if method == "GET":
            extra = {"members": _with_members(request.args)} if kind == "group" else {}
            found = self.call(f"scim_get_{kind}", call_id, caller=caller, **ids, **extra)
            return self.resource_response(request, 200, parts[0], found, request.args)
        if method in ("PUT", "PATCH"):
            verb = "replace" if method == "PUT" else "patch"
            found = self.call(f"scim_{verb}_{kind}", call_id, caller=caller, **ids,
                              body=self.body(request))
            return self.resource_response(request, 200, parts[0], found)
        if method == "DELETE":
            self.call(f"scim_delete_{kind}", call_id, caller=caller, **ids)
            return scim_response(204)
        raise ScimError(405, f"/{parts[0]}/{{id}} does not take {method}.",
                        headers={"Allow": "GET, PUT, PATCH, DELETE"})

    # -- pieces ------------------------------------------------------------------

    def caller(self, request):
        return self.gateway.authenticate(request, accepted=("scim_token",))

    def body(self, request):
        return read_json(request)

    def search(self, request, call_id, caller, kind, params):
        if not isinstance(params, dict):
            raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
        schemas = params.get("schemas", [])
        if not (isinstance(schemas, list) and all(
                isinstance(schema, str) for schema in schemas)):
            raise ScimError(400, "schemas must be a list of strings.", "invalidSyntax")
        start_index = _integer(params, "startIndex", 1)
        count = _integer(params, "count", 100)
        filter_text = params.get("filter")
        if filter_text is not None and not isinstance(filter_text, str):
            raise ScimError(400, "filter must be a string.", "invalidFilter")
        if params.get("sortBy"):
            raise ScimError(400, "Sorting is not supported (see ServiceProviderConfig).",
                            "invalidValue")
        attributes, excluded = _names(params, "attributes"), _names(params, "excludedAttributes")
        extra = {"members": _with_members(params)} if kind == "group" else {}
        listing = self.call(f"scim_list_{kind}s", call_id, caller=caller, filter=filter_text,
                            start_index=min(max(start_index, 1), MAX_START_INDEX),
                            count=min(max(count, 0), MAX_COUNT), **extra)
        endpoint = "Users" if kind == "user" else "Groups"
        for found in listing["Resources"]:
            self.locate(endpoint, found)
        listing["Resources"] = [project(found, attributes, excluded)
                                for found in listing["Resources"]]
        return scim_response(200, listing)

    def resource_response(self, request, status, endpoint, found, params=None):
        location = self.locate(endpoint, found)
        headers = {"ETag": found["meta"]["version"]}
        if status == 201:
            headers["Location"] = location
        params = params or {}
        return scim_response(status, project(found, _names(params, "attributes"),
                                             _names(params, "excludedAttributes")), headers)

    def locate(self, endpoint, found):
        found["meta"]["location"] = f"{self.base()}/{endpoint}/{found['id']}"
        return found["meta"]["location"]

    def base(self, request=None):
        """From RELAIS_PUBLIC_URL: a Host header is the client's to choose."""
        return config.api_public_url() + self.PREFIX

    def discovery(self, parts, documents, kind):
        if len(parts) == 1:
            return scim_response(200, {"schemas": [LIST_SCHEMA], "totalResults": len(documents),
                                       "startIndex": 1, "itemsPerPage": len(documents),
                                       "Resources": documents})
        found = [doc for doc in documents if doc["id"] == parts[1]]
        if len(parts) != 2 or not found:
            raise ScimError(404, f"No {kind} {'/'.join(parts[1:])}.")
        return scim_response(200, found[0])

    def call(self, rpc, call_id, **kwargs):
        return self.gateway.call("identity", rpc, call_id, **kwargs)


def _integer(params, name, default):
    value = params.get(name, default)
    if isinstance(value, (bool, float)):  # JSON's true is no index; 1.5 is no count
        raise ScimError(400, f"{name} must be an integer.", "invalidValue")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity in a JSON body
        raise ScimError(400, f"{name} must be an integer.", "invalidValue") from None


def _with_members(params):
    """Whether a group's members are wanted: Entra ID asks without them
    (``excludedAttributes=members``) to look a group up cheaply."""
    names = _names(params, "excludedAttributes") or ""
    names = ",".join(names) if isinstance(names, list) else names
    return "members" not in [name.strip().lower() for name in names.split(",")]


def _names(params, name):
    """``attributes`` / ``excludedAttributes``: "a,b" in a query string, a list
    of strings in a .search body; anything else is a syntax error."""
    value = params.get(name)
    if value is None or isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)):
        return value
    raise ScimError(400, f"{name} must be a string or a list of strings.", "invalidSyntax")


def _attribute(name, type_="string", required=False, case_exact=False, mutability="readWrite",
               returned="default", uniqueness="none", multi_valued=False, sub_attributes=None,
               description=""):
    attribute = {"name": name, "type": type_, "multiValued": multi_valued,
                 "description": description, "required": required, "caseExact": case_exact,
                 "mutability": mutability, "returned": returned, "uniqueness": uniqueness}
    if sub_attributes:
        attribute["subAttributes"] = sub_attributes
    return attribute


def _multi(name, sub_attributes=("value", "display", "type"), description=""):
    subs = [_attribute(sub) for sub in sub_attributes] + [_attribute("primary", "boolean")]
    return _attribute(name, "complex", multi_valued=True, sub_attributes=subs,
                      description=description or "Kept as sent.")


def schemas(base):
    user = {
        "schemas": [SCHEMA_SCHEMA], "id": USER_SCHEMA, "name": "User",
        "description": "A nomad employee of the corporate account.",
        "attributes": [
            _attribute("userName", required=True, uniqueness="server",
                       description="Kept as sent; unique whatever its case. The e-mail "
                                   "address, or a login name if emails are given."),
            _attribute("name", "complex", sub_attributes=[
                _attribute(part) for part in ("formatted", "familyName", "givenName",
                                              "middleName", "honorificPrefix",
                                              "honorificSuffix")]),
            _attribute("displayName"),
            *[_attribute(name, description="Kept as sent.") for name in (
                "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale",
                "timezone")],
            # Declared required: Relais mails invitations, so it needs an address
            # (a userName that is one is accepted too, as Okta and Entra send).
            _attribute("emails", "complex", multi_valued=True, required=True, sub_attributes=[
                _attribute("value", required=True), _attribute("display"), _attribute("type"),
                _attribute("primary", "boolean")],
                description="Kept as sent; Relais mails the primary one (else the work one)."),
            _multi("phoneNumbers"), _multi("ims"), _multi("photos", description="Kept as sent."),
            _multi("addresses", ("formatted", "streetAddress", "locality", "region",
                                 "postalCode", "country", "type")),
            _multi("entitlements"),
            _multi("roles", description="Kept as sent; grants nothing in Relais (roles are "
                                        "set by the corporate admin)."),
            _multi("x509Certificates"),
            _attribute("groups", "complex", multi_valued=True, mutability="readOnly",
                       sub_attributes=[_attribute("value", mutability="readOnly"),
                                       _attribute("display", mutability="readOnly"),
                                       _attribute("type", mutability="readOnly")],
                       description="The groups pushed to /Groups that hold the user."),
            _attribute("active", "boolean"),
            _attribute("password", mutability="writeOnly", returned="never",
                       description="Kept only if it meets Relais' password policy."),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{USER_SCHEMA}"},
    }
    enterprise = {
        "schemas": [SCHEMA_SCHEMA], "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser",
        "description": "Kept as sent.",
        "attributes": [
            *[_attribute(name) for name in ("employeeNumber", "costCenter", "organization",
                                            "division", "department")],
            _attribute("manager", "complex", sub_attributes=[
                _attribute("value"), _attribute("$ref", "reference"),
                _attribute("displayName", mutability="readOnly")]),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{ENTERPRISE_SCHEMA}"},
    }
    group = {
        "schemas": [SCHEMA_SCHEMA], "id": GROUP_SCHEMA, "name": "Group",
        "description": "A group of the corporate account's users.",
        "attributes": [
            _attribute("displayName", required=True, uniqueness="server",
                       description="Unique within the organisation, whatever its case."),
            _attribute("members", "complex", multi_valued=True, sub_attributes=[
                _attribute("value", mutability="immutable"),
                _attribute("display", mutability="readOnly"),
                _attribute("type", mutability="immutable")],
                description="Users of the organisation (not groups)."),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{GROUP_SCHEMA}"},
    }
    return [user, enterprise, group]


def resource_types(base):
    return [{
        "schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User",
        "endpoint": "/Users", "description": "Employees", "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
    }, {
        "schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group",
        "endpoint": "/Groups", "description": "Groups of employees", "schema": GROUP_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
    }]


def service_provider_config(base):
    return {
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": "https://relais-des-possibles.fr/docs/scim",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": True},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "SCIM token",
            "description": "A bearer token the corporate admin creates in Relais.",
            "primary": True}],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{base}/ServiceProviderConfig"},
    }
