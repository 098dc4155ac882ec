"""Invitations: a user provisioned without a password receives (through notify)
a link to set one. The token in the link is single use, expires after
INVITATION_LIFETIME, is stored only as its SHA-256, and grants nothing but
setting that one user's password. A new invitation revokes the pending ones.

The link points at the web front end (``RELAIS_PUBLIC_URL``); the token is in
the fragment (``#token=...``), which browsers never send to a server, so it
does not end in access logs. The front end posts it to ``/v1/auth/password``.
"""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from common import config, errors
from common.caller import Caller
from services.identity import audit, tokens
from services.identity.models import Invitation, User

INVITATION_LIFETIME = timedelta(days=7)


def public_url():
    return config.env("PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


def issue(uow, user, now=None):
    """A new invitation for ``user``: (link, expiry)."""
    now = now or datetime.now(timezone.utc)
    revoke_pending(uow.session, user.id)
    secret = tokens.new_secret("invitation")
    expires_at = now + INVITATION_LIFETIME
    uow.session.add(Invitation(user_id=user.id, token_hash=tokens.secret_hash(secret),
                               expires_at=expires_at))
    return f"{public_url()}/set-password#token={secret}", expires_at


def reinvite(uow, caller, user_id):
    """A new invitation for a user who has not set a password yet (the first one
    expired, or the mail was lost); the older links stop working."""
    from services.identity.scope import administered_user
    user = administered_user(uow.session, caller, user_id)
    if not user.active:
        raise errors.Conflict("This user is deactivated.", code="user-deactivated")
    if user.password_hash is not None:
        raise errors.Conflict("This user has already set a password.", code="password-already-set")
    expires_at = send_new(uow, user)
    audit.record(uow, caller, user.organisation_id, "user.invited", "user", user.id)
    return {"user_id": user.id, "invitation_expires_at": expires_at.isoformat()}


def send_new(uow, user):
    """Issue an invitation and have notify mail it (``identity.invitation_issued``)."""
    url, expires_at = issue(uow, user)
    uow.emit("identity.invitation_issued", {
        "user_id": user.id, "organisation_id": user.organisation_id, "email": user.email,
        "full_name": user.full_name, "invitation_url": url,
        "invitation_expires_at": expires_at.isoformat()})
    return expires_at


def accept(uow, token, password, now=None):
    """Set the password of the invitation's user. Returns the user."""
    from services.identity.accounts import check_password, hash_password
    now = now or datetime.now(timezone.utc)
    invitation = uow.session.execute(
        select(Invitation).where(Invitation.token_hash == tokens.secret_hash(token))
        .with_for_update()).scalar_one_or_none()
    if invitation is None or invitation.used_at or invitation.revoked_at \
            or invitation.expires_at <= now:
        raise errors.Unauthorized("This invitation link is not valid any more: ask your "
                                  "administrator for a new one.", code="invalid-invitation")
    user = uow.session.get(User, invitation.user_id)
    if user is None or not user.active or user.deleted_at is not None:
        raise errors.Unauthorized("This invitation link is not valid any more.",
                                  code="invalid-invitation")
    check_password(password, user.email)
    user.password_hash = hash_password(password)
    invitation.used_at = now
    audit.record(uow, Caller(user.id, user.organisation_id, credential="invitation"),
                 user.organisation_id, "user.password_set", "user", user.id, {"via": "invitation"})
    return user


def revoke_pending(session, user_id):
    session.execute(update(Invitation)
                    .where(Invitation.user_id == user_id, Invitation.used_at.is_(None),
                           Invitation.revoked_at.is_(None))
                    .values(revoked_at=func.now()))
