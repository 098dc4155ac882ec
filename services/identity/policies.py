"""Corporate policies: which relays a company's employees may use, how often,
how far ahead, which kinds of space, and the account's monthly budget. Booking
and billing keep their own copy from ``identity.policy_changed``."""
from sqlalchemy.dialects.postgresql import insert

from common import errors
from services.identity import audit
from services.identity.models import CorporatePolicy
from services.identity.scope import administered_organisation, visible_organisation

POLICY_FIELDS = ("allowed_relays", "relay_ids", "radius_km", "max_days_per_month",
                 "booking_horizon_days", "space_kinds", "monthly_budget_cents", "budget_per")


def default_policy(organisation_id):
    """No policy set yet: everything is allowed."""
    return CorporatePolicy(organisation_id=organisation_id, allowed_relays="all", relay_ids=[],
                           radius_km=None, max_days_per_month=None, booking_horizon_days=None,
                           space_kinds=None, monthly_budget_cents=None,
                           budget_per="organisation", updated_by=None,
                           updated_at=None)


def get_policy(session, caller, organisation_id):
    """The organisation's admins, its members (they book under it), network staff."""
    organisation = visible_organisation(session, caller, organisation_id)
    require_corporate(organisation)
    return session.get(CorporatePolicy, organisation.id) or default_policy(organisation.id)


def set_policy(uow, caller, organisation_id, data):
    """Replace the policy. Publishes ``identity.policy_changed`` only when it
    changed, so that a retried PUT is harmless."""
    organisation = administered_organisation(uow.session, caller, organisation_id)
    require_corporate(organisation)
    values = {
        "allowed_relays": data["allowed_relays"],
        "relay_ids": sorted({str(relay_id) for relay_id in data["relay_ids"]}),
        "radius_km": data["radius_km"],
        "max_days_per_month": data["max_days_per_month"],
        "booking_horizon_days": data["booking_horizon_days"],
        "space_kinds": sorted(set(data["space_kinds"])) if data["space_kinds"] else None,
        "monthly_budget_cents": data["monthly_budget_cents"],
        "budget_per": data["budget_per"],
    }
    current = uow.session.get(CorporatePolicy, organisation.id, with_for_update=True) \
        or default_policy(organisation.id)
    before = {name: getattr(current, name) for name in POLICY_FIELDS}
    if before == values and current.updated_at is not None:
        return current
    uow.session.execute(
        insert(CorporatePolicy).values(organisation_id=organisation.id, updated_by=caller.user_id,
                                       **values)
        .on_conflict_do_update(index_elements=[CorporatePolicy.organisation_id],
                               set_=dict(values, updated_by=caller.user_id)))
    uow.session.expire_all()
    policy = uow.session.get(CorporatePolicy, organisation.id)
    uow.publish("identity.policy_changed", dict(organisation_id=organisation.id, **values))
    audit.record(uow, caller, organisation.id, "policy.changed", "policy", organisation.id,
                 {"before": before, "after": values})
    return policy


def require_corporate(organisation):
    if organisation.kind != "corporate":
        raise errors.NotFound("Only corporate accounts have a policy.", code="no-policy")
