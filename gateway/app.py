"""The HTTP gateway: a WSGI application served by gunicorn.

It checks the access token, validates the request with the services' own
schemas, calls one RPC over RabbitMQ, and answers JSON or a problem+json error.
"""
import base64
import json
import logging
import os
import time
import uuid
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from common import config, errors, logging as relais_logging
from common.validation import load, unstorable_text
from gateway import metrics
from gateway.bodies import read_json, read_text, storable
from gateway.auth import InvalidToken, SecretVerifier, TokenVerifier
from gateway.openapi import build_spec
from gateway.problems import Problem, from_remote_error
from gateway.routes import ROUTES, SERVICES
from gateway.rpc import RemoteError, RpcTimeout, RpcUnavailable, ThreadLocalRpc
from gateway.scim import ScimApi
from contracts.tokens import secret_kind

log = logging.getLogger("gateway")

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
MAX_IDEMPOTENCY_KEY_LENGTH = 255
DOCS_HTML = (Path(__file__).parent / "docs.html").read_text()
DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
               "favicon-32x32.png": "image/png"}


def werkzeug_rule(openapi_path):
    return openapi_path.replace("{", "<").replace("}", ">")


class Gateway:
    def __init__(self, rpc):
        self.rpc = rpc
        self.verifier = TokenVerifier(lambda: self.rpc.call("identity", "jwks"))
        self.secrets = SecretVerifier(self.check_secret)
        self.scim = ScimApi(self)
        self.spec = json.dumps(build_spec(ROUTES))
        self.url_map = Map(
            [Rule(werkzeug_rule(route.path), methods=[route.method], endpoint=route)
             for route in ROUTES]
            + [Rule(path, methods=["GET"], endpoint=name) for path, name in (
                ("/health", "health"), ("/ready", "ready"), ("/metrics", "metrics"),
                ("/openapi.json", "openapi"), ("/docs", "docs"),
                ("/docs/static/<asset>", "docs_asset"),
                ("/.well-known/jwks.json", "jwks"))],
            strict_slashes=False,
        )

    def __call__(self, environ, start_response):
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request):
        call_id = f"gateway.{request.method.lower()}.{uuid.uuid4()}"
        relais_logging.set_call_id_stack([call_id])
        started = time.perf_counter()
        route_label = "unmatched"
        try:
            if request.path.startswith(ScimApi.PREFIX):
                # SCIM has its own media type, errors and tokens: gateway/scim.py.
                route_label = "scim"
                response = self.scim.respond(request, call_id)
            else:
                endpoint, path_args = self.url_map.bind_to_environ(request.environ).match()
                if isinstance(endpoint, str):
                    route_label = endpoint
                    response = getattr(self, "serve_" + endpoint)(request, **path_args)
                else:
                    route_label = endpoint.name
                    response = self.handle(endpoint, request, path_args, call_id)
        except NotFound:
            response = Problem(404, "no-such-endpoint", "There is no such endpoint.").response(
                request.path, call_id)
        except MethodNotAllowed as exc:
            response = Problem(405, "method-not-allowed", "This endpoint does not take "
                               f"{request.method}.", headers={"Allow": ", ".join(exc.valid_methods or [])}
                               ).response(request.path, call_id)
        except Problem as problem:
            response = problem.response(request.path, call_id)
        except Exception:
            log.exception("unhandled error in the gateway")
            response = Problem(500, "internal-error", "The gateway failed to handle the request."
                               ).response(request.path, call_id)
        finally:
            relais_logging.set_call_id_stack(None)
        response.headers["X-Call-Id"] = call_id
        method = request.method if request.method in KNOWN_METHODS else "other"
        elapsed = time.perf_counter() - started
        metrics.http_request_duration.labels(method, route_label, response.status_code
                                             ).observe(elapsed)
        log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "route": route_label, "status": response.status_code, "call_id": call_id,
            "duration_ms": round(elapsed * 1000, 2)})
        return response

    # API routes -----------------------------------------------------------

    def handle(self, route, request, path_args, call_id):
        kwargs = dict(storable(path_args))
        if route.authenticated:
            caller = self.authenticate(request, route.credentials)
            if route.passes_caller:
                kwargs["caller"] = caller
        if route.body is not None and route.body_media_type == "text/csv":
            kwargs["payload"] = validated(schema_of(route.body),
                                          {"csv": read_text(request, "text/csv", "csv")})
        elif route.body is not None:
            kwargs["payload"] = validated(schema_of(route.body),
                                          read_json(request, route.body_required))
        if route.query is not None:
            kwargs["query"] = validated(schema_of(route.query), storable(request.args.to_dict()))
        if route.idempotent_create:
            kwargs["idempotency_key"] = idempotency_key(request)
        result = self.call(route.service, route.rpc, call_id, **kwargs)
        if route.status == 204:
            return Response(status=204)
        if route.binary:  # a PDF crosses AMQP as base64 (JSON-native)
            return Response(base64.b64decode(result), status=route.status,
                            content_type=route.media_type)
        if route.media_type != "application/json":
            # The service renders documents such as a text/calendar feed itself.
            return Response(result, status=route.status,
                            content_type=f"{route.media_type}; charset=utf-8")
        return Response(json.dumps(result), status=route.status, content_type="application/json")

    def call(self, service, method, call_id, **kwargs):
        started = time.perf_counter()
        outcome = "ok"
        try:
            return self.rpc.call(service, method, call_id_stack=[call_id], **kwargs)
        except RpcTimeout as exc:
            outcome = "timeout"
            raise Problem(504, "service-timeout", f"The {service} service did not answer in "
                          f"time ({exc}).") from None
        except RpcUnavailable as exc:
            outcome = "unavailable"
            raise Problem(503, "service-unavailable", f"The {service} service cannot be "
                          f"reached ({exc}).", headers={"Retry-After": "5"}) from None
        except RemoteError as exc:
            outcome = "error"
            problem = from_remote_error(exc)
            if problem.status == 500:
                log.error("%s.%s raised %s: %s", service, method, exc.exc_path, exc)
            raise problem from None
        finally:
            metrics.rpc_duration.labels(service, method, outcome).observe(
                time.perf_counter() - started)

    def authenticate(self, request, accepted=("access_token", "api_key")):
        """The caller context of the request's bearer credential: an access
        token (checked here), or an API key or SCIM token (checked by identity,
        cached). A credential of a kind the endpoint does not take is refused."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            metrics.token_rejections.labels("missing").inc()
            raise Problem(401, "authentication-required", "This needs a bearer access token.",
                          headers={"WWW-Authenticate": 'Bearer realm="relais"'})
        try:
            kind = secret_kind(token)
            if kind in ("api_key", "scim_token"):
                if kind not in accepted:
                    raise InvalidToken("wrong-credential",
                                       f"A {kind.replace('_', ' ')} does not work here.")
                return self.secrets.verify(token)
            if "access_token" not in accepted:
                raise InvalidToken("wrong-credential", "This endpoint takes a SCIM token.")
            return self.verifier.verify(token)
        except InvalidToken as exc:
            metrics.token_rejections.labels(exc.code).inc()
            raise Problem(401, exc.code, exc.detail, headers={
                "WWW-Authenticate": 'Bearer realm="relais", error="invalid_token"'}) from None
        except (RpcUnavailable, RpcTimeout, RemoteError) as exc:
            raise Problem(503, "service-unavailable",
                          f"Credentials cannot be checked now ({exc}).") from None

    def check_secret(self, secret):
        """identity's answer for an API key or SCIM token."""
        try:
            return self.rpc.call("identity", "authenticate_secret", secret=secret)
        except RemoteError as exc:
            if exc.exc_path == "common.errors.Unauthorized":
                raise InvalidToken("invalid-token", "This key is unknown or revoked.") from None
            raise

    # Operational endpoints --------------------------------------------------

    def serve_health(self, request):
        return json_response(200, {"status": "ok"})

    def serve_ready(self, request):
        """Ready when the broker answers and every service has a consumer on its
        RPC queue."""
        try:
            services = {name: self.rpc.client.queue_consumers(f"rpc-{name}") for name in SERVICES}
        except Exception as exc:
            return json_response(503, {"status": "unavailable",
                                       "broker": f"unreachable ({type(exc).__name__})"})
        states = {name: "ok" if count else ("no consumer" if count == 0 else "absent")
                  for name, count in services.items()}
        ready = all(state == "ok" for state in states.values())
        return json_response(200 if ready else 503, {
            "status": "ready" if ready else "unavailable", "broker": "ok", "services": states})

    def serve_metrics(self, request):
        return Response(metrics.exposition(), content_type="text/plain; version=0.0.4")

    def serve_openapi(self, request):
        return Response(self.spec, content_type="application/json")

    def serve_docs(self, request):
        return Response(DOCS_HTML, content_type="text/html; charset=utf-8")

    def serve_docs_asset(self, request, asset):
        if asset not in DOCS_ASSETS:
            raise NotFound()
        return Response((Path(swagger_ui_path) / asset).read_bytes(),
                        content_type=DOCS_ASSETS[asset],
                        headers={"Cache-Control": "public, max-age=86400"})

    def serve_jwks(self, request):
        try:
            self.verifier.refresh()
        except (RpcUnavailable, RpcTimeout, RemoteError) as exc:
            raise Problem(503, "service-unavailable", f"identity cannot give its keys ({exc}).")
        return json_response(200, self.verifier.jwks)


def json_response(status, body):
    return Response(json.dumps(body), status=status, content_type="application/json")


_schemas = {}


def schema_of(schema_class):
    """One instance of each request schema per process: building one deep-copies
    its fields (~0.1-0.3 ms, more than the validation), and a marshmallow
    schema keeps no state between ``load`` calls, so threads share it."""
    schema = _schemas.get(schema_class)
    if schema is None:
        schema = _schemas[schema_class] = schema_class()
    return schema


def validated(schema, data):
    """Refuse bad input here, with per-field errors; pass the raw JSON on (the
    service validates it again with the same schema at its own boundary)."""
    try:
        load(schema, data)
    except errors.InvalidInput as exc:
        raise Problem(422, exc.code, exc.detail, exc.fields) from None
    return data


def idempotency_key(request):
    key = request.headers.get("Idempotency-Key")
    if key is not None and (not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH
                            or unstorable_text(key)):
        raise Problem(400, "invalid-idempotency-key",
                      f"An Idempotency-Key has 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters "
                      "(no NUL).")
    return key


def create_app():
    relais_logging.configure("gateway")
    timeout = float(os.environ.get("RELAIS_RPC_TIMEOUT_SECONDS", "5"))
    return Gateway(ThreadLocalRpc(config.amqp_uri(), timeout))


app = create_app()
