"""Use cases of organisations and users."""
from argon2 import PasswordHasher
from eventlet import tpool
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from common import errors
from common.validation import is_uuid
from services.identity.models import Organisation, SigningKey, User
from services.identity import tokens

password_hasher = PasswordHasher()
NETWORK_ROLES = {"network_admin", "network_ops"}
# Checked against when the e-mail is unknown, so that a wrong e-mail takes as
# long as a wrong password and does not reveal who has an account.
_DUMMY_HASH = password_hasher.hash("not a real password, only for timing")


def create_organisation(uow, caller, data):
    caller.require("network_admin")
    organisation = Organisation(**data)
    uow.session.add(organisation)
    uow.session.flush()
    uow.emit("identity.organisation_created", {
        "organisation_id": organisation.id, "kind": organisation.kind,
        "name": organisation.name, "legal_name": organisation.legal_name,
        "siret": organisation.siret, "vat_number": organisation.vat_number,
        "billing_email": organisation.billing_email,
    })
    return organisation


def get_organisation(session, caller, organisation_id):
    organisation = session.get(Organisation, organisation_id) if is_uuid(organisation_id) else None
    if organisation is None or not (caller.sees_whole_network
                                    or caller.organisation_id == organisation.id):
        raise errors.NotFound(f"No organisation {organisation_id}.")
    return organisation


def create_user(uow, caller, organisation_id, data):
    organisation = get_organisation(uow.session, caller, organisation_id)
    if not (caller.is_network_admin or caller.has("corporate_admin")):
        raise errors.Forbidden("Only network admins and the organisation's admins add users.")
    roles = set(data["roles"])
    if roles & NETWORK_ROLES and organisation.kind != "network":
        raise errors.InvalidInput("Network roles belong to the network's own staff.",
                                  fields={"roles": ["Not allowed in this organisation."]})
    if not caller.is_network_admin and roles - {"member", "corporate_admin"}:
        raise errors.Forbidden("A corporate admin grants only member and corporate_admin.")
    password = data.pop("password")
    user = User(organisation_id=organisation.id, email=data["email"].strip(),
                full_name=data["full_name"], roles=sorted(roles),
                relay_ids=[str(relay_id) for relay_id in data["relay_ids"]],
                password_hash=tpool.execute(password_hasher.hash, password) if password else None)
    uow.session.add(user)
    try:
        uow.session.flush()
    except IntegrityError:
        raise errors.Conflict("A user with this e-mail already exists.", code="email-taken",
                              fields={"email": ["Already used."]}) from None
    uow.emit("identity.user_provisioned", {
        "user_id": user.id, "organisation_id": user.organisation_id, "email": user.email,
        "full_name": user.full_name, "roles": user.roles,
    })
    return user


def get_user(session, caller, user_id):
    user = session.get(User, user_id) if is_uuid(user_id) else None
    if user is None or not (caller.sees_whole_network or caller.user_id == user.id or (
            caller.has("corporate_admin") and caller.organisation_id == user.organisation_id)):
        raise errors.NotFound(f"No user {user_id}.")
    return user


def issue_token(session, email, password):
    user = session.execute(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).scalar_one_or_none()
    if not _password_matches(user, password) or not user.active:
        raise errors.Unauthorized("Wrong e-mail or password.", code="invalid-credentials")
    return tokens.issue_access_token(current_signing_key(session), user)


def _password_matches(user, password):
    stored = user.password_hash if user is not None else None
    try:
        # argon2 is slow on purpose: run it in a real thread, not on the eventlet hub.
        tpool.execute(password_hasher.verify, stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
    return stored is not None


def current_signing_key(session):
    key = session.execute(
        select(SigningKey.private_pem).order_by(SigningKey.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    if key is None:
        raise RuntimeError("identity has no signing key: run its bootstrap")
    return key


def jwks(session):
    pems = session.execute(select(SigningKey.private_pem)).scalars().all()
    return {"keys": [tokens.public_jwk(pem) for pem in pems]}
