"""Machine credentials: API keys (a company's HR system, a relay's own tools)
and SCIM tokens (a company's identity provider).

Both are opaque secrets of 256 random bits, shown once in the answer that
creates them and stored as their SHA-256. An API key acts with the roles (and
relays) it was given, never more than its creator holds *now*: each
authentication re-reads the creator, so a creator deactivated (or deleted)
disables their keys and SCIM tokens, and a role or relay the creator lost is
lost by their keys too. A SCIM token does nothing but SCIM on its own
organisation, and only while its creator still administers it. Neither
grants a role beyond ``member`` or sets an admin's password
(``accounts.check_machine_reach``). The gateway checks a secret with
``authenticate`` and caches a positive answer briefly (see gateway/auth.py).
"""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from common import errors
from common.validation import is_uuid
from contracts.tokens import secret_kind
from services.identity import audit, tokens
from services.identity.models import MachineCredential, User
from services.identity.scope import administered_organisation

# last_used_at is written at most this often per credential (a write per
# request would be a write per request).
LAST_USED_PRECISION = timedelta(seconds=60)


def create(uow, caller, organisation_id, kind, data):
    """A new credential and its secret (the only time the secret exists in clear).
    Only a person (an access token) creates one: a key minting keys would let a
    leaked key outlive its revocation, and keep working for a creator who left."""
    organisation = administered_organisation(uow.session, caller, organisation_id)
    if caller.credential != "access_token":  # after the scope: another's is "not found"
        raise errors.Forbidden("Only a person, logged in, creates API keys and SCIM tokens.",
                               code="person-required")
    roles, relay_ids = [], []
    if kind == "api_key":
        roles = sorted(set(data["roles"]))
        relay_ids = sorted({str(relay_id) for relay_id in data["relay_ids"]})
        if not caller.is_network_admin:
            if not set(roles) <= caller.roles:
                raise errors.Forbidden("An API key cannot have a role its creator does not.")
            if not set(relay_ids) <= caller.relay_ids:
                raise errors.Forbidden("An API key cannot reach a relay its creator does not.")
        if "relay_manager" in roles and not relay_ids:
            raise errors.InvalidInput("A relay manager's key names its relays.",
                                      fields={"relay_ids": ["At least one relay."]})
        if "network_ops" in roles and organisation.kind != "network":
            raise errors.InvalidInput("network_ops belongs to the network's own staff.",
                                      fields={"roles": ["Not allowed in this organisation."]})
    elif organisation.kind != "corporate":
        raise errors.InvalidInput("SCIM provisioning is for corporate accounts.",
                                  code="not-a-corporate-account")
    secret = tokens.new_secret(kind)
    credential = MachineCredential(
        organisation_id=organisation.id, kind=kind, name=data["name"],
        secret_hash=tokens.secret_hash(secret), roles=roles, relay_ids=relay_ids,
        created_by=caller.user_id)
    uow.session.add(credential)
    uow.session.flush()
    audit.record(uow, caller, organisation.id, f"{kind}.created", kind, credential.id,
                 {"name": credential.name, "roles": roles, "relay_ids": relay_ids})
    return credential, secret


def list_for(session, caller, organisation_id, kind):
    administered_organisation(session, caller, organisation_id, write=False)
    return session.execute(
        select(MachineCredential)
        .where(MachineCredential.organisation_id == organisation_id,
               MachineCredential.kind == kind)
        .order_by(MachineCredential.created_at.desc(), MachineCredential.id)).scalars().all()


def revoke(uow, caller, organisation_id, kind, credential_id):
    administered_organisation(uow.session, caller, organisation_id)
    credential = uow.session.get(MachineCredential, credential_id, with_for_update=True) \
        if is_uuid(credential_id) else None
    if credential is None or credential.organisation_id != organisation_id \
            or credential.kind != kind:
        raise errors.NotFound(f"No such {kind.replace('_', ' ')} {credential_id}.")
    if credential.revoked_at is None:
        credential.revoked_at = datetime.now(timezone.utc)
        audit.record(uow, caller, organisation_id, f"{kind}.revoked", kind, credential.id,
                     {"name": credential.name})
    return credential


def authenticate(session, secret, now=None):
    """The caller context of a live credential, or ``Unauthorized``."""
    now = now or datetime.now(timezone.utc)
    kind = secret_kind(secret)
    credential = session.execute(
        select(MachineCredential).where(MachineCredential.secret_hash == tokens.secret_hash(secret))
    ).scalar_one_or_none() if kind in ("api_key", "scim_token") else None
    if credential is None or credential.revoked_at is not None or credential.kind != kind:
        raise errors.Unauthorized("This key is unknown or revoked.", code="invalid-token")
    roles, relay_ids = _rights_left(session, credential)
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_PRECISION:
        credential.last_used_at = now
    return {"user_id": credential.id, "organisation_id": credential.organisation_id,
            "roles": roles, "relay_ids": relay_ids, "credential": credential.kind}


def _rights_left(session, credential):
    """The key's roles and relays that its creator still holds; ``Unauthorized``
    when the creator is gone or holds none of them any more."""
    creator = session.get(User, credential.created_by) if is_uuid(credential.created_by) \
        else None
    refused = errors.Unauthorized("This key's creator is deactivated or lost the rights it "
                                  "gave: an admin creates a new one.", code="invalid-token")
    if creator is None or not creator.active or creator.deleted_at is not None:
        raise refused
    creator_roles = set(creator.roles)
    if credential.kind == "scim_token":
        # Only an admin of this organisation (or the network's) creates one.
        if not (creator_roles & {"corporate_admin", "network_admin"}):
            raise refused
        return [], []
    if "network_admin" in creator_roles:
        return list(credential.roles), list(credential.relay_ids)
    roles = [role for role in credential.roles if role in creator_roles]
    relay_ids = [relay for relay in credential.relay_ids if relay in set(creator.relay_ids)]
    if not roles or ("relay_manager" in roles and not relay_ids):
        raise refused
    return roles, relay_ids
