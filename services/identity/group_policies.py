"""Groups that set policy: a corporate admin maps a group its identity
provider pushes (SCIM /Groups) to booking rules, so "Nomades Limousin" books
relays in the Limousin twice a week and "Direction" anywhere.

A member of one or more such groups may book what any one of their groups'
policies allows (the most generous wins, policy by policy: rules are never
mixed across groups); a member of none books under the corporate policy. The
monthly budget stays the corporate policy's. Booking keeps each member's
group policies from ``identity.member_policies_changed``, published here
whenever a group's policy or a user's groups change."""
from sqlalchemy import func, select

from common import errors
from common.validation import is_uuid
from services.identity import audit
from services.identity.models import Group, GroupMember, GroupPolicy, User
from services.identity.policies import require_corporate
from services.identity.scope import administered_organisation

RULE_FIELDS = ("allowed_relays", "relay_ids", "radius_km", "max_days_per_month",
               "booking_horizon_days", "space_kinds")


def list_groups(session, caller, organisation_id):
    """The organisation's groups with their member counts and policies (admins,
    network staff)."""
    organisation = administered_organisation(session, caller, organisation_id, write=False)
    require_corporate(organisation)
    counts = dict(session.execute(
        select(GroupMember.group_id, func.count()).join(User, User.id == GroupMember.user_id)
        .where(User.deleted_at.is_(None)).group_by(GroupMember.group_id)).all())
    rows = session.execute(
        select(Group, GroupPolicy).outerjoin(GroupPolicy, GroupPolicy.group_id == Group.id)
        .where(Group.organisation_id == organisation.id)
        .order_by(func.lower(Group.display_name))).all()
    return [{"id": group.id, "display_name": group.display_name,
             "external_id": group.external_id, "members": counts.get(group.id, 0),
             "policy": _dump(group, policy) if policy else None} for group, policy in rows]


def get_group_policy(session, caller, organisation_id, group_id):
    group = _administered_group(session, caller, organisation_id, group_id, write=False)
    policy = session.get(GroupPolicy, group.id)
    if policy is None:
        raise errors.NotFound(f"The group {group.display_name!r} has no policy: its members "
                              "book under the corporate policy.", code="no-group-policy")
    return _dump(group, policy)


def set_group_policy(uow, caller, organisation_id, group_id, data):
    """Replace a group's policy; its members' policies are published again
    only if it changed (a retried PUT is harmless)."""
    group = _administered_group(uow.session, caller, organisation_id, group_id, lock=True)
    values = {"allowed_relays": data["allowed_relays"],
              "relay_ids": sorted({str(relay_id) for relay_id in data["relay_ids"]}),
              "radius_km": data["radius_km"], "max_days_per_month": data["max_days_per_month"],
              "booking_horizon_days": data["booking_horizon_days"],
              "space_kinds": sorted(set(data["space_kinds"])) if data["space_kinds"] else None}
    policy = uow.session.get(GroupPolicy, group.id)
    before = {name: getattr(policy, name) for name in RULE_FIELDS} if policy else None
    if before == values:
        return _dump(group, policy)
    if policy is None:
        policy = GroupPolicy(group_id=group.id)
        uow.session.add(policy)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.updated_by = caller.user_id
    uow.session.flush()
    publish_member_policies(uow, group.organisation_id, members_of(uow.session, group.id))
    audit.record(uow, caller, group.organisation_id, "group_policy.changed", "group", group.id,
                 {"group": group.display_name, "before": before, "after": values})
    uow.session.refresh(policy)
    return _dump(group, policy)


def delete_group_policy(uow, caller, organisation_id, group_id):
    """The group's members book under the corporate policy again (or their
    other groups'). Deleting a policy that is not there does nothing."""
    group = _administered_group(uow.session, caller, organisation_id, group_id, lock=True)
    policy = uow.session.get(GroupPolicy, group.id)
    if policy is None:
        return
    uow.session.delete(policy)
    uow.session.flush()
    publish_member_policies(uow, group.organisation_id, members_of(uow.session, group.id))
    audit.record(uow, caller, group.organisation_id, "group_policy.deleted", "group", group.id,
                 {"group": group.display_name})


def has_policy(session, group_id):
    return session.get(GroupPolicy, group_id) is not None


def members_of(session, group_id):
    return list(session.execute(select(GroupMember.user_id).where(
        GroupMember.group_id == group_id)).scalars())


def publish_member_policies(uow, organisation_id, user_ids):
    """``identity.member_policies_changed`` for each user: the policies of
    every group that holds them now, whole, by group name."""
    found = {user_id: [] for user_id in user_ids}
    if not found:
        return
    rows = uow.session.execute(
        select(GroupMember.user_id, Group, GroupPolicy)
        .join(Group, Group.id == GroupMember.group_id)
        .join(GroupPolicy, GroupPolicy.group_id == Group.id)
        .where(GroupMember.user_id.in_(list(found)))
        .order_by(func.lower(Group.display_name), Group.id))
    for user_id, group, policy in rows:
        found[user_id].append(dict(_rules(policy), group_id=group.id, name=group.display_name))
    for user_id in sorted(found):
        uow.publish("identity.member_policies_changed", {
            "user_id": user_id, "organisation_id": organisation_id,
            "policies": found[user_id]})


def _administered_group(session, caller, organisation_id, group_id, lock=False, write=True):
    organisation = administered_organisation(session, caller, organisation_id, write=write)
    require_corporate(organisation)
    if not is_uuid(str(group_id)):
        raise errors.NotFound(f"No group {group_id}.")
    query = select(Group).where(Group.id == str(group_id),
                                Group.organisation_id == organisation.id)
    group = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if group is None:
        raise errors.NotFound(f"No group {group_id}.")
    return group


def _rules(policy):
    return {name: getattr(policy, name) for name in RULE_FIELDS}


def _dump(group, policy):
    return dict(_rules(policy), group_id=group.id, group_name=group.display_name,
                updated_by=policy.updated_by, updated_at=policy.updated_at)
