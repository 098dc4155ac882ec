"""Who may see and change what, from the caller context alone. Something the
caller may not see is "not found", never "forbidden": a corporate admin of A
asking for anything of B learns nothing, not even that it exists."""
from sqlalchemy import select

from common import errors
from common.validation import is_uuid
from services.identity.models import Organisation, User

ADMIN_ROLE_BY_KIND = {"corporate": "corporate_admin", "relay_operator": "relay_manager",
                      "programme": "programme_admin"}


def visible_organisation(session, caller, organisation_id):
    """Network staff see every organisation; anyone else only their own."""
    organisation = session.get(Organisation, organisation_id) if is_uuid(organisation_id) else None
    if organisation is None or not (caller.sees_whole_network
                                    or caller.organisation_id == organisation.id):
        raise errors.NotFound(f"No organisation {organisation_id}.")
    return organisation


def administered_organisation(session, caller, organisation_id, write=True):
    """An organisation the caller administers: network admins (and, to read,
    network ops) all of them; a company's corporate admins and a relay
    operator's relay managers their own."""
    organisation = visible_organisation(session, caller, organisation_id)
    if caller.is_network_admin or (not write and caller.has("network_ops")):
        return organisation
    own_admin = ADMIN_ROLE_BY_KIND.get(organisation.kind)
    if own_admin and caller.has(own_admin) and caller.organisation_id == organisation.id:
        return organisation
    raise errors.Forbidden("Only the organisation's admins may do this.")


def is_admin_of(caller, organisation_id, write=True):
    return (caller.is_network_admin or (not write and caller.has("network_ops"))
            or (caller.has("corporate_admin", "programme_admin")
                and caller.organisation_id == organisation_id))


def visible_user(session, caller, user_id, lock=False):
    """The user themself, their organisation's admins, network staff; never a
    deleted user."""
    user = None
    if is_uuid(user_id):
        query = select(User).where(User.id == user_id, User.deleted_at.is_(None))
        user = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if user is None or not (caller.sees_whole_network or caller.user_id == user.id
                            or is_admin_of(caller, user.organisation_id)):
        raise errors.NotFound(f"No user {user_id}.")
    return user


def administered_user(session, caller, user_id):
    """A user the caller may change: network admins, their corporate admins."""
    user = visible_user(session, caller, user_id, lock=True)
    if not is_admin_of(caller, user.organisation_id):
        raise errors.Forbidden("Only the organisation's admins may change this user.")
    return user
