"""SCIM 2.0 provisioning of a corporate account's users, for its identity
provider (Okta, Microsoft Entra ID, Keycloak...). The caller is a SCIM token
of one organisation: everything is looked up within it, so another
organisation's users are "not found". Creating, changing and deactivating go
through the same use cases as the API (``accounts``)."""
from datetime import datetime, timezone

from sqlalchemy import String, and_, cast, false, func, not_, or_, select, true
from sqlalchemy.exc import IntegrityError

from common import errors
from common.schemas import EXTENDED_DATE
from common.validation import is_uuid
from services.identity import accounts, audit, group_policies, passwords, scim_protocol
from services.identity.models import Group, GroupMember, User
from services.identity.scim_protocol import scim_error
from services.identity.scope import visible_organisation

MAX_COUNT = 200
DEFAULT_COUNT = 100


def _organisation(session, caller):
    if caller.credential != "scim_token":
        raise errors.Forbidden("SCIM takes a SCIM token.")
    return visible_organisation(session, caller, caller.organisation_id)


def _user(session, caller, user_id, lock=False):
    organisation = _organisation(session, caller)
    user = None
    if is_uuid(user_id):
        query = select(User).where(User.id == user_id, User.organisation_id == organisation.id,
                                   User.deleted_at.is_(None))
        user = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if user is None:
        raise errors.NotFound(f"No user {user_id}.")
    return user


def create_user(uow, caller, body):
    organisation = _organisation(uow.session, caller)
    state = scim_protocol.state_from_resource(body)
    password = _synced_password(state)
    user = accounts.provision_user(
        uow, caller, organisation, via="scim", email=state["email"],
        full_name=state["full_name"], external_id=state.get("external_id"),
        given_name=state.get("given_name"), family_name=state.get("family_name"),
        user_name=_own_user_name(state), password=password, active=state["active"],
        locale=state["locale"])
    user.scim_attributes = state["kept"]
    if state.get("password") and password is None:
        _record_password_not_kept(uow, caller, user)
    return user


def user_resource(session, user):
    return user_resources(session, [user])[0]


def user_resources(session, users):
    """SCIM User resources, with the groups each user is a member of."""
    groups = groups_of(session, [user.id for user in users])
    return [scim_protocol.resource(user, groups[user.id]) for user in users]


def group_resource(session, group, with_members=True):
    return scim_protocol.group_resource(group, members(session, group.id)
                                        if with_members else None)


def get_user(session, caller, user_id):
    return _user(session, caller, user_id)


def list_users(session, caller, filter_text=None, start_index=1, count=DEFAULT_COUNT):
    organisation = _organisation(session, caller)
    condition = _sql(scim_protocol.parse_filter(filter_text)) if filter_text else true()
    base = select(User).where(User.organisation_id == organisation.id,
                              User.deleted_at.is_(None), condition)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    users = session.execute(base.order_by(User.created_at, User.id)
                            .offset(start_index - 1).limit(count)).scalars().all() if count else []
    return users, total


def replace_user(uow, caller, user_id, body):
    user = _user(uow.session, caller, user_id, lock=True)
    _check_id(body, user)
    _apply(uow, caller, user, scim_protocol.state_from_resource(body, active=user.active))
    return user


def patch_user(uow, caller, user_id, body):
    user = _user(uow.session, caller, user_id, lock=True)
    _apply(uow, caller, user, scim_protocol.apply_patch(scim_protocol.state_of(user), body))
    return user


def delete_user(uow, caller, user_id):
    user = _user(uow.session, caller, user_id, lock=True)
    accounts.delete_user(uow, caller, user, via="scim")


def _apply(uow, caller, user, state):
    accounts.change_user(uow, caller, user, {
        "email": state["email"], "user_name": _own_user_name(state),
        "full_name": state["full_name"], "given_name": state.get("given_name"),
        "family_name": state.get("family_name"), "external_id": state.get("external_id"),
        "locale": state["locale"], "scim_attributes": state["kept"],
    }, via="scim")
    if state.get("password"):
        # After the e-mail change: the policy compares the password with the new address.
        accounts.check_machine_reach(caller, user, "set the password")
        password = _synced_password(state)
        if password is None:
            _record_password_not_kept(uow, caller, user)
        else:
            accounts.set_password(uow, caller, user, password, via="scim", end_sessions=True)
    accounts.set_active(uow, caller, user, state["active"], via="scim")


def _synced_password(state):
    """A password an identity provider pushes is kept only if it meets Relais'
    policy (passwords.py). A weaker one (Okta's reference pushes 8 characters)
    is accepted and not kept, so the user is still provisioned: they choose
    their own with the invitation link, as anyone without a password does."""
    password = state.get("password")
    if password and passwords.policy_violations(password, state["email"]):
        return None
    return password


def _record_password_not_kept(uow, caller, user):
    audit.record(uow, caller, user.organisation_id, "user.password_not_kept", "user", user.id,
                 {"via": "scim", "why": "below the password policy"})


def _own_user_name(state):
    """Kept only when it is not exactly the e-mail, so that an e-mail change
    carries it; a userName that differs in case only is kept as sent."""
    return None if state["user_name"] == state["email"] else state["user_name"]


def _check_id(body, user):
    given = next((value for key, value in body.items() if key.lower() == "id"), None)
    if given is not None and given != user.id:
        raise scim_error("mutability", "id cannot be changed.")


# Filters to SQL -------------------------------------------------------------------

def _columns():
    return {
        "username": (func.lower(func.coalesce(User.user_name, User.email)), "ci"),
        "emails": (func.lower(User.email), "ci"),
        "emails.value": (func.lower(User.email), "ci"),
        "externalid": (User.external_id, "exact"),
        "id": (cast(User.id, String), "exact"),
        "active": (User.active, "bool"),
        "displayname": (func.lower(User.full_name), "ci"),
        "name.formatted": (func.lower(User.full_name), "ci"),
        "name.givenname": (func.lower(User.given_name), "ci"),
        "name.familyname": (func.lower(User.family_name), "ci"),
        "meta.created": (User.created_at, "time"),
        "meta.lastmodified": (User.updated_at, "time"),
    }


def _logical(node, leaf, multi_valued):
    """A filter tree as SQL: ``and``/``or``/``not`` and ``attribute[...]`` here
    (``multi_valued`` names the one attribute that may carry ``[...]``), each
    comparison by ``leaf``."""
    kind = node[0]
    if kind in ("and", "or"):
        return (and_ if kind == "and" else or_)(_logical(node[1], leaf, multi_valued),
                                                _logical(node[2], leaf, multi_valued))
    if kind == "not":
        return not_(_logical(node[1], leaf, multi_valued))
    if kind == "value_path":
        if node[1] != multi_valued:
            raise scim_error("invalidFilter", f"{node[1]}[...] is not supported here.")
        return _logical(_prefixed(node[2], multi_valued + "."), leaf, multi_valued)
    return leaf(node)


def _sql(node):
    return _logical(node, _user_comparison, "emails")


def _user_comparison(node):
    kind = node[0]
    column, nature = _column(node[1])
    if kind == "pr":
        # Every user has an e-mail of type work, primary, and is active or not.
        return column.isnot(None) if nature not in ("bool", "work", "primary") else true()
    return _compare(column, nature, node[2], node[3])


def _prefixed(node, prefix):
    """emails[type eq "work" and value co "x"] -> emails.type ..., emails.value ..."""
    if node[0] in ("and", "or"):
        return (node[0], _prefixed(node[1], prefix), _prefixed(node[2], prefix))
    if node[0] == "not":
        return ("not", _prefixed(node[1], prefix))
    return (node[0], prefix + node[1]) + tuple(node[2:])


def _column(path):
    if path == "emails.type":
        return None, "work"
    if path == "emails.primary":
        return None, "primary"
    columns = _columns()
    if path not in columns:
        raise scim_error("invalidFilter", f"Cannot filter on {path!r}.")
    return columns[path]


def _instant(text):
    """An xsd:dateTime of a filter, parsed here (PostgreSQL would fail on a bad
    one); without a zone it is UTC."""
    try:
        if not EXTENDED_DATE.fullmatch(str(text)[:10]):
            raise ValueError  # the extended format only, as every date of the API
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise scim_error("invalidFilter", f"{text!r} is not a date and time "
                                          "(ISO 8601, e.g. 2026-12-01T08:00:00Z).") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def _compare(column, nature, op, value):
    if nature in ("work", "primary"):
        # Every user has one e-mail, of type work, primary.
        expected = "work" if nature == "work" else True
        matches = (value.lower() if isinstance(value, str) else value) == expected
        return true() if matches == (op == "eq") and op in ("eq", "ne") else false()
    if nature == "bool":
        if not isinstance(value, bool) or op not in ("eq", "ne"):
            raise scim_error("invalidFilter", "active compares with eq or ne to true or false.")
        return column.is_(value) if op == "eq" else column.isnot(value)
    if value is None:
        if op == "eq":
            return column.is_(None)
        if op == "ne":
            return column.isnot(None)
        raise scim_error("invalidFilter", f"{op} null makes no sense.")
    if nature == "time":
        if op not in ("eq", "ne", "gt", "ge", "lt", "le") or not isinstance(value, str):
            raise scim_error("invalidFilter", "Dates compare with eq, ne, gt, ge, lt, le.")
        value = _instant(value)
    elif not isinstance(value, str):
        raise scim_error("invalidFilter", "This attribute compares with a string.")
    elif nature == "ci":
        value = value.lower()
    like = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") \
        if isinstance(value, str) else None
    return {
        "eq": lambda: column == value, "ne": lambda: column != value,
        "gt": lambda: column > value, "ge": lambda: column >= value,
        "lt": lambda: column < value, "le": lambda: column <= value,
        "co": lambda: column.like(f"%{like}%"), "sw": lambda: column.like(f"{like}%"),
        "ew": lambda: column.like(f"%{like}"),
    }[op]()


# Groups -------------------------------------------------------------------------

def _group(session, caller, group_id, lock=False):
    organisation = _organisation(session, caller)
    group = None
    if is_uuid(group_id):
        query = select(Group).where(Group.id == group_id,
                                    Group.organisation_id == organisation.id)
        group = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if group is None:
        raise errors.NotFound(f"No group {group_id}.")
    return organisation, group


def create_group(uow, caller, body):
    organisation = _organisation(uow.session, caller)
    data = scim_protocol.group_from_resource(body)
    group = Group(organisation_id=organisation.id, display_name=data["display_name"],
                  external_id=data["external_id"])
    uow.session.add(group)
    _flush_group(uow)
    _set_members(uow, caller, organisation, group, data["members"])
    audit.record(uow, caller, organisation.id, "group.created", "group", group.id,
                 {"display_name": group.display_name, "members": len(data["members"])})
    return group


def get_group(session, caller, group_id):
    return _group(session, caller, group_id)[1]


def list_groups(session, caller, filter_text=None, start_index=1, count=DEFAULT_COUNT):
    organisation = _organisation(session, caller)
    condition = _group_sql(scim_protocol.parse_filter(filter_text)) if filter_text else true()
    base = select(Group).where(Group.organisation_id == organisation.id, condition)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    groups = session.execute(base.order_by(Group.created_at, Group.id)
                             .offset(start_index - 1).limit(count)).scalars().all() if count else []
    return groups, total


def replace_group(uow, caller, group_id, body):
    organisation, group = _group(uow.session, caller, group_id, lock=True)
    _check_id(body, group)
    return _apply_group(uow, caller, organisation, group, scim_protocol.group_from_resource(body))


def patch_group(uow, caller, group_id, body):
    organisation, group = _group(uow.session, caller, group_id, lock=True)
    current = {"display_name": group.display_name, "external_id": group.external_id,
               "members": member_ids(uow.session, group.id)}
    return _apply_group(uow, caller, organisation, group,
                        scim_protocol.apply_group_patch(current, body))


def delete_group(uow, caller, group_id):
    organisation, group = _group(uow.session, caller, group_id, lock=True)
    affected = group_policies.members_of(uow.session, group.id) \
        if group_policies.has_policy(uow.session, group.id) else []
    uow.session.delete(group)
    uow.session.flush()
    group_policies.publish_member_policies(uow, organisation.id, affected)
    audit.record(uow, caller, organisation.id, "group.deleted", "group", group.id,
                 {"display_name": group.display_name})


def _apply_group(uow, caller, organisation, group, data):
    renamed = {name: data[name] for name in ("display_name", "external_id")
               if getattr(group, name) != data[name]}
    for name, value in renamed.items():
        setattr(group, name, value)
    _flush_group(uow)
    added, removed = _set_members(uow, caller, organisation, group, data["members"])
    if renamed or added or removed:
        group.updated_at = accounts.now()
        audit.record(uow, caller, organisation.id, "group.updated", "group", group.id,
                     {"fields": sorted(renamed), "added": len(added), "removed": len(removed)})
    if group_policies.has_policy(uow.session, group.id):
        # A renamed group's policy is named anew in its members' refusals.
        changed = member_ids(uow.session, group.id) if "display_name" in renamed \
            else added + sorted(removed)
        group_policies.publish_member_policies(uow, organisation.id, changed)
    return group


def _set_members(uow, caller, organisation, group, wanted):
    """Make the group's members exactly ``wanted`` (users of the organisation,
    not deleted); returns who was added (a list) and removed (a set)."""
    unknown = [user_id for user_id in wanted if not is_uuid(user_id)]
    known = set(uow.session.execute(select(User.id).where(
        User.id.in_([user_id for user_id in wanted if is_uuid(user_id)]),
        User.organisation_id == organisation.id, User.deleted_at.is_(None))).scalars())
    unknown += [user_id for user_id in wanted if is_uuid(user_id) and user_id not in known]
    if unknown:
        raise scim_error("invalidValue", f"No user {unknown[0]} in this organisation "
                                         "(a group's members are its users).")
    current = set(member_ids(uow.session, group.id))
    added = [user_id for user_id in wanted if user_id not in current]
    removed = current - set(wanted)
    if removed:
        uow.session.execute(GroupMember.__table__.delete().where(
            GroupMember.group_id == group.id, GroupMember.user_id.in_(removed)))
    for user_id in added:
        uow.session.add(GroupMember(group_id=group.id, user_id=user_id))
    uow.session.flush()
    return added, removed


def member_ids(session, group_id):
    return list(session.execute(select(GroupMember.user_id).where(
        GroupMember.group_id == group_id).order_by(GroupMember.added_at,
                                                   GroupMember.user_id)).scalars())


def members(session, group_id):
    """``[(user id, display)]`` of a group, in the order they were added."""
    return [tuple(row) for row in session.execute(
        select(User.id, User.full_name).join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group_id, User.deleted_at.is_(None))
        .order_by(GroupMember.added_at, User.id))]


def groups_of(session, user_ids):
    """``{user id: [(group id, displayName)]}`` for the users listed."""
    found = {user_id: [] for user_id in user_ids}
    if user_ids:
        rows = session.execute(
            select(GroupMember.user_id, Group.id, Group.display_name)
            .join(Group, Group.id == GroupMember.group_id)
            .where(GroupMember.user_id.in_(user_ids)).order_by(Group.display_name, Group.id))
        for user_id, group_id, display_name in rows:
            found[user_id].append((group_id, display_name))
    return found


def _flush_group(uow):
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        field = "external_id" if "external_id" in str(exc.orig) else "display_name"
        raise errors.Conflict(f"Another group of this organisation has this "
                              f"{'externalId' if field == 'external_id' else 'displayName'}.",
                              code="group-taken", fields={field: ["Already used."]}) from None


def _group_sql(node):
    return _logical(node, _group_comparison, "members")


def _group_comparison(node):
    kind, path = node[0], node[1]
    if path in ("members", "members.value"):
        if kind == "pr":
            return select(GroupMember.user_id).where(
                GroupMember.group_id == Group.id).exists()
        if node[2] != "eq" or not isinstance(node[3], str):
            raise scim_error("invalidFilter", 'members compare with eq "<user id>".')
        if not is_uuid(node[3]):
            return false()
        return select(GroupMember.user_id).where(
            GroupMember.group_id == Group.id, GroupMember.user_id == node[3]).exists()
    columns = {"displayname": (func.lower(Group.display_name), "ci"),
               "externalid": (Group.external_id, "exact"),
               "id": (cast(Group.id, String), "exact"),
               "meta.created": (Group.created_at, "time"),
               "meta.lastmodified": (Group.updated_at, "time")}
    if path not in columns:
        raise scim_error("invalidFilter", f"Cannot filter groups on {path!r}.")
    column, nature = columns[path]
    if kind == "pr":
        return column.isnot(None)
    return _compare(column, nature, node[2], node[3])
