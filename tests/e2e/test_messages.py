"""Messages over HTTP: a member chooses English, books, gets an English mail
whose one-click unsubscribe link works without logging in (GET asks, POST
does it), and reads and changes their choices through the API."""
import requests

from tests.e2e.conftest import PASSWORD, Client, assert_problem, mails_to, next_weekday, wait_for


def test_an_english_member_unsubscribes_from_receipts_in_one_click_without_logging_in(
        relay_company_employee, network, admin):
    relay, desk, employee, member = relay_company_employee
    chose = member.put(f"/v1/users/{employee['id']}/locale", json={"locale": "en"})
    assert chose.status_code == 200 and chose.json()["locale"] == "en", chose.text
    assert_problem(member.put(f"/v1/users/{employee['id']}/locale", json={"locale": "de"}),
                   422, "validation-error")

    booked = member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(),
                                               "slot": "morning"})
    assert booked.status_code == 201, booked.text
    (mail,) = wait_for(lambda: mails_to(network, employee["email"]), timeout=15)
    assert mail["subject"].startswith("Booking confirmed: ") and "Hello" in mail["text"]
    link = mail["list_unsubscribe"].strip("<>")
    assert link.startswith(f"{network.gateway_url}/v1/unsubscribe/")

    page = requests.get(link, timeout=10)        # no Authorization header
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post">' in page.text and "booking confirmations" in page.text
    preferences = f"/v1/users/{employee['id']}/notification-preferences"
    assert {p["category"]: p["enabled"] for p in member.get(preferences).json()}[
        "booking_receipts"] is True                  # looking at the page changed nothing

    clicked = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert clicked.status_code == 200 and "You are unsubscribed" in clicked.text
    assert {p["category"]: p["enabled"] for p in member.get(preferences).json()}[
        "booking_receipts"] is False
    assert_problem(requests.post(link[:-3] + "xyz", timeout=10), 404, "not-found")

    back_on = member.request("PATCH", preferences, json={"booking_receipts": True,
                                                         "reminders": False})
    assert back_on.status_code == 200, back_on.text
    assert {p["category"]: p["enabled"] for p in back_on.json()} == {
        "account": True, "invoicing": True, "booking_changes": True,
        "booking_receipts": True, "reminders": False, "arrivals_digest": True}
    assert_problem(member.request("PATCH", preferences, json={"invoicing": False}),
                   422, "validation-error")
    assert_problem(member.request("PATCH", preferences, json={"newsletter": False}),
                   422, "validation-error")
    # Only the person: not their admin, not another member, not anonymous.
    assert_problem(admin.get(preferences), 404, "not-found")
    assert Client(network.gateway_url).get(preferences).status_code == 401


def test_the_openapi_document_lists_the_unsubscribe_routes_as_html(network):
    paths = requests.get(f"{network.gateway_url}/openapi.json", timeout=10).json()["paths"]
    unsubscribe = paths["/v1/unsubscribe/{token}"]
    assert set(unsubscribe) >= {"get", "post"}
    assert "text/html" in unsubscribe["post"]["responses"]["200"]["content"]
    assert not unsubscribe["post"].get("security")
