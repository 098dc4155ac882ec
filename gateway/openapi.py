"""The OpenAPI 3 document, generated from the route table and the services'
marshmallow schemas (apispec)."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.problems import PROBLEM_BASE

PATH_PARAMETER = re.compile(r"{(\w+)}")


class ProblemSchema(Schema):
    type = fields.String(metadata={"example": PROBLEM_BASE + "validation-error"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    call_id = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Messages per invalid field."})


def build_spec(routes):
    spec = APISpec(
        title="Relais des Possibles API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Find and book a desk or a room in a relay of the network; "
                             "manage organisations, rate cards and usage."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=ProblemSchema)
    operations = {}
    for route in routes:
        operations.setdefault(route.path, {})[route.method.lower()] = operation(route)
    for path, ops in operations.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()


def operation(route):
    op = {
        "operationId": f"{route.service}_{route.rpc}",
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
            "in": "header", "name": "Idempotency-Key", "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retrying with the same key returns the first result."})
    if route.body is not None and route.body_media_type == "text/csv":
        op["requestBody"] = {"required": True, "content": {"text/csv": {"schema": {
            "type": "string", "description": "The CSV file, UTF-8."}}}}
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
    else:
        op["responses"][str(route.status)] = {
            "description": "OK" if route.status == 200 else "Created",
            "content": {route.media_type: {"schema": answer}},
        }
    for status in sorted(set(route.errors) | {503, 504}):
        op["responses"][str(status)] = {
            "description": "Problem",
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    return op
