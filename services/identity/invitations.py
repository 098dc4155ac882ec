"""Invitations: a user provisioned without a password receives (through notify)
a link to set one. The token in the link is single use, expires after
INVITATION_LIFETIME, is stored only as its SHA-256, and grants nothing but
setting that one user's password. A new invitation revokes the pending ones,
and so does setting a password, by any path.

No event carries the link. ``identity.user_provisioned`` and
``identity.invitation_issued`` carry the invitation's id; notify asks for the
link when it sends the mail (``issue_link``), so the token exists only in that
RPC reply and in the mail, never in the outbox, RabbitMQ or a dead-letter
queue. Each ``issue_link`` mints a new token and replaces the previous hash: if
notify retries (the SMTP server refused, or notify died after sending), only
the last link minted works.

The link points at the web front end (``RELAIS_PUBLIC_URL``); the token is in
the fragment (``#token=...``), which browsers never send to a server, so it
does not end in access logs. The front end posts it to ``/v1/auth/password``.
"""
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from common import config, errors
from common.validation import is_uuid
from services.identity import audit, tokens
from services.identity.models import Invitation, User
from services.identity.scope import administered_user

INVITATION_LIFETIME = timedelta(days=7)


def public_url():
    return config.public_url()


def issue(uow, user, now=None):
    """A new invitation for ``user`` (its link is minted at send time)."""
    now = now or datetime.now(timezone.utc)
    revoke_pending(uow.session, user.id)
    invitation = Invitation(user_id=user.id, expires_at=now + INVITATION_LIFETIME)
    uow.session.add(invitation)
    uow.session.flush()
    return invitation


def event_data(invitation):
    """What an event says of an invitation: never its link."""
    return {"invitation_id": invitation.id,
            "invitation_expires_at": invitation.expires_at.isoformat()}


def issue_link(uow, invitation_id, now=None):
    """The link of a pending invitation, minted now (for notify, at send time).
    A new token replaces the previous one. ``Conflict invitation-not-pending``
    if the invitation was used, revoked, has expired, or its user cannot
    accept it any more (deactivated, deleted, or has a password)."""
    now = now or datetime.now(timezone.utc)
    invitation = uow.session.get(Invitation, invitation_id, with_for_update=True) \
        if is_uuid(invitation_id) else None
    if invitation is None:
        raise errors.NotFound(f"No invitation {invitation_id}.")
    user = uow.session.get(User, invitation.user_id)
    if not _pending(invitation, user, now):
        raise errors.Conflict("This invitation is not pending any more.",
                              code="invitation-not-pending")
    secret = tokens.new_secret("invitation")
    invitation.token_hash = tokens.secret_hash(secret)
    return {"invitation_url": f"{public_url()}/set-password#token={secret}",
            "invitation_expires_at": invitation.expires_at.isoformat()}


def _pending(invitation, user, now):
    return (invitation.used_at is None and invitation.revoked_at is None
            and invitation.expires_at > now and user is not None and user.active
            and user.deleted_at is None and user.password_hash is None)


def reinvite(uow, caller, user_id):
    """A new invitation for a user who has not set a password yet (the first one
    expired, or the mail was lost); the older links stop working."""
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
    invitation = issue(uow, user)
    uow.publish("identity.invitation_issued", dict(
        {"user_id": user.id, "organisation_id": user.organisation_id, "email": user.email,
         "full_name": user.full_name}, **event_data(invitation)))
    return invitation.expires_at


def claim(session, token, now=None):
    """Use the invitation of this link (single use): its user, locked, who may
    now set a password (``accounts.accept_invitation``)."""
    now = now or datetime.now(timezone.utc)
    invitation = session.execute(
        select(Invitation).where(Invitation.token_hash == tokens.secret_hash(token))
        .with_for_update()).scalar_one_or_none()
    user = session.get(User, invitation.user_id, with_for_update=True) \
        if invitation is not None else None
    if invitation is None or not _pending(invitation, user, now):
        raise errors.Unauthorized("This invitation link is not valid any more: ask your "
                                  "administrator for a new one.", code="invalid-invitation")
    invitation.used_at = now
    return user


def revoke_pending(session, user_id):
    session.execute(update(Invitation)
                    .where(Invitation.user_id == user_id, Invitation.used_at.is_(None),
                           Invitation.revoked_at.is_(None))
                    .values(revoked_at=func.now()))
