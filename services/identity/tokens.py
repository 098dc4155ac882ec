"""Signed access tokens (JWT, EdDSA/Ed25519).

identity signs; the gateway verifies locally with the public keys it reads from
``jwks()``: no RPC per request. Claims: ``sub`` (user), ``org``, ``roles``,
``relays`` (for relay managers), ``aud`` and ``iss`` fixed below.
"""
import base64
import hashlib
import secrets
import time
import uuid
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.tokens import ALGORITHM, AUDIENCE, ISSUER, SECRET_PREFIXES

ACCESS_TOKEN_SECONDS = 15 * 60
# Key rotation: a new key is published (JWKS) this long before it signs, and an
# old key is kept published until every token it signed has expired.
PUBLISH_BEFORE_SIGNING = timedelta(seconds=60)
RETIRE_AFTER = timedelta(seconds=ACCESS_TOKEN_SECONDS) + timedelta(minutes=5)


def generate_private_pem():
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def key_id(private_pem):
    """A stable id for a key, derived from its public half."""
    public = _private_key(private_pem).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(public[:12]).decode().rstrip("=")


def _private_key(private_pem):
    return serialization.load_pem_private_key(private_pem.encode(), password=None)


def issue_access_token(private_pem, user, now=None):
    now = int(now or time.time())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": user.id, "org": user.organisation_id,
        "roles": sorted(user.roles), "relays": sorted(user.relay_ids or []),
        "iat": now, "exp": now + ACCESS_TOKEN_SECONDS, "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, _private_key(private_pem), algorithm=ALGORITHM,
                       headers={"kid": key_id(private_pem)})
    return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}


def public_jwk(private_pem):
    public = _private_key(private_pem).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "alg": ALGORITHM, "use": "sig",
            "kid": key_id(private_pem),
            "x": base64.urlsafe_b64encode(public).decode().rstrip("=")}


# Opaque secrets (refresh tokens, API keys, SCIM tokens, invitation tokens):
# 256 random bits, so a plain SHA-256 at rest is enough (no brute force to slow
# down, unlike a password). Their prefixes are in contracts.tokens.


def new_secret(kind):
    return SECRET_PREFIXES[kind] + secrets.token_urlsafe(32)


def secret_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()
