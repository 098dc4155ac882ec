"""Use cases of organisations and users: create, read, change, deactivate.

Every way of provisioning (the API, SCIM, a CSV file) goes through
``provision_user``, ``change_user`` and ``set_active`` below, so the rules, the
events and the audit entries are the same whichever way a company chose.
"""
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from common import errors
from common.caller import Caller
from contracts.vocabulary import DEFAULT_LOCALE
from services.identity import audit, invitations, passwords, sessions, sso
from services.identity.hashing import hash_password
from services.identity.models import Organisation, User
from services.identity.scope import (
    administered_organisation, administered_user, is_admin_of, visible_organisation, visible_user,
)

# Which roles a user of each kind of organisation may hold: a company's people
# never manage relays, a relay's people never administer a company.
ROLES_BY_KIND = {
    "network": {"network_admin", "network_ops", "member"},
    "relay_operator": {"relay_manager", "member"},
    "corporate": {"corporate_admin", "member"},
    "individual": {"member"},
    # A programme's people run it (enrol residents, read its use); residents
    # stay members of their own individual accounts.
    "programme": {"programme_admin"},
}
CONTACT_FIELDS = ("email", "full_name", "roles", "relay_ids", "locale")


# Organisations ----------------------------------------------------------------

def create_organisation(uow, caller, data):
    caller.require("network_admin")
    organisation = Organisation(**data)
    uow.session.add(organisation)
    uow.session.flush()
    publish_organisation_created(uow, organisation)
    audit.record(uow, caller, organisation.id, "organisation.created", "organisation",
                 organisation.id, {"kind": organisation.kind, "name": organisation.name})
    return organisation


def publish_organisation_created(uow, organisation):
    """Billing keeps an organisation's legal identity, notify and webhooks its name."""
    uow.publish("identity.organisation_created", {
        "organisation_id": organisation.id, "kind": organisation.kind,
        "name": organisation.name, "legal_name": organisation.legal_name,
        "siret": organisation.siret, "vat_number": organisation.vat_number,
        "billing_email": organisation.billing_email,
        "billing_address": organisation.billing_address,
    })


def get_organisation(session, caller, organisation_id):
    return visible_organisation(session, caller, organisation_id)


def list_organisations(session, caller, query):
    statement = select(Organisation)
    if not caller.sees_whole_network:
        statement = statement.where(Organisation.id == caller.organisation_id)
    if query.get("kind"):
        statement = statement.where(Organisation.kind == query["kind"])
    return session.execute(statement.order_by(Organisation.created_at, Organisation.id)
                           .limit(query["limit"]).offset(query["offset"])).scalars().all()


# Users ----------------------------------------------------------------------

def create_user(uow, caller, organisation_id, data):
    """A user added by an admin through the API."""
    organisation = administered_organisation(uow.session, caller, organisation_id)
    return provision_user(uow, caller, organisation, via="api", email=data["email"],
                          full_name=data["full_name"], roles=sorted(set(data["roles"])),
                          relay_ids=sorted({str(relay_id) for relay_id in data["relay_ids"]}),
                          external_id=data.get("external_id"), password=data.get("password"),
                          locale=data["locale"])


def check_grantable(caller, organisation, roles, relay_ids=()):
    """The one rule for giving roles, whatever the way (API, CSV, SCIM): the
    roles must suit the kind of organisation, and anyone but a network admin
    grants only roles they hold themselves (``member`` always) and only relays
    they manage. Raises ``InvalidInput`` or ``Forbidden``."""
    roles, relay_ids = set(roles), {str(relay_id) for relay_id in relay_ids}
    allowed = ROLES_BY_KIND[organisation.kind]
    if roles - allowed:
        raise errors.InvalidInput(
            f"A {organisation.kind.replace('_', ' ')} organisation's users hold only "
            f"{', '.join(sorted(allowed))}.",
            fields={"roles": [f"Not allowed here: {', '.join(sorted(roles - allowed))}."]})
    if caller.is_machine and roles - {"member"}:
        raise errors.Forbidden("An API key or a SCIM token grants only the member role: a "
                               "person, logged in, grants the others.", code="person-required")
    if not caller.is_network_admin and not roles <= caller.roles | {"member"}:
        raise errors.Forbidden("An organisation's admin grants only the roles they hold.")
    if not caller.is_network_admin and not relay_ids <= caller.relay_ids:
        raise errors.Forbidden("A relay manager grants only the relays they manage.")


def provision_user(uow, caller, organisation, via, email, full_name, roles=("member",),
                   relay_ids=(), external_id=None, password=None, given_name=None,
                   family_name=None, active=True, user_name=None, locale=DEFAULT_LOCALE,
                   password_hash=None):
    """Create a user. Without a password, the user gets an invitation (a
    single-use link to set one) in ``identity.user_provisioned``.
    ``password_hash``: one hashed already (a resident's, chosen at sign-up)."""
    check_grantable(caller, organisation, roles, relay_ids)
    if password is not None:
        if caller.credential == "api_key":
            raise errors.Forbidden("An API key does not choose people's passwords: leave it "
                                   "out and the user gets an invitation.",
                                   code="person-required", fields={"password": ["Leave out."]})
        check_password(password, email)
    user = User(organisation_id=organisation.id, email=email.strip(), full_name=full_name,
                given_name=given_name, family_name=family_name, external_id=external_id,
                user_name=user_name, locale=locale,
                roles=list(roles), relay_ids=list(relay_ids), provisioned_via=via,
                active=active, deactivated_at=None if active else now(),
                password_hash=hash_password(password) if password else password_hash)
    uow.session.add(user)
    flush_unique(uow)
    data = user_event(user)
    if user.password_hash is None and user.active:
        data.update(invitations.event_data(invitations.issue(uow, user)))
    uow.publish("identity.user_provisioned", data)
    audit.record(uow, caller, organisation.id, "user.provisioned", "user", user.id,
                 {"email": user.email, "roles": user.roles, "via": via,
                  "external_id": external_id})
    return user


def change_user(uow, caller, user, changes, via):
    """Apply ``changes`` (e-mail, names, external id) to a user. Emits
    ``identity.user_updated`` if what other services keep (e-mail, name,
    roles) changed. Returns the names of the fields that changed."""
    changed = {name: value for name, value in changes.items()
               if getattr(user, name) != value}
    if "email" in changed and changed["email"].lower() == user.email.lower():
        user.email = changed.pop("email")  # a change of case only: keep it quiet
    if not changed:
        return []
    if {"email", "user_name"} & set(changed):
        check_machine_reach(caller, user, "change the e-mail or userName")
    if "roles" in changed:
        check_grantable(caller, uow.session.get(Organisation, user.organisation_id),
                        set(changed["roles"]) - set(user.roles))
    for name, value in changed.items():
        setattr(user, name, value)
    flush_unique(uow)
    if set(changed) & set(CONTACT_FIELDS):
        uow.publish("identity.user_updated", dict(user_event(user), active=user.active))
    audit.record(uow, caller, user.organisation_id, "user.updated", "user", user.id,
                 {"fields": sorted(changed), "via": via})
    return sorted(changed)


def set_password(uow, caller, user, password, via, end_sessions=False):
    """Set a user's password, whichever the way (an invitation, SCIM). Pending
    invitations die: a link must not set a password that is already set. A
    password set by someone else (an identity provider, ``end_sessions``) also
    ends the user's sessions (refresh tokens), as a reset would. A SCIM token
    sets only members' passwords (``check_machine_reach``)."""
    check_machine_reach(caller, user, "set the password")
    check_password(password, user.email)
    user.password_hash = hash_password(password)
    invitations.revoke_pending(uow.session, user.id)
    if end_sessions:
        sessions.revoke_all_refresh_tokens(uow.session, user.id)
    audit.record(uow, caller, user.organisation_id, "user.password_set", "user", user.id,
                 {"via": via})


def accept_invitation(uow, token, password):
    """Set the password of the user an invitation link was sent to. Returns the user.

    Not when the user's company signs its people in with its own account only:
    a password set here would be a way in that the company switched off
    (``sso-required``; the unit of work rolls back, the link stays unused)."""
    user = invitations.claim(uow.session, token)
    refusal = sso.password_refusal(uow.session, user.organisation_id)
    if refusal is not None:
        raise refusal
    set_password(uow, Caller(user.id, user.organisation_id, credential="invitation"), user,
                 password, via="invitation")
    return user


def check_machine_reach(caller, user, what):
    """A machine credential (API key, SCIM token) acts on members only where a
    person's way in is at stake: it never sets the password, e-mail or
    userName of a user who holds a role beyond ``member`` (otherwise a key
    could take over its own creator, and keep that access after its
    revocation). Deactivating them stays possible: offboarding is what an
    identity provider is for."""
    if caller.is_machine and set(user.roles) - {"member"}:
        raise errors.Forbidden(f"An API key or a SCIM token cannot {what} of a user with an "
                               "admin role: a person, logged in, does that.",
                               code="person-required")


def set_active(uow, caller, user, active, via):
    """Deactivate (or reactivate) a user. Deactivation closes every way in:
    log-in is refused, refresh tokens and pending invitations are revoked, and
    ``identity.user_deactivated`` tells booking and notify. Access tokens
    already issued expire within ACCESS_TOKEN_SECONDS (see the README).
    Doing it twice does nothing the second time. Returns True if it changed."""
    if user.active == active:
        return False
    user.active = active
    if not active:
        user.deactivated_at = now()
        sessions.revoke_all_refresh_tokens(uow.session, user.id)
        invitations.revoke_pending(uow.session, user.id)
        uow.session.flush()
        uow.publish("identity.user_deactivated", {
            "user_id": user.id, "organisation_id": user.organisation_id,
            "deactivated_at": user.deactivated_at})
    else:
        user.deactivated_at = None
        uow.session.flush()
        uow.publish("identity.user_reactivated", {
            "user_id": user.id, "organisation_id": user.organisation_id})
        if user.password_hash is None:
            # Provisioned inactive, or its invitation was revoked at deactivation.
            invitations.send_new(uow, user)
    audit.record(uow, caller, user.organisation_id,
                 "user.deactivated" if not active else "user.reactivated", "user", user.id,
                 {"via": via})
    return True


def delete_user(uow, caller, user, via):
    """SCIM DELETE: deactivate, then hide the user for good. The row stays
    (bookings and invoices refer to it) but the address is free again."""
    set_active(uow, caller, user, False, via)
    user.deleted_at = now()
    uow.session.flush()
    audit.record(uow, caller, user.organisation_id, "user.deleted", "user", user.id,
                 {"via": via})


def set_locale(uow, caller, user_id, locale):
    """The language a user is written to in: chosen by the user, or set by
    their organisation's admins (read-only network staff may not)."""
    user = visible_user(uow.session, caller, user_id, lock=True)
    if caller.user_id != user.id and not is_admin_of(caller, user.organisation_id):
        raise errors.Forbidden("Only the user or their organisation's admins choose the language.")
    change_user(uow, caller, user, {"locale": locale}, via="api")
    return user


def deactivate_user(uow, caller, user_id):
    user = administered_user(uow.session, caller, user_id)
    set_active(uow, caller, user, False, via="api")
    return user


def get_user(session, caller, user_id):
    return visible_user(session, caller, user_id)


def list_users(session, caller, organisation_id, query):
    administered_organisation(session, caller, organisation_id, write=False)
    statement = select(User).where(User.organisation_id == organisation_id,
                                   User.deleted_at.is_(None))
    if query.get("email"):
        statement = statement.where(func.lower(User.email) == query["email"].strip().lower())
    if query.get("active") is not None:
        statement = statement.where(User.active.is_(query["active"]))
    return session.execute(statement.order_by(User.created_at, User.id)
                           .limit(query["limit"]).offset(query["offset"])).scalars().all()


def find_by_email(session, email, lock=False):
    query = select(User).where(func.lower(User.email) == email.strip().lower(),
                               User.deleted_at.is_(None))
    return session.execute(query.with_for_update() if lock else query).scalar_one_or_none()


# Helpers ----------------------------------------------------------------------

def user_event(user):
    return {"user_id": user.id, "organisation_id": user.organisation_id, "email": user.email,
            "full_name": user.full_name, "roles": list(user.roles),
            "relay_ids": list(user.relay_ids), "locale": user.locale}


def check_password(password, email):
    problems = passwords.policy_violations(password, email)
    if problems:
        raise errors.InvalidInput("The password does not meet the policy.",
                                  code="weak-password", fields={"password": problems})


def flush_unique(uow):
    """Flush, turning a clash on a unique index into a precise 409."""
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        if "user_name" in str(exc.orig):
            raise errors.Conflict("Another user of this organisation has this userName.",
                                  code="user-name-taken",
                                  fields={"user_name": ["Already used."]}) from None
        if "external_id" in str(exc.orig):
            raise errors.Conflict("Another user of this organisation has this external id.",
                                  code="external-id-taken",
                                  fields={"external_id": ["Already used."]}) from None
        raise errors.Conflict("A user with this e-mail already exists.", code="email-taken",
                              fields={"email": ["Already used."]}) from None


def now():
    return datetime.now(timezone.utc)
