"""SCIM 2.0 provisioning of a corporate account's users, for its identity
provider (Okta, Microsoft Entra ID, Keycloak...). The caller is a SCIM token
of one organisation: everything is looked up within it, so another
organisation's users are "not found". Creating, changing and deactivating go
through the same use cases as the API (``accounts``)."""
from datetime import datetime, timezone

from sqlalchemy import String, and_, cast, false, func, not_, or_, select, true

from common import errors
from common.schemas import EXTENDED_DATE
from common.validation import is_uuid
from services.identity import accounts, scim_protocol
from services.identity.models import User
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
    return accounts.provision_user(
        uow, caller, organisation, via="scim", email=state["email"],
        full_name=state["full_name"], external_id=state.get("external_id"),
        given_name=state.get("given_name"), family_name=state.get("family_name"),
        user_name=_own_user_name(state), password=state.get("password"),
        active=state["active"], locale=state["locale"])


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
        "locale": state["locale"],
    }, via="scim")
    if state.get("password"):
        # After the e-mail change: the policy compares the password with the new address.
        accounts.set_password(uow, caller, user, state["password"], via="scim",
                              end_sessions=True)
    accounts.set_active(uow, caller, user, state["active"], via="scim")


def _own_user_name(state):
    """Kept only when it is not the e-mail, so that an e-mail change carries it."""
    return None if state["user_name"].lower() == state["email"].lower() else state["user_name"]


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


def _sql(node):
    kind = node[0]
    if kind == "and":
        return and_(_sql(node[1]), _sql(node[2]))
    if kind == "or":
        return or_(_sql(node[1]), _sql(node[2]))
    if kind == "not":
        return not_(_sql(node[1]))
    if kind == "value_path":
        if node[1] != "emails":
            raise scim_error("invalidFilter", f"{node[1]}[...] is not supported.")
        return _sql(_prefixed(node[2], "emails."))
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
