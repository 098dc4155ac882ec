"""The OpenAPI 3 document, generated from the route table and the services'
marshmallow schemas (apispec), so that it says exactly what the gateway does:
partners generate clients from it, and tests/e2e/test_api_contract.py fuzzes
the running API against it with every check schemathesis has.

What marshmallow alone does not tell apispec is added here, each in one place:
- date and month windows as patterns (JSON Schema bounds only numbers), local
  times' format, a dictionary's allowed keys;
- rules across fields a contract schema states as ``JSON_SCHEMA_RULES``
  (e.g. an organisation's fields required only for corporate accounts);
- the answers every route of a kind may give: 400, 413 and 415 where a body
  is read, 401 where a credential is needed, 503 and 504 everywhere;
- the Idempotency-Key header's rule (gateway/idempotency.py);
- links from what a POST creates to the operations on it, for clients and
  for stateful testing;
- SCIM, under its own tag (gateway/scim.py).
"""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from marshmallow import Schema, fields, validate

from common.schemas import DATE_PATTERN, DATE_RANGE, MONTH_PATTERN, check_month
from gateway import idempotency
from gateway.problems import PROBLEM_BASE
from gateway.scim_openapi import SCIM_TAG, scim_components, scim_paths

PATH_PARAMETER = re.compile(r"{(\w+)}")
# Resources a POST creates that live outside the path it was posted to.
RESOURCE_PATHS = {"identity.create_user": "/v1/users/{user_id}"}


class ProblemSchema(Schema):
    type = fields.String(metadata={"example": PROBLEM_BASE + "validation-error"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    call_id = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw()),
                         metadata={"description": "Messages per invalid field (a rule's "
                                                  "figures, such as retry_after_seconds, too)."})


# What strptime("%H:%M") reads: an hour and minutes, one or two digits each.
HOUR_MINUTE_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5]?[0-9]$"


def exact_formats(converter, field, ret, **kwargs):
    """What apispec leaves out or writes where nobody reads it: a date's
    Range (``x-minimum``) and a month as patterns, a local time's format,
    a dictionary's allowed keys."""
    if DATE_RANGE in field.validators:
        ret.pop("x-minimum", None)
        ret.pop("x-maximum", None)
        return {"pattern": DATE_PATTERN}
    if check_month in field.validators:
        return {"pattern": MONTH_PATTERN}
    if isinstance(field, fields.Time) and field.format == "%H:%M":
        return {"pattern": HOUR_MINUTE_PATTERN}
    if isinstance(field, fields.Dict) and field.key_field is not None:
        keys = [validator for validator in field.key_field.validators
                if isinstance(validator, validate.OneOf)]
        if keys:
            value = ret.pop("additionalProperties", {})
            return {"properties": {key: value for key in keys[0].choices},
                    "additionalProperties": False}
    return {}


class ContractPlugin(MarshmallowPlugin):
    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(exact_formats)

    def schema_helper(self, name, definition, schema=None, **kwargs):
        json_schema = super().schema_helper(name, definition, schema=schema, **kwargs)
        if schema is None:  # a component written as JSON Schema (SCIM's)
            return json_schema
        rules = getattr(type(resolve_schema_instance(schema)), "JSON_SCHEMA_RULES", None)
        if rules:
            json_schema.update(rules)
        return json_schema


def build_spec(routes):
    spec = APISpec(
        title="Relais des Possibles API", version="1.0.0", openapi_version="3.0.3",
        plugins=[ContractPlugin()],
        info={"description": "Find and book a desk or a room in a relay of the network; "
                             "manage organisations, rate cards and usage. SCIM 2.0 "
                             "provisioning is under /scim/v2 (tag SCIM)."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.security_scheme("scim_token", {
        "type": "http", "scheme": "bearer",
        "description": "A SCIM token (rls_...) a corporate admin created; SCIM only."})
    spec.components.schema("Problem", schema=ProblemSchema)
    for name, component in scim_components().items():
        spec.components.schema(name, component)
    operations = {}
    for route in routes:
        operations.setdefault(route.path, {})[route.method.lower()] = operation(route, routes)
    for path, ops in {**operations, **scim_paths()}.items():
        spec.path(path=path, operations=ops)
    document = spec.to_dict()
    document["tags"] = [{"name": tag} for tag in dict.fromkeys(
        route.tag for route in routes)] + [{"name": SCIM_TAG, "description": (
            "SCIM 2.0 (RFC 7643, 7644) for a corporate account's identity provider: "
            "application/scim+json, SCIM errors, a SCIM token.")}]
    return document


def operation(route, routes):
    op = {
        "operationId": operation_id(route),
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in PATH_PARAMETER.findall(route.path)
        ],
        "responses": {},
    }
    if route.query is not None:
        op["parameters"].append({"in": "query", "schema": route.query})
    if route.idempotent_create:
        op["parameters"].append({
            "in": "header", "name": idempotency.HEADER, "required": False,
            "schema": idempotency.SCHEMA,
            "description": "Retrying with the same key returns the first result; the same "
                           "key with another body is refused (422). Printable ASCII."})
    if route.body is not None and route.body_media_type == "text/csv":
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {
            "type": "string", "minLength": 1, "description": "The CSV file, UTF-8."}}}}
    elif route.body is not None:
        op["requestBody"] = {"required": route.body_required,
                             "content": {"application/json": {"schema": route.body}}}
    if route.authenticated:
        op["security"] = [{"bearer": []}]
    if route.roles is not None:
        op["description"] = (f"Needs one of the roles {', '.join(route.roles)} (403 otherwise, "
                              "before the body is read).")
    if route.binary:
        answer = {"type": "string", "format": "binary"}
    elif route.media_type != "application/json":
        answer = {"type": "string"}
    elif route.response is None:
        answer = {"type": "object"}
    else:
        answer = {"type": "array", "items": route.response} if route.many else route.response
    if route.status == 204:
        op["responses"]["204"] = {"description": "Done"}
    elif route.status == 302:
        op["responses"]["302"] = {"description": "Found: go where Location points", "headers": {
            "Location": {"required": True, "schema": {"type": "string"}}}}
    else:
        op["responses"][str(route.status)] = {
            "description": {200: "OK", 201: "Created", 202: "Accepted"}[route.status],
            "content": {route.media_type: {"schema": answer}},
        }
        links = links_from(route, routes)
        if links:
            op["responses"][str(route.status)]["links"] = links
    for status in sorted(error_statuses(route)):
        op["responses"][str(status)] = {
            "description": "Problem",
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    return op


def operation_id(route):
    return f"{route.service}_{route.rpc}"


def error_statuses(route):
    """The route's own errors, and those of the steps every such route takes:
    reading a body (malformed 400, too large 413, not JSON 415), checking the
    credential (401), calling the service (503, 504)."""
    statuses = set(route.errors) | {503, 504}
    if route.body is not None:
        statuses |= {400, 413, 415}
    if route.authenticated:
        statuses.add(401)
    return statuses


def links_from(route, routes):
    """What a POST creates (``id`` in its answer), linked to every operation
    on it: POST /v1/relays -> GET /v1/relays/{relay_id}, its spaces, closures...
    The created resource's path is the POST's path and the next parameter, or
    RESOURCE_PATHS; the other parameters come from the POST's own path."""
    if route.method != "POST" or route.status != 201 or route.response is None:
        return {}
    resource = RESOURCE_PATHS.get(route.name)
    links = {}
    for target in routes:
        if target is route:
            continue
        if resource is None:
            match = re.match(re.escape(route.path) + r"/{(\w+)}", target.path)
            if not match:
                continue
            created = match.group(1)
        elif target.path.startswith(resource):
            created = PATH_PARAMETER.findall(resource)[-1]
        else:
            continue
        parameters = {created: "$response.body#/id"}
        for name in PATH_PARAMETER.findall(target.path):
            if name != created:
                if name not in PATH_PARAMETER.findall(route.path):
                    break
                parameters[name] = f"$request.path.{name}"
        else:
            links[operation_id(target)] = {"operationId": operation_id(target),
                                           "parameters": parameters}
    return links
