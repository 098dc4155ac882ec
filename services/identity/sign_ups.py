"""Residents sign up on their own: an individual account (an ``individual``
organisation and its one ``member``) made once their e-mail is verified by a
single-use link.

Nobody may learn from the sign-up whether an address has an account. So
``request`` answers the same thing (the gateway: 202, the same body) either
way, and costs about the same: the password is checked against the policy and
hashed (argon2) in both cases, a row is written and an event published.
What differs is only the mail notify sends to that address, which only its
owner reads: a verification link for a new address, "you already have an
account" for a known one.

The link follows the invitations' rules (``invitations.py``): no event holds
it; ``identity.sign_up_requested`` names the sign-up, notify asks for the link
when it mails (``issue_link``, which mints a token now and replaces the
previous one), the token is stored as its SHA-256, it expires after
SIGN_UP_LIFETIME and works once. It points at the web front end
(``RELAIS_PUBLIC_URL/verify-email#token=...``: the fragment stays out of
access logs), which posts it to ``/v1/residents/verify``.
"""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from common import errors
from common.caller import Caller
from common.validation import is_uuid
from services.identity import accounts, profiles, programmes, tokens
from services.identity.hashing import hash_password
from services.identity.invitations import public_url
from services.identity.models import EmployeeProfile, Organisation, SignUp

SIGN_UP_LIFETIME = timedelta(hours=24)
# What a resident's account is, in the words of contracts.vocabulary.
RESIDENT_KIND = "individual"
RESIDENT_ROLES = ("member",)


def request(uow, data, now=None):
    """Record a sign-up and have notify mail its address (``identity.sign_up_requested``).
    Returns nothing the caller could tell two addresses apart by."""
    now = now or datetime.now(timezone.utc)
    # The policy first, on the address given: the same refusal for any address.
    accounts.check_password(data["password"], data["email"])
    password_hash = hash_password(data["password"])  # hashed either way: same cost
    existing = accounts.find_by_email(uow.session, data["email"])
    sign_up = SignUp(email=data["email"].strip(), full_name=data["full_name"],
                     locale=data["locale"], home_postcode=data["postcode"],
                     home_commune=data["commune"],
                     password_hash=None if existing else password_hash,
                     existing_user_id=existing.id if existing else None,
                     expires_at=now + SIGN_UP_LIFETIME)
    uow.session.add(sign_up)
    uow.session.flush()
    uow.publish("identity.sign_up_requested", {
        "sign_up_id": sign_up.id, "email": sign_up.email, "full_name": sign_up.full_name,
        "locale": sign_up.locale, "account_exists": existing is not None,
        "expires_at": sign_up.expires_at.isoformat()})


def issue_link(uow, sign_up_id, now=None):
    """The verification link of a pending sign-up, minted now (for notify, at
    send time); a new token replaces the previous one. ``Conflict
    sign-up-not-pending`` if it was used, has expired, or is for an address
    that already had an account."""
    now = now or datetime.now(timezone.utc)
    sign_up = uow.session.get(SignUp, sign_up_id, with_for_update=True) \
        if is_uuid(sign_up_id) else None
    if sign_up is None:
        raise errors.NotFound(f"No sign-up {sign_up_id}.")
    if not _pending(sign_up, now):
        raise errors.Conflict("This sign-up is not pending any more.", code="sign-up-not-pending")
    secret = tokens.new_secret("sign_up")
    sign_up.token_hash = tokens.secret_hash(secret)
    return {"verification_url": f"{public_url()}/verify-email#token={secret}",
            "expires_at": sign_up.expires_at.isoformat()}


def _pending(sign_up, now):
    return (sign_up.used_at is None and sign_up.existing_user_id is None
            and sign_up.password_hash is not None and sign_up.expires_at > now)


def verify(uow, token, now=None):
    """Use a verification link (once): the resident's account is made, with
    the password chosen at sign-up, and they can log in. ``Unauthorized
    invalid-sign-up-link`` for an unknown, used or expired link; ``Conflict
    email-taken`` if the address got an account meanwhile (another sign-up
    verified first, or an organisation provisioned it)."""
    now = now or datetime.now(timezone.utc)
    sign_up = uow.session.execute(
        select(SignUp).where(SignUp.token_hash == tokens.secret_hash(token))
        .with_for_update()).scalar_one_or_none()
    if sign_up is None or not _pending(sign_up, now):
        raise errors.Unauthorized("This link is not valid any more: sign up again to get a "
                                  "new one.", code="invalid-sign-up-link")
    sign_up.used_at = now
    organisation = Organisation(kind=RESIDENT_KIND, name=sign_up.full_name)
    uow.session.add(organisation)
    uow.session.flush()
    accounts.publish_organisation_created(uow, organisation)
    caller = Caller(sign_up.id, organisation.id, frozenset(RESIDENT_ROLES), credential="sign_up")
    user = accounts.provision_user(uow, caller, organisation, via="sign_up",
                                   email=sign_up.email, full_name=sign_up.full_name,
                                   roles=RESIDENT_ROLES, locale=sign_up.locale,
                                   password_hash=sign_up.password_hash)
    sign_up.user_id = user.id
    profile = EmployeeProfile(user_id=user.id, home_commune=sign_up.home_commune,
                              home_postcode=sign_up.home_postcode)
    uow.session.add(profile)
    uow.session.flush()
    uow.publish("identity.profile_changed", profiles.event_data(user, profile))
    programmes.publish_for(uow, user)  # programmes may have enrolled the address already
    return user
