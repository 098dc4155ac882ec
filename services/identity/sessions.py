"""Log-in, refresh and log-out.

A log-in gives a short-lived access token (a JWT the gateway checks locally)
and an opaque refresh token. A refresh token is single use: each refresh
returns a new one in the same *family*; presenting an already used one again
means it was copied, so the whole family is revoked (RFC 9700, 4.14.2).

A refusal must still commit what it learnt (a reused refresh token revokes its
family), so the use cases return an ``Outcome`` and the entrypoint raises its
error only after the commit. Guessing is limited at the gateway (gateway/limits.py).
"""
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from common import errors
from services.identity import sso, tokens
from services.identity.hashing import password_matches
from services.identity.models import RefreshToken, SigningKey, User

REFRESH_TOKEN_LIFETIME = timedelta(days=30)


@dataclass
class Outcome:
    result: dict | None = None
    error: Exception | None = None

    def unwrap(self):
        if self.error is not None:
            raise self.error
        return self.result


def log_in(uow, email, password, now=None):
    """Tokens for the right e-mail and password. Guessing is limited at the
    gateway (gateway/limits.py: per address and client, per client, per
    address from unknown clients, shared by every replica in Redis), where the
    client is known: a lock-out here, per address only, let anyone who knew an
    address keep its owner out."""
    now = now or datetime.now(timezone.utc)
    user = uow.session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower(),
                           User.deleted_at.is_(None))).scalar_one_or_none()
    if not password_matches(user and user.password_hash, password) or not user.active:
        return Outcome(error=errors.Unauthorized("Wrong e-mail or password.",
                                                 code="invalid-credentials"))
    # Only once the password is right: a refusal before it would tell anyone
    # who tries an address that it has an account (and a company could refuse
    # passwords for addresses that are not its people's).
    refusal = sso.password_refusal(uow.session, user.organisation_id)
    if refusal is not None:
        return Outcome(error=refusal)
    return Outcome(result=issue_tokens(uow.session, user, now))


def refresh(uow, refresh_token, now=None):
    now = now or datetime.now(timezone.utc)
    refused = errors.Unauthorized("This refresh token is not valid.",
                                  code="invalid-refresh-token")
    row = uow.session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.secret_hash(refresh_token))
        .with_for_update()).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return Outcome(error=refused)
    if row.used_at is not None:
        _revoke_family(uow.session, row.family_id, now)
        return Outcome(error=errors.Unauthorized(
            "This refresh token was already used: every session it belongs to is closed.",
            code="refresh-token-reused"))
    user = uow.session.get(User, row.user_id)
    if user is None or not user.active or user.deleted_at is not None:
        return Outcome(error=refused)
    row.used_at = now
    return Outcome(result=issue_tokens(uow.session, user, now, row.family_id))


def log_out(uow, refresh_token, now=None):
    """Close the session the refresh token belongs to. An unknown token is not
    an error: logging out twice is harmless."""
    row = uow.session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.secret_hash(refresh_token))
    ).scalar_one_or_none()
    if row is not None:
        _revoke_family(uow.session, row.family_id, now or datetime.now(timezone.utc))


def revoke_all_refresh_tokens(session, user_id):
    session.execute(update(RefreshToken)
                    .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=func.now()))


def _revoke_family(session, family_id, now):
    session.execute(update(RefreshToken)
                    .where(RefreshToken.family_id == family_id,
                           RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def issue_tokens(session, user, now=None, family_id=None):
    """An access token and a new refresh token (of a new family unless one is
    given): what a password log-in, a refresh and single sign-on all give."""
    now = now or datetime.now(timezone.utc)
    family_id = family_id or str(uuid.uuid4())
    secret = tokens.new_secret("refresh")
    session.add(RefreshToken(family_id=family_id, user_id=user.id,
                             token_hash=tokens.secret_hash(secret),
                             expires_at=now + REFRESH_TOKEN_LIFETIME))
    issued = tokens.issue_access_token(current_signing_key(session), user,
                                       now=now.timestamp())
    issued.update(refresh_token=secret,
                  refresh_expires_in=int(REFRESH_TOKEN_LIFETIME.total_seconds()))
    return issued


def current_signing_key(session):
    """The newest key that has been published for PUBLISH_BEFORE_SIGNING: a
    gateway refreshes its key set at most every 10 s, so by the time a new key
    signs, every gateway can know it. (A fresh database's only key signs at once.)"""
    keys = session.execute(
        select(SigningKey.private_pem, SigningKey.created_at)
        .order_by(SigningKey.created_at.desc())).all()
    if not keys:
        raise RuntimeError("identity has no signing key: run its bootstrap")
    published_before = datetime.now(timezone.utc) - tokens.PUBLISH_BEFORE_SIGNING
    return next((key.private_pem for key in keys if key.created_at <= published_before),
                keys[-1].private_pem)


def jwks(session):
    pems = session.execute(select(SigningKey.private_pem)).scalars().all()
    return {"keys": [tokens.public_jwk(pem) for pem in pems]}
