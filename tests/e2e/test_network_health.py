"""The network-health and unmet-demand API over HTTP, and who sees what:
network staff every relay, a relay manager their own, a company its own
employees' use, a member nothing; unmet demand is for network staff only."""
from tests.e2e.conftest import (
    PASSWORD, Client, assert_problem, corporate_account, new_member, next_weekday, relay_operator,
    unique,
)


def relay_ids(client):
    response = client.get("/v1/network-health")
    assert response.status_code == 200, response.text
    return {relay["relay_id"] for relay in response.json()["relays"]}


def test_network_health_is_scoped_to_the_caller(admin, network, relay_company_employee):
    relay, desk, employee, member = relay_company_employee
    other, other_desk, _, other_member = relay_company_employee_at_another(admin, network)
    assert other_member.post("/v1/bookings", json={
        "space_id": other_desk["id"], "date": next_weekday(3), "slot": "morning"}).status_code == 201
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": next_weekday(3),
                                             "slot": "morning"}).status_code == 201
    assert {relay["id"], other["id"]} <= relay_ids(admin)
    assert relay_ids(relay_operator(admin, network, relay["id"])) == {relay["id"]}
    # The employee's company booked at `relay` only (this week's bookings are
    # in no past window yet, but the relay was used): it sees that relay only.
    company_admin = company_admin_of(admin, network, employee["organisation_id"])
    assert relay_ids(company_admin) == {relay["id"]}
    (seen,) = company_admin.get("/v1/network-health").json()["relays"]
    assert seen["desk_occupancy_30d"] is None
    _, stranger = corporate_account(admin, network, "Inconnue")
    assert relay_ids(stranger) == set()
    assert_problem(member.get("/v1/network-health"), 403, "forbidden")


def test_unmet_demand_is_for_network_staff(admin, network, relay_company_employee):
    relay, desk, employee, member = relay_company_employee
    day = next_weekday(4)
    assert member.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                             "slot": "day"}).status_code == 201
    _, other = new_member(admin, network, employee["organisation_id"], "assureur.example")
    assert other.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                            "slot": "morning"}).status_code == 409
    report = admin.get("/v1/unmet-demand", params={"from_month": day[:7], "to_month": day[:7]})
    assert report.status_code == 200, report.text
    (row,) = [row for row in report.json()["rows"] if row["department"] == "23"]
    assert row["refused_bookings"] >= 1 and row["month"] == day[:7]
    assert "email" not in report.text and employee["id"] not in report.text
    for caller in (member, relay_operator(admin, network, relay["id"]),
                   corporate_account(admin, network)[1]):
        assert_problem(caller.get("/v1/unmet-demand", params={
            "from_month": day[:7], "to_month": day[:7]}), 403, "forbidden")
    assert_problem(admin.get("/v1/unmet-demand", params={
        "from_month": "2026-12", "to_month": "2026-01"}), 422, "validation-error")


def relay_company_employee_at_another(admin, network):
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais de Bourganeuf"), "address": "2 place du Marché",
        "postcode": "23400", "commune": "Bourganeuf", "latitude": 45.95, "longitude": 1.75,
        "timezone": "Europe/Paris"})
    assert relay.status_code == 201, relay.text
    desk = admin.post(f"/v1/relays/{relay.json()['id']}/spaces",
                      json={"kind": "desk", "name": "C1"})
    assert desk.status_code == 201, desk.text
    company, _ = corporate_account(admin, network, "Banque")
    employee, member = new_member(admin, network, company["id"], "banque.example")
    return relay.json(), desk.json(), employee, member


def company_admin_of(admin, network, organisation_id):
    email = f"{unique('rh')}@assureur.example"
    created = admin.post(f"/v1/organisations/{organisation_id}/users", json={
        "email": email, "full_name": "RH Assureur", "roles": ["corporate_admin"],
        "password": PASSWORD})
    assert created.status_code == 201, created.text
    return Client(network.gateway_url).login(email, PASSWORD)


def test_impact_reports_over_http(admin, network, relay_company_employee):
    relay, desk, employee, member = relay_company_employee
    month = {"month": next_weekday(1)[:7]}
    report = admin.get("/v1/impact", params=dict(month, by="department"))
    assert report.status_code == 200, report.text
    assert report.json()["by"] == "department" and report.json()["factors_version"]
    as_csv = admin.get("/v1/impact.csv", params=month)
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.text.startswith(f"# month={month['month']} by=relay factors=")
    audit = admin.get("/v1/impact/bookings.csv", params=month)
    assert audit.status_code == 200 and "booking_id,date,relay_id" in audit.text
    company_admin = company_admin_of(admin, network, employee["organisation_id"])
    assert company_admin.get("/v1/impact", params=dict(month, by="member")).status_code == 200
    assert_problem(admin.get("/v1/impact", params=dict(month, by="member")), 403, "forbidden")
    assert_problem(member.get("/v1/impact", params=month), 403, "forbidden")
    assert_problem(relay_operator(admin, network, relay["id"]).get(
        "/v1/impact/bookings.csv", params=month), 403, "forbidden")


def test_the_open_data_export_is_public(anonymous):
    response = anonymous.get("/v1/open-data/relay-use.csv", params={"month": "2026-03"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.text.startswith("# Licence Ouverte / Open Licence 2.0")
    assert_problem(anonymous.get("/v1/open-data/relay-use.csv", params={"month": "March"}),
                   422, "validation-error")
