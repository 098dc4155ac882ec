"""Access tokens at the gateway: verified locally with identity's JWKS (fetched
once, refetched at most every 10 s for an unknown key), and every way a token
can be wrong answered with a 401 problem."""
import json
import time
from types import SimpleNamespace

import jwt
import pytest
from nameko.exceptions import serialize

from common import errors
from gateway import auth as gateway_auth
from gateway.app import Gateway
from tests.unit.conftest import limits
from gateway.problems import PROBLEM_BASE
from gateway.rpc import RemoteError, RpcUnavailable
from services.identity import tokens
from werkzeug.test import Client

PROTECTED = "/v1/bookings"


def get(client, token, path=PROTECTED):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def assert_401(response, code):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == PROBLEM_BASE + code
    assert body["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="relais"')
    return body


def claims(**overrides):
    now = int(time.time())
    base = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "u-1", "org": "o-1",
            "roles": ["member"], "relays": [], "iat": now, "exp": now + 600}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def signed(private_pem, payload, algorithm="EdDSA"):
    return jwt.encode(payload, private_pem, algorithm=algorithm,
                      headers={"kid": tokens.key_id(private_pem)})


@pytest.fixture
def clock(monkeypatch):
    """The verifier's clock, moved by the test (only gateway.auth sees it)."""
    now = [time.monotonic()]
    monkeypatch.setattr(gateway_auth, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


# --- missing or unusable credentials ---------------------------------------------


def test_no_token_is_a_401_with_www_authenticate(client, rpc):
    response = client.get(PROTECTED)

    body = assert_401(response, "authentication-required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="relais"'
    assert "bearer" in body["detail"].lower()
    assert rpc.calls == [] and rpc.jwks_fetches == 0


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "token abc"])
def test_other_schemes_and_empty_bearer_are_refused(client, rpc, header):
    response = client.get(PROTECTED, headers={"Authorization": header})

    assert_401(response, "authentication-required")
    assert rpc.calls == []


def test_garbage_token_is_invalid(client, rpc):
    body = assert_401(get(client, "not.a.jwt"), "invalid-token")

    assert 'error="invalid_token"' in get(client, "x").headers["WWW-Authenticate"]
    assert body["detail"].startswith("The access token is not valid")
    assert rpc.calls == []


# --- valid tokens ---------------------------------------------------------------


def test_valid_token_passes_the_callers_context(client, rpc, private_pem):
    manager = SimpleNamespace(id="u-7", organisation_id="o-relays",
                              roles={"relay_manager", "member"}, relay_ids=["r-2", "r-1"])
    token = tokens.issue_access_token(private_pem, manager)["access_token"]

    response = get(client, token)

    assert response.status_code == 200
    assert rpc.calls[0].kwargs["caller"] == {
        "user_id": "u-7", "organisation_id": "o-relays",
        "roles": ["member", "relay_manager"], "relay_ids": ["r-1", "r-2"],
        "credential": "access_token"}


def test_keys_are_fetched_once_not_per_request(client, rpc, token):
    for _ in range(3):
        assert get(client, token).status_code == 200

    assert rpc.jwks_fetches == 1
    assert len(rpc.calls) == 3


def test_token_expired_within_the_leeway_is_still_accepted(client, rpc, private_pem, member):
    ten_seconds_ago = time.time() - tokens.ACCESS_TOKEN_SECONDS - 10
    token = tokens.issue_access_token(private_pem, member, now=ten_seconds_ago)["access_token"]

    assert get(client, token).status_code == 200


# --- tokens that must be refused ------------------------------------------------


def test_tampered_signature_is_refused(client, rpc, token):
    header, payload, signature = token.split(".")
    flipped = signature[:20] + ("A" if signature[20] != "A" else "B") + signature[21:]

    assert_401(get(client, f"{header}.{payload}.{flipped}"), "invalid-token")
    assert rpc.calls == []


def test_tampered_claims_are_refused(client, rpc, private_pem, token):
    """A member who rewrites their roles to network_admin keeps the old signature."""
    header, _, signature = token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(roles=["network_admin"])).encode()).decode()

    assert_401(get(client, f"{header}.{forged}.{signature}"), "invalid-token")
    assert rpc.calls == []


def test_expired_token_is_refused(client, rpc, private_pem, member):
    token = tokens.issue_access_token(private_pem, member, now=time.time() - 3600)["access_token"]

    body = assert_401(get(client, token), "token-expired")
    assert body["detail"] == "The access token has expired."
    assert rpc.calls == []


def test_wrong_audience_is_refused(client, rpc, private_pem):
    body = assert_401(get(client, signed(private_pem, claims(aud="other"))), "invalid-audience")

    assert body["detail"] == "The token is not meant for this API."
    assert rpc.calls == []


def test_wrong_issuer_is_refused(client, rpc, private_pem):
    assert_401(get(client, signed(private_pem, claims(iss="someone-else"))), "invalid-token")
    assert rpc.calls == []


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "aud", "iss"])
def test_token_without_a_required_claim_is_refused(client, rpc, private_pem, missing):
    assert_401(get(client, signed(private_pem, claims(**{missing: None}))), "invalid-token")
    assert rpc.calls == []


def test_unsigned_token_is_refused(client, rpc, private_pem):
    unsigned = jwt.encode(claims(), None, algorithm="none",
                          headers={"kid": tokens.key_id(private_pem)})

    assert_401(get(client, unsigned), "invalid-token")
    assert rpc.calls == []


def test_hmac_token_keyed_with_the_public_key_is_refused(client, rpc, private_pem):
    """Algorithm confusion: only EdDSA is accepted, whatever the header says."""
    public_x = tokens.public_jwk(private_pem)["x"]
    token = jwt.encode(claims(), public_x, algorithm="HS256",
                       headers={"kid": tokens.key_id(private_pem)})

    assert_401(get(client, token), "invalid-token")
    assert rpc.calls == []


# --- unknown keys, refetch and rotation -----------------------------------------


def test_unknown_key_is_refused_and_refetch_is_rate_limited(client, rpc, other_private_pem,
                                                            member, clock):
    foreign = tokens.issue_access_token(other_private_pem, member)["access_token"]

    first = assert_401(get(client, foreign), "invalid-token")
    assert first["detail"] == "The token is signed with an unknown key."
    assert rpc.jwks_fetches == 1

    clock[0] += 9
    assert_401(get(client, foreign), "invalid-token")
    assert rpc.jwks_fetches == 1  # within 10 s: no second fetch
    assert rpc.calls == []


def test_rotated_key_is_picked_up_after_the_refresh_interval(client, rpc, private_pem,
                                                             other_private_pem, token, member,
                                                             clock):
    assert get(client, token).status_code == 200
    rotated = tokens.issue_access_token(other_private_pem, member)["access_token"]
    rpc.jwks = {"keys": [tokens.public_jwk(private_pem), tokens.public_jwk(other_private_pem)]}

    clock[0] += 5
    assert_401(get(client, rotated), "invalid-token")
    assert rpc.jwks_fetches == 1

    clock[0] += 6
    assert get(client, rotated).status_code == 200
    assert rpc.jwks_fetches == 2
    assert get(client, token).status_code == 200  # the old key still works


def test_first_request_fetches_keys_even_just_after_boot(rpc, token, monkeypatch):
    monkeypatch.setattr(gateway_auth, "time", SimpleNamespace(monotonic=lambda: 3.0))
    client = Client(Gateway(rpc, limits()))

    assert get(client, token).status_code == 200


def test_identity_unreachable_for_keys_is_a_503(client, rpc, token):
    rpc.jwks_error = RpcUnavailable("message broker unreachable")

    response = get(client, token)

    assert response.status_code == 503
    assert response.get_json(force=True)["type"] == PROBLEM_BASE + "service-unavailable"
    assert rpc.calls == []


def test_identity_failing_to_give_keys_is_a_503(client, rpc, token):
    rpc.jwks_error = RemoteError({"exc_type": "OperationalError",
                                  "exc_path": "sqlalchemy.exc.OperationalError",
                                  "exc_args": ["db down"], "value": "db down"})

    assert get(client, token).status_code == 503


def test_gateway_republishes_the_public_jwks(client, rpc, private_pem):
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.get_json()["keys"]
    assert keys == [tokens.public_jwk(private_pem)]
    assert all("d" not in key for key in keys)  # never the private half


# --- 401 from a service ---------------------------------------------------------


def test_wrong_password_at_login_is_a_401_problem(client, rpc):
    rpc.answer("identity", "issue_token", RemoteError(serialize(errors.Unauthorized(
        "Wrong e-mail or password.", code="invalid-credentials"))))

    response = client.post("/v1/auth/token", json={"email": "camille@example.org",
                                                   "password": "wrong-password"})

    assert response.status_code == 401
    body = response.get_json(force=True)
    assert body["type"] == PROBLEM_BASE + "invalid-credentials"
    assert body["detail"] == "Wrong e-mail or password."
    assert rpc.calls[0].kwargs == {"payload": {"email": "camille@example.org",
                                               "password": "wrong-password"}}


def test_401_from_a_service_carries_www_authenticate(client, rpc):
    rpc.answer("identity", "issue_token", RemoteError(serialize(errors.Unauthorized(
        "Wrong e-mail or password.", code="invalid-credentials"))))

    response = client.post("/v1/auth/token", json={"email": "camille@example.org",
                                                   "password": "wrong-password"})

    assert "WWW-Authenticate" in response.headers
