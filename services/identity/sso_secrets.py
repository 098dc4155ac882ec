"""The client secrets of companies' identity providers, encrypted at rest.

Unlike a password, a client secret must be sent back to the provider at each
sign-in, so it cannot be hashed: it is encrypted (Fernet: AES-128-CBC with an
HMAC-SHA256, from ``cryptography``, already under PyJWT) with a key from
``RELAIS_SSO_SECRET_KEY``. A copy of the database alone reveals none of them.
Production refuses the development key (common/production.py).
"""
import base64
import hashlib

from cryptography.fernet import Fernet

from common import config

DEVELOPMENT_KEY = "relais-dev-sso-secret-key"


def _fernet():
    # Any text of 32+ characters makes a key: Fernet wants 32 bytes, base64.
    setting = config.env("SSO_SECRET_KEY", DEVELOPMENT_KEY)
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(setting.encode()).digest()))


def encrypt(secret):
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token):
    return _fernet().decrypt(token.encode()).decode()
