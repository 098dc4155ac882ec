"""A company's monthly budget over HTTP: booking asks billing the price of a
booking (billing's quote) and refuses the one that would go over, 403
``policy-monthly-budget``; with billing stopped, a budgeted booking is 503
``budget-unavailable``, never let through unchecked."""
from tests.e2e.conftest import assert_problem, next_weekday


def book(member, desk, day, slot):
    return member.post("/v1/bookings", json={"space_id": desk["id"], "date": day, "slot": slot})


def test_a_booking_over_the_monthly_budget_is_refused_and_billing_stopped_is_a_503(
        relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee   # a desk is 14.90 € a half-day
    policy = admin.put(f"/v1/organisations/{employee['organisation_id']}/policy",
                       json={"monthly_budget_cents": 2000})
    assert policy.status_code == 200, policy.text
    assert policy.json()["monthly_budget_cents"] == 2000

    # booking learns the budget from identity.policy_changed: the morning of a
    # day fits in 20 €, not its afternoon too (a few days tried, until it has)
    refused = None
    for days_ahead in range(10, 40):
        day = next_weekday(days_ahead)
        for slot in ("morning", "afternoon"):
            answer = book(member, desk, day, slot)
            if answer.status_code == 403:
                refused = answer
                break
            assert answer.status_code == 201, answer.text
        if refused is not None:
            break
    assert refused is not None, "the budget never reached booking"
    body = assert_problem(refused, 403, "policy-monthly-budget")
    assert "20,00 €" in body["detail"], body

    network.stop_service("billing")
    try:
        assert_problem(book(member, desk, next_weekday(45), "morning"), 503,
                       "budget-unavailable")
    finally:
        network.start_service("billing")
        network.wait_until_ready(60)
