"""Groups that set policy, as booking applies them (pure): the most generous
group policy wins, policy by policy; a refusal names each group; the budget
stays the organisation's."""
from datetime import date

import pytest

from services.booking.policy import GroupPolicies, Policy, PolicyRefused, policy_for

LIMOUSIN_RELAY, PARIS_RELAY = "relay-limousin", "relay-paris"
DAY = date(2027, 3, 2)


def rules(name, **fields):
    return dict({"name": name, "allowed_relays": "all", "relay_ids": [], "radius_km": None,
                 "max_days_per_month": None, "booking_horizon_days": None,
                 "space_kinds": None}, **fields)


NOMADES = rules("Nomades Limousin", allowed_relays="list", relay_ids=[LIMOUSIN_RELAY],
                max_days_per_month=2)
DIRECTION = rules("Direction")


def check(policy, relay=LIMOUSIN_RELAY, kind="desk", days_booked=frozenset(), days_ahead=7):
    return policy.check(relay_id=relay, relay_point=(45.8, 1.3), home_point=None,
                        space_kind=kind, day=DAY, days_booked=days_booked, days_ahead=days_ahead)


def test_no_group_policy_means_the_organisations():
    organisation = Policy(allowed_relays="list", relay_ids=frozenset({PARIS_RELAY}))
    assert policy_for(organisation, []) is organisation
    assert policy_for(organisation, None) is organisation


def test_a_group_policy_replaces_the_organisations_rules_but_not_its_budget():
    organisation = Policy(allowed_relays="list", relay_ids=frozenset({PARIS_RELAY}),
                          monthly_budget_cents=10_000, budget_per="member")
    policy = policy_for(organisation, [NOMADES])
    assert check(policy) == "Nomades Limousin"
    with pytest.raises(PolicyRefused) as refused:
        check(policy, relay=PARIS_RELAY)
    assert refused.value.rule == "policy-relay-not-allowed"
    assert "Nomades Limousin" in refused.value.detail
    assert (policy.monthly_budget_cents, policy.budget_per) == (10_000, "member")
    with pytest.raises(PolicyRefused) as over:
        policy.check_budget(DAY, 6_000, 5_000)
    assert over.value.rule == "policy-monthly-budget"


def test_the_most_generous_group_wins():
    policy = policy_for(Policy(), [DIRECTION, NOMADES])
    # Beyond Nomades' two days a month and outside its relays: Direction allows it.
    assert check(policy, relay=PARIS_RELAY,
                 days_booked=frozenset({date(2027, 3, 1), date(2027, 3, 3)})) == "Direction"
    assert policy.max_days_per_month == 2  # one policy caps: the days are counted


def test_a_refusal_names_every_group_and_why():
    kinds = rules("Salles", space_kinds=["meeting_room"], booking_horizon_days=10)
    policy = policy_for(Policy(), [NOMADES, kinds])
    assert policy.horizon_days == 90 and policy.max_days_per_month == 2
    with pytest.raises(PolicyRefused) as refused:
        check(policy, relay=PARIS_RELAY, days_ahead=20)
    detail = refused.value.detail
    assert "Nomades Limousin: " in detail and "Salles: " in detail and "10 days" in detail
    assert refused.value.rule == "policy-relay-not-allowed"  # the first group's reason
    # Rules are never mixed across groups: Salles' room within its horizon passes.
    assert check(policy, relay=PARIS_RELAY, kind="meeting_room", days_ahead=5) == "Salles"


def test_the_horizon_is_the_longest_of_the_groups():
    policy = GroupPolicies([("A", Policy(booking_horizon_days=10)),
                            ("B", Policy(booking_horizon_days=30))], Policy())
    assert policy.horizon_days == 30 and "30 days" in policy.horizon_detail()
    assert not policy.measures_from_home
    assert policy_for(Policy(), [NOMADES, rules("Rayon", allowed_relays="radius",
                                                radius_km=30)]).measures_from_home
