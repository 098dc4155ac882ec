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
from common.production import refuse_development_secrets
from common.validation import load
from gateway import jsoncodec, metrics
from gateway.bodies import read_json, read_text, storable
from gateway.auth import InvalidToken, SecretVerifier, TokenVerifier
from gateway.headers import secure
from gateway.idempotency import idempotency_key
from gateway.limits import (
    INVITATION_MAILS, INVITATION_MAILS_PER_CALLER, PASSWORD_SET_FAILURES, SCIM_REQUESTS,
    SIGN_UPS_PER_ADDRESS, SIGN_UPS_PER_CLIENT, SSO_STARTS, Limits, LimitsUnavailable, digest,
)
from gateway.openapi import build_spec
from gateway.problems import Problem, from_remote_error
from gateway.routes import EVERY_SERVICE, ROUTES, SERVICES
from gateway.rpc import RemoteError, RpcTimeout, RpcUnavailable, ThreadLocalRpc
from gateway.scim import ScimApi
from gateway.sso import SignIns, invalid_state, refused_callback
from contracts.rpc.identity import SsoCallbackQuerySchema
from contracts.tokens import secret_kind

log = logging.getLogger("gateway")

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Path parameters that are secrets (a calendar feed's token): the access log
# shows the route's placeholder instead. Query strings are never logged.
SECRET_PATH_PARAMETERS = {"token"}
DOCS_HTML = (Path(__file__).parent / "docs.html").read_text()
DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
               "favicon-32x32.png": "image/png"}
DOCS_SCRIPT = (Path(__file__).parent / "docs.js").read_bytes()


# Routes that take a secret someone could guess, and the status of a wrong guess.
SECRET_GUESSES = {"identity.set_password": 401, "identity.verify_email": 401,
                  "identity.join_programme": 404}


def werkzeug_rule(openapi_path):
    return openapi_path.replace("{", "<").replace("}", ">")


class Gateway:
    def __init__(self, rpc, limits=None):
        self.rpc = rpc
        self.limits = limits or Limits()
        self.verifier = TokenVerifier(lambda: self.rpc.call("identity", "jwks"))
        self.secrets = SecretVerifier(self.check_secret)
        self.scim = ScimApi(self)
        self.sign_ins = SignIns(self.limits)
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
        logged_path = "(no such endpoint)"  # an unknown path may hold anything
        try:
            if request.path.startswith(ScimApi.PREFIX):
                # SCIM has its own media type, errors and tokens: gateway/scim.py.
                route_label = "scim"
                logged_path = request.path  # ids only: SCIM tokens travel in a header
                response = self.scim.respond(request, call_id)
            else:
                endpoint, path_args = self.url_map.bind_to_environ(request.environ).match()
                if isinstance(endpoint, str):
                    route_label = endpoint
                    logged_path = request.path
                    response = getattr(self, "serve_" + endpoint)(request, **path_args)
                else:
                    route_label = endpoint.name
                    logged_path = loggable_path(endpoint, path_args)
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
        secure(response, docs=route_label in ("docs", "docs_asset"))
        method = request.method if request.method in KNOWN_METHODS else "other"
        elapsed = time.perf_counter() - started
        metrics.http_request_duration.labels(method, route_label, response.status_code
                                             ).observe(elapsed)
        log.info("%s %s %s", request.method, logged_path, response.status_code, extra={
            "route": route_label, "status": response.status_code, "call_id": call_id,
            "duration_ms": round(elapsed * 1000, 2)})
        return response

    # API routes -----------------------------------------------------------

    def handle(self, route, request, path_args, call_id):
        kwargs = dict(storable(path_args))
        if route.authenticated:
            caller = self.authenticate(request, route.credentials)
            refuse_without_roles(route, caller)
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
        if route.name == "identity.sso_begin":
            return self.sso_start(request, call_id, kwargs)
        if route.name == "identity.sso_complete":
            return self.sso_callback(call_id, kwargs)
        result = self.limited_call(route, request, call_id, kwargs)
        if route.status == 204:
            return Response(status=204)
        if route.binary:  # a PDF crosses AMQP as base64 (JSON-native)
            return Response(base64.b64decode(result), status=route.status,
                            content_type=route.media_type)
        if route.media_type != "application/json":
            # The service renders documents such as a text/calendar feed itself.
            return Response(result, status=route.status,
                            content_type=f"{route.media_type}; charset=utf-8")
        return Response(jsoncodec.dumps(result), status=route.status,
                        content_type="application/json")

    def limited_call(self, route, request, call_id, kwargs):
        """The RPC, under the attempt limits of gateway/limits.py where one
        applies (log-in, password set, invitation mails): 429 before the call."""
        if route.service == EVERY_SERVICE:
            return self.call_every(route, call_id, kwargs)
        call = lambda: self.call(route.service, route.rpc, call_id,  # noqa: E731
                                 timeout=route.timeout_seconds, **kwargs)
        client = client_address(request)
        try:
            if route.name == "identity.issue_token":
                email = kwargs["payload"]["email"]
                self.refuse_after(self.limits.login_wait(email, client))
                try:
                    result = call()
                except Problem as problem:
                    if problem.status == 401:
                        self.limits.login_failed(email, client)
                    raise
                self.limits.login_succeeded(email, client)
                return result
            if route.name in SECRET_GUESSES:
                # Secrets people type or follow (an invitation's token, a
                # sign-up's, a programme's code): wrong ones count against the
                # client, in one window for all.
                self.refuse_after(self.limits.wait(PASSWORD_SET_FAILURES, "password", client))
                try:
                    return call()
                except Problem as problem:
                    if problem.status == SECRET_GUESSES[route.name]:
                        self.limits.count(PASSWORD_SET_FAILURES, "password", client)
                    raise
            keys = mail_limits(route, kwargs, client)
            if keys:
                self.refuse_after(max(self.limits.wait(*key) for key in keys))
                for key in keys:
                    self.limits.count(*key)
        except LimitsUnavailable:
            raise Problem(503, "limits-unavailable", "Attempt limits cannot be checked now: "
                          "try again shortly.", headers={"Retry-After": "5"}) from None
        return call()

    def sso_start(self, request, call_id, kwargs):
        """Redirect to the company's identity provider; keep what the callback
        needs (gateway/sso.py)."""
        client = client_address(request)
        try:
            self.refuse_after(self.limits.wait(SSO_STARTS, "sso-start", client))
            self.limits.count(SSO_STARTS, "sso-start", client)
        except LimitsUnavailable:
            raise Problem(503, "limits-unavailable", "Attempt limits cannot be checked now: "
                          "try again shortly.", headers={"Retry-After": "5"}) from None
        begun = self.call("identity", "sso_begin", call_id, query=kwargs["query"])
        self.sign_ins.keep(begun)
        return Response(status=302, headers={"Location": begun["authorization_url"]})

    def sso_callback(self, call_id, kwargs):
        """The provider's answer: the state is used up first, whatever follows,
        so neither it nor its code can be played twice."""
        query = load(schema_of(SsoCallbackQuerySchema), kwargs["query"])
        kept = self.sign_ins.take(query["state"])
        if kept is None:
            raise invalid_state()
        refused = refused_callback(query)
        if refused is not None:
            raise refused
        tokens = self.call("identity", "sso_complete", call_id,
                           query=dict(kept, code=query["code"], iss=query["iss"]))
        return json_response(200, tokens)

    def call_every(self, route, call_id, kwargs):
        """The route's RPC on every service, their lists joined. A service that
        does not answer is a row saying so (``unavailable``), not a failure of
        the whole: ops read the others' dead letters when one is down."""
        rows = []
        for service in SERVICES:
            try:
                rows += self.call(service, route.rpc, call_id, timeout=route.timeout_seconds,
                                  **kwargs)
            except Problem as problem:
                if problem.status not in (503, 504):
                    raise
                rows.append({"service": service, "queue": None, "depth": None, "samples": [],
                             "unavailable": True})
        return rows

    def limit_scim(self, request):
        """A SCIM token's requests per minute (an identity provider in a loop)."""
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        try:
            self.refuse_after(self.limits.wait(SCIM_REQUESTS, "scim", digest(token)))
            self.limits.count(SCIM_REQUESTS, "scim", digest(token))
        except LimitsUnavailable:
            raise Problem(503, "limits-unavailable", "Attempt limits cannot be checked now: "
                          "try again shortly.", headers={"Retry-After": "5"}) from None

    @staticmethod
    def refuse_after(seconds):
        if seconds:
            raise Problem(429, "too-many-attempts", f"Too many attempts: try again in "
                          f"{seconds} s.", fields={"retry_after_seconds": [seconds]},
                          headers={"Retry-After": str(seconds)})

    def call(self, service, method, call_id, timeout=None, **kwargs):
        started = time.perf_counter()
        outcome = "ok"
        try:
            return self.rpc.call(service, method, call_id_stack=[call_id], timeout=timeout,
                                 **kwargs)
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
        if asset == "relais-docs.js":
            return Response(DOCS_SCRIPT, content_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})
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


def mail_limits(route, kwargs, client):
    """The limits on what a request makes notify mail, counted whether or not
    the mail goes (so a sign-up's limit tells nothing of the address):
    invitations per user and per sender, sign-ups per address and per client."""
    if route.name == "identity.invite_user":
        return [(INVITATION_MAILS, "invite", kwargs["user_id"]),
                (INVITATION_MAILS_PER_CALLER, "inviter", kwargs["caller"]["user_id"])]
    if route.name == "identity.sign_up":
        return [(SIGN_UPS_PER_ADDRESS, "sign-up", digest(kwargs["payload"]["email"])),
                (SIGN_UPS_PER_CLIENT, "sign-up-client", client)]
    return []


def refuse_without_roles(route, caller):
    """403 before the body is read when the route needs a role the caller has
    none of (the service checks its finer scope itself)."""
    if route.roles is not None and not set(route.roles) & set(caller.get("roles", ())):
        raise Problem(403, "forbidden", f"This needs one of the roles: {', '.join(route.roles)}.")


def loggable_path(route, path_args):
    """The request's path as the access log may show it: secrets as placeholders."""
    path = route.path
    for name, value in path_args.items():
        if name not in SECRET_PATH_PARAMETERS:
            path = path.replace("{" + name + "}", str(value))
    return path


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


# How many proxies in front of the gateway append to X-Forwarded-For (an
# ingress: 1). 0 trusts no header: the client is the socket's peer.
TRUSTED_PROXY_HOPS = int(config.env("TRUSTED_PROXY_HOPS", "0"))


def client_address(request):
    """The client's IP, as the limits count it: the peer, or the address the
    nearest trusted proxy saw (a client can prepend anything to the header,
    never append past our own proxies)."""
    if TRUSTED_PROXY_HOPS:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")
                if hop.strip()]
        if len(hops) >= TRUSTED_PROXY_HOPS:
            return hops[-TRUSTED_PROXY_HOPS][:64]
    return request.remote_addr or "unknown"


def create_app():
    refuse_development_secrets("gateway")
    relais_logging.configure("gateway")
    timeout = float(os.environ.get("RELAIS_RPC_TIMEOUT_SECONDS", "5"))
    return Gateway(ThreadLocalRpc(config.amqp_uri(), timeout))


app = create_app()
