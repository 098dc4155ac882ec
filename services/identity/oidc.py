"""Talking to a company's OpenID Provider: its discovery document, its signing
keys (JWKS), the code exchange, and the ID token's checks.

Every call goes through common/outbound.py: https only (plain http to loopback
only with ``RELAIS_SSO_ALLOW_LOOPBACK``, for development and tests), no
inside address, the connection pinned to the checked address, no redirect
followed, the answer bounded. The ID token's signature and claims (issuer,
audience, expiry, nonce, at_hash, azp) are checked by Authlib's ``CodeIDToken``
with joserfc, the JOSE library Authlib itself verifies with.

Keys: a provider rotates its signing keys; a token signed with a key id we do
not know makes us fetch the JWKS again, at most once per
``RELAIS_SSO_JWKS_REFETCH_SECONDS`` (10) per provider, so a stream of forged
key ids cannot make us hammer it.
"""
import base64
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import requests
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from common import config
from common.outbound import UnsafeUrl, check_url_form, checked_address, pinned_session, read_bounded

# Asymmetric algorithms only: "none" and HMAC (keyed with the client secret)
# are refused whatever the token's header says.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA"]
LEEWAY_SECONDS = 60
TIMEOUT_SECONDS = (5, 10)
MAX_ANSWER_BYTES = 512 * 1024


@dataclass(frozen=True)
class Client:
    """Relais as a client of one provider (a company's settings, the secret apart)."""
    issuer: str
    client_id: str
    token_endpoint: str
    jwks_uri: str


class ProviderError(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code, self.detail = code, detail


def allow_loopback():
    return config.env("SSO_ALLOW_LOOPBACK", "").lower() in ("1", "true", "yes", "on")


def _call(method, url, **kwargs):
    """JSON from the provider; ProviderError if unsafe, unreachable or not JSON."""
    try:
        parts, address = checked_address(url, allow_loopback())
    except UnsafeUrl as exc:
        raise ProviderError("sso-unsafe-url", f"{url}: {exc}") from None
    headers = {"Accept": "application/json", "Host": parts.netloc, **kwargs.pop("headers", {})}
    try:
        with pinned_session(parts, address) as http, http.request(
                method, url, headers=headers, stream=True, allow_redirects=False,
                timeout=TIMEOUT_SECONDS, **kwargs) as answer:
            status, body = answer.status_code, read_bounded(answer, MAX_ANSWER_BYTES)
    except requests.RequestException as exc:
        raise ProviderError("sso-provider-unreachable",
                            f"The identity provider cannot be reached ({type(exc).__name__}).") \
            from None
    try:
        return status, json.loads(body)
    except ValueError:
        raise ProviderError("sso-provider-error",
                            f"The identity provider answered {status} without JSON.") from None


def discover(issuer):
    """The provider's endpoints, from its discovery document, whose ``issuer``
    must be exactly the one configured (OpenID Connect Discovery 1.0, 4.3)."""
    try:
        check_url_form(issuer, allow_loopback())
    except UnsafeUrl as exc:
        raise ProviderError("sso-unsafe-url", f"issuer: {exc}") from None
    status, document = _call("GET", issuer.rstrip("/") + "/.well-known/openid-configuration")
    if status != 200 or not isinstance(document, dict):
        raise ProviderError("sso-discovery-failed", f"The discovery document answered {status}.")
    if document.get("issuer") != issuer:
        raise ProviderError("sso-issuer-mismatch", "The discovery document names another "
                            f"issuer ({str(document.get('issuer'))[:200]}).")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        try:
            check_url_form(value if isinstance(value, str) else "", allow_loopback())
        except UnsafeUrl as exc:
            raise ProviderError("sso-discovery-failed", f"{name}: {exc}") from None
        endpoints[name] = value
    if "S256" not in document.get("code_challenge_methods_supported", ["S256"]):
        raise ProviderError("sso-discovery-failed", "The provider does not support PKCE S256.")
    return endpoints


def exchange_code(client, client_secret, code, code_verifier, redirect_uri):
    """The provider's tokens for an authorization code (client_secret_basic,
    RFC 6749 2.3.1: id and secret form-encoded, then base64)."""
    basic = base64.b64encode(f"{quote(client.client_id, safe='')}:"
                             f"{quote(client_secret, safe='')}".encode()).decode()
    status, answer = _call("POST", client.token_endpoint, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": code_verifier}, headers={"Authorization": f"Basic {basic}"})
    if status == 400 and isinstance(answer, dict) and answer.get("error") == "invalid_grant":
        raise ProviderError("sso-code-refused", "The identity provider refused this sign-in's "
                            "code: it was already used or has expired. Sign in again.")
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("id_token"), str):
        raise ProviderError("sso-provider-error",
                            f"The identity provider's token endpoint answered {status}.")
    return answer


def verify_id_token(client, id_token, nonce, access_token=None):
    """The ID token's claims once its signature, issuer, audience, expiry and
    nonce are checked; ProviderError ``sso-token-invalid`` otherwise."""
    try:
        kid = extract_compact(id_token.encode()).headers().get("kid")
        token = jwt.decode(id_token, KeySet.import_key_set(_keys(client.jwks_uri, kid)),
                           algorithms=ALGORITHMS)
        claims = CodeIDToken(
            token.claims, token.header,
            {"iss": {"essential": True, "value": client.issuer},
             "aud": {"essential": True, "value": client.client_id}},
            {"nonce": nonce, "client_id": client.client_id, "access_token": access_token})
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderError("sso-token-invalid", "The identity provider's ID token is not "
                            f"valid for this sign-in ({type(exc).__name__}).") from None
    return dict(claims)


# -- the providers' keys ----------------------------------------------------------

_key_sets = {}          # jwks_uri -> (JWKS, time.monotonic() of the fetch)
_key_sets_lock = threading.Lock()


def _keys(jwks_uri, kid):
    """The provider's JWKS, from the cache unless it lacks ``kid`` and the last
    fetch is older than the refetch interval."""
    cached = _key_sets.get(jwks_uri)
    if cached is not None:
        jwks, fetched_at = cached
        known = kid is None or any(key.get("kid") == kid for key in jwks["keys"])
        if known or time.monotonic() - fetched_at < float(
                config.env("SSO_JWKS_REFETCH_SECONDS", "10")):
            return jwks
    status, jwks = _call("GET", jwks_uri)
    if status != 200 or not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ProviderError("sso-provider-error", f"The provider's JWKS answered {status}.")
    with _key_sets_lock:
        _key_sets[jwks_uri] = (jwks, time.monotonic())
    return jwks
