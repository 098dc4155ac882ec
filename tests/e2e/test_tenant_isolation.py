"""Tenant isolation, enforced by identity itself: company A's corporate admin
(by access token or by API key) and A's SCIM token get "not found" for every
resource of company B, on reads, writes, lists and SCIM; and B is unchanged
afterwards. The same for billing: B's invoice and terms are "not found" to A.
Who benefits counts A's admin only A's people, a relay manager only their relays.
Guard tests fail when an identity endpoint, or a billing endpoint naming a
document or an organisation, is added without a cross-tenant case here."""
import pytest
import requests

from gateway.routes import ROUTES
from tests.e2e.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Client, assert_problem, corporate_account, relay_operator,
    seed_billable_usage, unique, wait_for,
)

# Not about any tenant's resources: they take a password or a one-time secret
# (single sign-on: an e-mail's domain, then the provider's answer; test_sso.py
# signs a user of another organisation with the same subject in, and fails).
NOT_TENANT_SCOPED = {"/v1/auth/token", "/v1/auth/refresh", "/v1/auth/logout",
                     "/v1/auth/password", "/v1/sso/discover", "/v1/sso/start",
                     "/v1/sso/callback", "/v1/residents/sign-up", "/v1/residents/verify",
                     "/v1/programme-enrolments"}


@pytest.fixture(scope="module")
def tenants(network):
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    world = {}
    for name in ("a", "b"):
        company, hr = corporate_account(admin, network, f"Entreprise {name.upper()}")
        member_email = f"{unique('salarie')}@example.org"
        member = hr.post(f"/v1/organisations/{company['id']}/users", json={
            "email": member_email, "full_name": f"Salarié {name}", "password": PASSWORD}).json()
        key = hr.post(f"/v1/organisations/{company['id']}/api-keys",
                      json={"name": "SIRH", "roles": ["corporate_admin"]}).json()
        scim_token = hr.post(f"/v1/organisations/{company['id']}/scim-tokens",
                             json={"name": "IdP"}).json()
        assert hr.put(f"/v1/organisations/{company['id']}/policy",
                      json={"max_days_per_month": 4}).status_code == 200
        assert hr.put(f"/v1/users/{member['id']}/profile",
                      json={"home_commune": "Guéret", "commute_mode": "car"}).status_code == 200
        group = requests.post(f"{network.gateway_url}/scim/v2/Groups", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Nomades {name.upper()}", "members": [{"value": member["id"]}]},
            headers={"Authorization": f"Bearer {scim_token['secret']}",
                     "Content-Type": "application/scim+json"}, timeout=10).json()
        assert hr.put(f"/v1/organisations/{company['id']}/groups/{group['id']}/policy",
                      json={"max_days_per_month": 2}).status_code == 200
        world[name] = {"company": company, "hr": hr, "member": member, "key": key,
                       "scim_token": scim_token, "member_email": member_email, "group": group}
        seed_billable_usage(network, company["id"], day="2025-09-15")
    ran = admin.post("/v1/billing-runs", json={"month": "2025-09"})
    assert ran.status_code == 200, ran.text
    for name in ("a", "b"):
        (invoice,) = admin.get("/v1/documents", params={
            "organisation_id": world[name]["company"]["id"]}).json()
        # billing learns the company's legal identity from identity's event
        assert wait_for(lambda: admin.post(f"/v1/documents/{invoice['id']}/finalize")
                        .status_code == 200)
        world[name]["invoice"] = invoice
    return world


def cases(b):
    """(method, path, body) for every identity endpoint, aimed at B."""
    org, user = b["company"]["id"], b["member"]["id"]
    return [
        ("GET", "/v1/organisations/{organisation_id}", f"/v1/organisations/{org}", None),
        ("GET", "/v1/organisations/{organisation_id}/policy", f"/v1/organisations/{org}/policy", None),
        ("PUT", "/v1/organisations/{organisation_id}/policy", f"/v1/organisations/{org}/policy",
         {"max_days_per_month": 31}),
        ("GET", "/v1/organisations/{organisation_id}/audit-log",
         f"/v1/organisations/{org}/audit-log", None),
        ("POST", "/v1/organisations/{organisation_id}/users", f"/v1/organisations/{org}/users",
         {"email": f"{unique('intrus')}@example.org", "full_name": "Intrus"}),
        ("GET", "/v1/organisations/{organisation_id}/users", f"/v1/organisations/{org}/users", None),
        ("POST", "/v1/organisations/{organisation_id}/users/import",
         f"/v1/organisations/{org}/users/import", "email,full_name\nx@example.org,X\n"),
        ("GET", "/v1/users/{user_id}", f"/v1/users/{user}", None),
        ("POST", "/v1/users/{user_id}/deactivate", f"/v1/users/{user}/deactivate", None),
        ("POST", "/v1/users/{user_id}/invitation", f"/v1/users/{user}/invitation", None),
        ("GET", "/v1/users/{user_id}/profile", f"/v1/users/{user}/profile", None),
        ("PUT", "/v1/users/{user_id}/profile", f"/v1/users/{user}/profile", {"commute_km": 1}),
        ("PUT", "/v1/users/{user_id}/locale", f"/v1/users/{user}/locale", {"locale": "en"}),
        ("POST", "/v1/organisations/{organisation_id}/api-keys",
         f"/v1/organisations/{org}/api-keys", {"name": "x", "roles": ["corporate_admin"]}),
        ("GET", "/v1/organisations/{organisation_id}/api-keys",
         f"/v1/organisations/{org}/api-keys", None),
        ("DELETE", "/v1/organisations/{organisation_id}/api-keys/{key_id}",
         f"/v1/organisations/{org}/api-keys/{b['key']['id']}", None),
        ("POST", "/v1/organisations/{organisation_id}/scim-tokens",
         f"/v1/organisations/{org}/scim-tokens", {"name": "x"}),
        ("GET", "/v1/organisations/{organisation_id}/scim-tokens",
         f"/v1/organisations/{org}/scim-tokens", None),
        ("DELETE", "/v1/organisations/{organisation_id}/scim-tokens/{token_id}",
         f"/v1/organisations/{org}/scim-tokens/{b['scim_token']['id']}", None),
        ("GET", "/v1/organisations/{organisation_id}/groups",
         f"/v1/organisations/{org}/groups", None),
        ("GET", "/v1/organisations/{organisation_id}/groups/{group_id}/policy",
         f"/v1/organisations/{org}/groups/{b['group']['id']}/policy", None),
        ("PUT", "/v1/organisations/{organisation_id}/groups/{group_id}/policy",
         f"/v1/organisations/{org}/groups/{b['group']['id']}/policy", {"max_days_per_month": 31}),
        ("DELETE", "/v1/organisations/{organisation_id}/groups/{group_id}/policy",
         f"/v1/organisations/{org}/groups/{b['group']['id']}/policy", None),
        ("GET", "/v1/organisations/{organisation_id}/sso", f"/v1/organisations/{org}/sso", None),
        ("PUT", "/v1/organisations/{organisation_id}/sso", f"/v1/organisations/{org}/sso",
         {"issuer": "https://login.intrus.example", "client_id": "intrus",
          "client_secret": "intrus", "domains": ["intrus.example"]}),
        ("DELETE", "/v1/organisations/{organisation_id}/sso", f"/v1/organisations/{org}/sso",
         None),
    ] + billing_cases(b)


def billing_cases(b):
    org, invoice = b["company"]["id"], b["invoice"]["id"]
    return [
        ("GET", "/v1/documents/{document_id}", f"/v1/documents/{invoice}", None),
        ("GET", "/v1/documents/{document_id}/lines.csv", f"/v1/documents/{invoice}/lines.csv",
         None),
        ("GET", "/v1/documents/{document_id}/factur-x.pdf",
         f"/v1/documents/{invoice}/factur-x.pdf", None),
        ("GET", "/v1/documents/{document_id}/factur-x.xml",
         f"/v1/documents/{invoice}/factur-x.xml", None),
        ("POST", "/v1/documents/{document_id}/finalize", f"/v1/documents/{invoice}/finalize",
         None),
        ("POST", "/v1/documents/{document_id}/credit-notes",
         f"/v1/documents/{invoice}/credit-notes", {"reason": "intrusion"}),
        ("POST", "/v1/documents/{document_id}/payments", f"/v1/documents/{invoice}/payments",
         {"amount_cents": 1, "paid_on": "2025-10-01"}),
        ("POST", "/v1/documents/{document_id}/review", f"/v1/documents/{invoice}/review",
         {"decision": "contested", "reason": "intrusion"}),
        ("POST", "/v1/documents/{document_id}/resolve", f"/v1/documents/{invoice}/resolve",
         {"resolution": "upheld"}),
        ("GET", "/v1/organisations/{organisation_id}/contracts",
         f"/v1/organisations/{org}/contracts", None),
        ("POST", "/v1/organisations/{organisation_id}/contracts",
         f"/v1/organisations/{org}/contracts", {"discount_bp": 9000, "valid_from": "2025-01-01"}),
        ("GET", "/v1/organisations/{organisation_id}/commissions",
         f"/v1/organisations/{org}/commissions", None),
        ("POST", "/v1/organisations/{organisation_id}/commissions",
         f"/v1/organisations/{org}/commissions", {"commission_bp": 1, "valid_from": "2025-01-01"}),
    ]


def send(client, method, path, body):
    if isinstance(body, str):
        return client.request(method, path, data=body.encode(), headers={"Content-Type": "text/csv"})
    return client.request(method, path, json=body) if body is not None else \
        client.request(method, path)


def test_every_identity_endpoint_has_a_cross_tenant_case(tenants, programmes):
    covered = {(method, template) for method, template, _, _ in cases(tenants["b"])} | {
        (method, template) for method, template, _, _ in programme_cases(programmes["b"])}
    identity_routes = {(route.method, route.path) for route in ROUTES
                       if route.service == "identity" and route.path not in NOT_TENANT_SCOPED}
    # The list of organisations: test_lists_show_only_ones_own; creating one:
    # test_only_network_admins_create_organisations.
    assert identity_routes - covered == {("GET", "/v1/organisations"),
                                         ("POST", "/v1/organisations")}


def test_every_billing_endpoint_naming_a_document_or_an_organisation_has_a_case(tenants):
    covered = {(method, template) for method, template, _, _ in cases(tenants["b"])}
    scoped = {(route.method, route.path) for route in ROUTES if route.service == "billing"
              and ("{document_id}" in route.path or "{organisation_id}" in route.path)}
    assert scoped - covered == set()


@pytest.mark.parametrize("credential", ["access_token", "api_key"])
def test_a_corporate_admin_of_a_finds_nothing_of_b(network, tenants, credential):
    a, b = tenants["a"], tenants["b"]
    client = a["hr"] if credential == "access_token" else \
        Client(network.gateway_url).bearer(a["key"]["secret"])
    for method, template, path, body in cases(b):
        response = send(client, method, path, body)
        assert response.status_code == 404, (method, template, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["type"].endswith("/not-found"), (method, template)
        assert b["member_email"] not in response.text and b["company"]["name"] not in response.text


def test_only_network_admins_create_organisations(tenants):
    refused = tenants["a"]["hr"].post("/v1/organisations", json={"kind": "individual",
                                                               "name": "Filiale"})
    assert_problem(refused, 403, "forbidden")


def test_a_key_of_b_is_not_found_under_a(tenants):
    a, b = tenants["a"], tenants["b"]
    org = a["company"]["id"]
    assert_problem(a["hr"].delete(f"/v1/organisations/{org}/api-keys/{b['key']['id']}"),
                   404, "not-found")
    assert_problem(a["hr"].delete(f"/v1/organisations/{org}/scim-tokens/{b['scim_token']['id']}"),
                   404, "not-found")


def test_a_member_of_a_finds_nothing_of_b_either(network, tenants):
    a, b = tenants["a"], tenants["b"]
    member = Client(network.gateway_url).login(a["member_email"], PASSWORD)
    for method, template, path, body in cases(b):
        # 403 where the route needs a role the member lacks (refused before the
        # path is looked at), 404 elsewhere: nothing of B either way.
        response = send(member, method, path, body)
        assert response.status_code in (403, 404), (method, template)
        assert b["member_email"] not in response.text and b["company"]["name"] not in response.text


def test_lists_show_only_ones_own(tenants):
    a, b = tenants["a"], tenants["b"]
    assert [o["id"] for o in a["hr"].get("/v1/organisations").json()] == [a["company"]["id"]]
    users = a["hr"].get(f"/v1/organisations/{a['company']['id']}/users").json()
    assert {u["organisation_id"] for u in users} == {a["company"]["id"]}
    found = a["hr"].get(f"/v1/organisations/{a['company']['id']}/users",
                        params={"email": b["member_email"]}).json()
    assert found == []
    audit = a["hr"].get(f"/v1/organisations/{a['company']['id']}/audit-log").json()
    assert {e["organisation_id"] for e in audit} == {a["company"]["id"]}
    documents = a["hr"].get("/v1/documents").json()
    assert [d["id"] for d in documents] == [a["invoice"]["id"]]


def test_a_scim_token_of_a_finds_nothing_of_b(network, tenants):
    a, b = tenants["a"], tenants["b"]
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {a['scim_token']['secret']}",
                            "Content-Type": "application/scim+json"})
    base = f"{network.gateway_url}/scim/v2/Users"
    target = f"{base}/{b['member']['id']}"
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": b["member_email"], "active": False}
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "active", "value": False}]}
    for method, body in (("GET", None), ("PUT", user), ("PATCH", patch), ("DELETE", None)):
        response = session.request(method, target, json=body, timeout=10)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["status"] == "404" and b["member_email"] not in response.text
    listed = session.get(base, params={"filter": f'userName eq "{b["member_email"]}"'},
                         timeout=10).json()
    assert listed["totalResults"] == 0 and listed["Resources"] == []
    everyone = session.get(base, timeout=10).json()
    assert b["member"]["id"] not in str(everyone) and everyone["totalResults"] == 2
    group = f"{network.gateway_url}/scim/v2/Groups/{b['group']['id']}"
    rename = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "replace", "path": "displayName", "value": "Intrus"}]}
    for method, body in (("GET", None), ("PATCH", rename), ("DELETE", None)):
        assert session.request(method, group, json=body, timeout=10).status_code == 404, method
    groups = session.get(f"{network.gateway_url}/scim/v2/Groups", timeout=10).json()
    assert [g["id"] for g in groups["Resources"]] == [a["group"]["id"]]


def test_b_is_unchanged_after_all_of_that(network, tenants):
    b = tenants["b"]
    member = b["hr"].get(f"/v1/users/{b['member']['id']}").json()
    assert (member["active"], member["locale"]) == (True, "fr")
    assert b["hr"].get(f"/v1/organisations/{b['company']['id']}/policy").json()[
        "max_days_per_month"] == 4
    profile = b["hr"].get(f"/v1/users/{b['member']['id']}/profile").json()
    assert profile["commute_km"] is None and profile["home_commune"] == "Guéret"
    keys = b["hr"].get(f"/v1/organisations/{b['company']['id']}/api-keys").json()
    assert [k["revoked_at"] for k in keys] == [None]
    users = b["hr"].get(f"/v1/organisations/{b['company']['id']}/users").json()
    assert len(users) == 2  # its admin and its member: no intruder was added
    invoice = b["hr"].get(f"/v1/documents/{b['invoice']['id']}").json()
    assert (invoice["status"], invoice["payments"], invoice["balance_cents"]) == (
        "final", [], invoice["total_gross_cents"])
    assert b["hr"].get(f"/v1/organisations/{b['company']['id']}/contracts").json() == []
    Client(network.gateway_url).login(b["member_email"], PASSWORD)


# -- programmes: a programme admin of A finds nothing of programme B ------------------

@pytest.fixture(scope="module")
def programmes(network):
    """Two programmes, each with its admin and a resident enrolled by e-mail."""
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    world = {}
    for name in ("a", "b"):
        programme = admin.post("/v1/organisations", json={
            "kind": "programme", "name": f"Programme {name.upper()}",
            "legal_name": f"Programme {name.upper()}", "siret": "22230001400019",
            "billing_email": f"compta-{name}@example.org"}).json()
        email = f"{unique('coordination')}@example.org"
        assert admin.post(f"/v1/organisations/{programme['id']}/users", json={
            "email": email, "full_name": "Coordination", "roles": ["programme_admin"],
            "password": PASSWORD}).status_code == 201
        coordinator = Client(network.gateway_url).login(email, PASSWORD)
        resident_email = f"{unique('habitant')}@example.org"
        enrolment = coordinator.post(f"/v1/organisations/{programme['id']}/enrolments",
                                     json={"email": resident_email}).json()
        assert coordinator.put(f"/v1/organisations/{programme['id']}/programme",
                               json={"max_hours_per_month": 8}).status_code == 200
        world[name] = {"programme": programme, "admin": coordinator, "enrolment": enrolment,
                       "resident_email": resident_email}
    return world


def programme_cases(b):
    """(method, path, body) for every programme endpoint, aimed at programme B."""
    org, enrolment = b["programme"]["id"], b["enrolment"]["id"]
    return [
        ("GET", "/v1/organisations/{organisation_id}/programme",
         f"/v1/organisations/{org}/programme", None),
        ("PUT", "/v1/organisations/{organisation_id}/programme",
         f"/v1/organisations/{org}/programme", {"max_hours_per_month": 700}),
        ("POST", "/v1/organisations/{organisation_id}/programme/code",
         f"/v1/organisations/{org}/programme/code", None),
        ("POST", "/v1/organisations/{organisation_id}/enrolments",
         f"/v1/organisations/{org}/enrolments", {"email": "intrus@example.org"}),
        ("GET", "/v1/organisations/{organisation_id}/enrolments",
         f"/v1/organisations/{org}/enrolments", None),
        ("POST", "/v1/organisations/{organisation_id}/enrolments/{enrolment_id}/end",
         f"/v1/organisations/{org}/enrolments/{enrolment}/end", None),
    ]


def test_a_programme_admin_of_a_finds_nothing_of_programme_b(programmes):
    a, b = programmes["a"], programmes["b"]
    for method, template, path, body in programme_cases(b):
        response = send(a["admin"], method, path, body)
        assert response.status_code == 404, (method, template, response.text)
        assert b["resident_email"] not in response.text
    mine = a["admin"].get(f"/v1/organisations/{a['programme']['id']}/enrolments").json()
    assert [e["email"] for e in mine] == [a["resident_email"]]
    theirs = b["admin"].get(f"/v1/organisations/{b['programme']['id']}/enrolments").json()
    assert [(e["email"], e["ended_at"]) for e in theirs] == [(b["resident_email"], None)]
    assert b["admin"].get(f"/v1/organisations/{b['programme']['id']}/programme").json()[
        "max_hours_per_month"] == 8
    # Naming B's programme in its use report reads A's own, never B's.
    usage = a["admin"].get("/v1/programme-usage", params={
        "month": "2026-12", "programme_id": b["programme"]["id"]}).json()
    assert usage["programme_id"] == a["programme"]["id"]


def test_a_company_admin_cannot_run_a_programme(tenants, programmes):
    """The programme routes that write need a programme admin (403 before the
    body is read); those that read are "not found" to a company's admin."""
    for method, template, path, body in programme_cases(programmes["b"]):
        response = send(tenants["a"]["hr"], method, path, body)
        assert response.status_code in (403, 404), (method, template)
        assert programmes["b"]["resident_email"] not in response.text


def completed_visits(network, relay, organisation_id, people):
    """Completed desk bookings of ``people`` new members of an organisation, one
    a day from 1 September 2025, written straight into booking's database:
    bookings are never made in the past."""
    import uuid

    from sqlalchemy import create_engine, text
    engine = create_engine(network.database_url("booking"))
    with engine.begin() as conn:
        space_id = conn.execute(text("SELECT id FROM spaces WHERE relay_id = :relay"),
                                {"relay": relay["id"]}).scalar_one()
        for number in range(people):
            conn.execute(text(
                "INSERT INTO bookings (id, space_id, relay_id, member_id, organisation_id, date, "
                "slot, starts_at, ends_at, status) VALUES (gen_random_uuid(), :space, :relay, "
                ":member, :org, :day, 'morning', CAST(:day AS date) + time '07:00' AT TIME ZONE 'UTC', "
                "CAST(:day AS date) + time '11:00' AT TIME ZONE 'UTC', "
                "'completed')"), {"space": space_id, "relay": relay["id"], "org": organisation_id,
                                  "member": str(uuid.uuid4()), "day": f"2025-09-{number + 1:02d}"})
    engine.dispose()


def test_who_benefits_shows_a_company_its_own_and_a_manager_their_relays(network):
    """Company A's admin never sees company B's people, a relay manager never
    another operator's relay; the public export names neither company."""
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    relays = {}
    for name in ("a", "b"):
        relay = admin.post("/v1/relays", json={
            "name": unique(f"Relais {name.upper()}"), "address": "1 place du Marché",
            "postcode": "23200", "commune": "Aubusson", "latitude": 45.95, "longitude": 2.17,
            "timezone": "Europe/Paris"}).json()
        assert admin.post(f"/v1/relays/{relay['id']}/spaces",
                          json={"kind": "desk", "name": "B1"}).status_code == 201
        company, hr = corporate_account(admin, network, f"Entreprise {name.upper()}")
        completed_visits(network, relay, company["id"], people=5)
        relays[name] = {"relay": relay, "company": company, "hr": hr,
                        "manager": relay_operator(admin, network, relay["id"])}
    month = {"month": "2025-09"}
    for name, other in (("a", "b"), ("b", "a")):
        mine, theirs = relays[name], relays[other]
        for client in (mine["hr"], mine["manager"]):
            response = client.get("/v1/impact/who-benefits", params=month)
            assert response.status_code == 200, response.text
            rows = response.json()["rows"]
            assert {row["relay_name"] for row in rows} == {mine["relay"]["name"]}
            (everyone,) = [row for row in rows if row["audience"] == "all"]
            assert everyone["people"] == 5
            as_csv = client.get("/v1/impact/who-benefits.csv", params=month).text
            assert theirs["relay"]["name"] not in as_csv
    public = requests.get(f"{network.gateway_url}/v1/open-data/relay-use.csv", params=month,
                          timeout=10).text
    for name in ("a", "b"):
        assert relays[name]["relay"]["name"] in public
        assert relays[name]["company"]["id"] not in public
        assert relays[name]["company"]["name"] not in public
