"""What checking an access token costs the gateway, per request.

The same cheap authenticated GET (``GET /v1/bookings``) is served twice in one
run by the real WSGI application: once as it is, once with the route marked
unauthenticated; the RPC behind it is a stub that answers at once, so the
difference is the token check (header parsing, EdDSA signature, claims) and
nothing else. Requests alternate between the two so that both see the same
machine state. Also times ``TokenVerifier.verify`` alone, and an API key
answered from the gateway's cache.

    .venv/bin/python -m bench.auth_overhead [requests]
"""
import dataclasses
import statistics
import sys
import time
from types import SimpleNamespace

from werkzeug.test import EnvironBuilder

from gateway import app as gateway_app
from gateway.routes import ROUTES
from services.identity import tokens

TARGET = ("GET", "/v1/bookings")


class StubRpc:
    """Answers every RPC at once: the bench measures the gateway, not a service."""

    def __init__(self, jwks):
        self.jwks = jwks

    def call(self, service, method, **kwargs):
        if method == "jwks":
            return self.jwks
        if method == "authenticate_secret":
            return {"user_id": "k", "organisation_id": None, "roles": ["network_ops"],
                    "relay_ids": [], "credential": "api_key"}
        return []


def gateway(rpc, authenticated):
    routes = [dataclasses.replace(route, authenticated=authenticated)
              if (route.method, route.path) == TARGET else route for route in ROUTES]
    original = gateway_app.ROUTES
    gateway_app.ROUTES = routes
    try:
        return gateway_app.Gateway(rpc)
    finally:
        gateway_app.ROUTES = original


def timed(app, headers):
    environ = EnvironBuilder(method=TARGET[0], path=TARGET[1], headers=headers).get_environ()
    started = time.perf_counter()
    response = app.respond(gateway_app.Request(environ))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.get_data(as_text=True)
    return elapsed


def summary(samples):
    samples = sorted(samples)
    return (statistics.median(samples) * 1e3, samples[int(len(samples) * 0.99)] * 1e3)


def main(count):
    pem = tokens.generate_private_pem()
    rpc = StubRpc({"keys": [tokens.public_jwk(pem)]})
    user = SimpleNamespace(id="00000000-0000-4000-8000-000000000001", organisation_id=None,
                           roles=["network_ops"], relay_ids=[])
    token = tokens.issue_access_token(pem, user)["access_token"]
    with_auth, without_auth = gateway(rpc, True), gateway(rpc, False)
    jwt_header = {"Authorization": f"Bearer {token}"}
    key_header = {"Authorization": "Bearer " + tokens.new_secret("api_key")}

    for _ in range(500):  # warm up: imports, key cache, allocator
        timed(with_auth, jwt_header), timed(without_auth, {})
    authenticated, anonymous, by_key = [], [], []
    for _ in range(count):
        authenticated.append(timed(with_auth, jwt_header))
        anonymous.append(timed(without_auth, {}))
        by_key.append(timed(with_auth, key_header))

    verify = []
    for _ in range(count):
        started = time.perf_counter()
        with_auth.verifier.verify(token)
        verify.append(time.perf_counter() - started)

    rows = [("GET /v1/bookings, no token check", anonymous),
            ("GET /v1/bookings, access token (JWT)", authenticated),
            ("GET /v1/bookings, API key (cached)", by_key),
            ("TokenVerifier.verify alone", verify)]
    print(f"{count} requests each, in-process WSGI, stub RPC, one thread")
    print(f"{'':40} {'median ms':>10} {'p99 ms':>10}")
    for label, samples in rows:
        median, p99 = summary(samples)
        print(f"{label:40} {median:10.3f} {p99:10.3f}")
    overhead = statistics.median(authenticated) - statistics.median(anonymous)
    print(f"token check overhead (median difference): {overhead * 1e3:.3f} ms per request "
          f"(target < 0.5 ms)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
