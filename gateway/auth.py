"""Who is calling: access tokens, API keys and SCIM tokens, at the gateway.

Access tokens (JWTs) are verified locally with identity's public keys: they
come from ``identity.jwks`` once, then are cached; a token signed with a key id
we do not know triggers one refresh (at most every REFRESH_MIN_SECONDS), so
identity can rotate keys without a gateway restart. No RPC per request.

API keys and SCIM tokens are opaque: identity checks them (``authenticate_secret``)
and each gateway process caches a positive answer for SECRET_CACHE_SECONDS, so a
revoked key stops working at most that long after its revocation. Refusals are
not cached (a key just created works at once). The cache is keyed by the
secret's SHA-256, never the secret.
"""
import hashlib
import threading
import time

import jwt
from jwt import PyJWK

from common import config
from contracts.tokens import ALGORITHM, AUDIENCE, ISSUER

REFRESH_MIN_SECONDS = 10
LEEWAY_SECONDS = 30
# How stale a cached API key / SCIM token answer may be: the revocation bound.
SECRET_CACHE_SECONDS = float(config.env("SECRET_CACHE_SECONDS", "30"))
SECRET_CACHE_MAX_ENTRIES = 10_000


class InvalidToken(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class TokenVerifier:
    def __init__(self, fetch_jwks):
        self.fetch_jwks = fetch_jwks
        self.keys = {}
        self.jwks = {"keys": []}
        self.fetched_at = None  # never: the first unknown key id always fetches
        self.lock = threading.Lock()

    def refresh(self, force=False):
        with self.lock:
            recently = (self.fetched_at is not None
                        and time.monotonic() - self.fetched_at < REFRESH_MIN_SECONDS)
            if recently and not force:
                return
            jwks = self.fetch_jwks()
            self.keys = {key["kid"]: PyJWK(key, algorithm=ALGORITHM) for key in jwks["keys"]}
            self.jwks = jwks
            self.fetched_at = time.monotonic()

    def key_for(self, kid):
        if kid not in self.keys:
            self.refresh()
        if kid not in self.keys:
            raise InvalidToken("invalid-token", "The token is signed with an unknown key.")
        return self.keys[kid]

    def verify(self, token):
        """The caller context carried by a valid token."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self.key_for(header.get("kid")), algorithms=[ALGORITHM],
                audience=AUDIENCE, issuer=ISSUER, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token-expired", "The access token has expired.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("invalid-audience", "The token is not meant for this API.") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid-token", f"The access token is not valid: {exc}.") from None
        return {
            "user_id": claims["sub"], "organisation_id": claims.get("org"),
            "roles": claims.get("roles", []), "relay_ids": claims.get("relays", []),
            "credential": "access_token",
        }


class SecretVerifier:
    """API keys and SCIM tokens, checked by identity, cached briefly."""

    def __init__(self, authenticate, ttl=None, clock=time.monotonic):
        self.authenticate = authenticate  # secret -> caller context, or raises InvalidToken
        self.ttl = SECRET_CACHE_SECONDS if ttl is None else ttl
        self.clock = clock
        self.cache = {}
        self.lock = threading.Lock()

    def verify(self, secret):
        key = hashlib.sha256(secret.encode()).hexdigest()
        now = self.clock()
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        context = self.authenticate(secret)
        with self.lock:
            if len(self.cache) >= SECRET_CACHE_MAX_ENTRIES:
                self.cache = {k: v for k, v in self.cache.items() if v[1] > now}
                if len(self.cache) >= SECRET_CACHE_MAX_ENTRIES:
                    self.cache.clear()
            self.cache[key] = (context, now + self.ttl)
        return context
