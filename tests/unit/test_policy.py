from datetime import date

import pytest

from services.booking.policy import NETWORK_HORIZON_DAYS, Policy, PolicyRefused

GUERET = (46.1714, 1.8717)
AUBUSSON = (45.956, 2.168)      # ~32 km from Guéret
LIMOGES = (45.8336, 1.2611)     # ~60 km from Guéret


def refusal(policy, **overrides):
    kwargs = dict(relay_id="r1", relay_point=AUBUSSON, home_point=GUERET, space_kind="desk",
                  day=date(2026, 12, 3), days_booked=set())
    kwargs.update(overrides)
    with pytest.raises(PolicyRefused) as refused:
        policy.check(**kwargs)
    return refused.value


def test_no_policy_allows_everything():
    Policy().check(relay_id="r1", relay_point=AUBUSSON, home_point=None, space_kind="meeting_room",
                   day=date(2026, 12, 3), days_booked={date(2026, 12, d) for d in range(1, 30)})
    assert Policy().horizon_days == NETWORK_HORIZON_DAYS


def test_a_list_policy_allows_only_its_relays():
    policy = Policy("list", frozenset({"r2"}))
    assert refusal(policy).rule == "policy-relay-not-allowed"
    policy.check_relay("r2", AUBUSSON, None)


def test_a_radius_policy_measures_from_home():
    policy = Policy("radius", radius_km=40)
    policy.check_relay("r1", AUBUSSON, GUERET)
    too_far = refusal(policy, relay_point=LIMOGES)
    assert too_far.rule == "policy-relay-too-far"
    assert "60 km" in too_far.detail and "40 km" in too_far.detail
    assert refusal(policy, home_point=None).rule == "policy-home-unknown"


def test_kinds_of_space():
    assert refusal(Policy(space_kinds=frozenset({"meeting_room"}))).rule == "policy-space-kind"
    Policy(space_kinds=frozenset({"desk"})).check_space_kind("desk")


def test_days_per_month_counts_distinct_days_and_allows_a_second_half_of_a_booked_day():
    policy = Policy(max_days_per_month=2)
    booked = {date(2026, 12, 1), date(2026, 12, 2)}
    refused = refusal(policy, days_booked=booked)
    assert refused.rule == "policy-days-per-month"
    assert "2 days a month" in refused.detail
    policy.check_days_in_month(date(2026, 12, 2), booked)       # the afternoon of a booked day
    policy.check_days_in_month(date(2026, 12, 3), {date(2026, 12, 1)})


def test_the_horizon_is_the_shorter_of_the_network_and_the_policy():
    assert Policy(booking_horizon_days=14).horizon_days == 14
    assert "14 days" in Policy(booking_horizon_days=14).horizon_detail()
    assert Policy(booking_horizon_days=365).horizon_days == NETWORK_HORIZON_DAYS


def test_a_monthly_budget_refuses_what_would_go_over_and_says_what_is_left():
    policy = Policy(monthly_budget_cents=5000)
    policy.check_budget(date(2026, 12, 2), 1250, 3750)             # exactly the last euro
    with pytest.raises(PolicyRefused) as refused:
        policy.check_budget(date(2026, 12, 2), 1250, 3800)
    assert refused.value.rule == "policy-monthly-budget"
    assert "50,00 €" in refused.value.detail and "12,00 € left in 12/2026" in refused.value.detail
    assert "organisation's" in refused.value.detail
    Policy().check_budget(date(2026, 12, 2), 10**9, 10**9)         # no budget, no cap
    with pytest.raises(PolicyRefused) as refused:
        Policy(monthly_budget_cents=0, budget_per="member").check_budget(date(2026, 12, 2), 1, 0)
    assert "your monthly budget" in refused.value.detail
