"""End-to-end tests: the whole network as ``scripts/run`` starts it (gunicorn
gateway, four service processes, SMTP sink), on throw-away databases and a
throw-away RabbitMQ vhost, driven over HTTP only."""
import os
import uuid

import pytest
import requests

from devtools import dates
from devtools.api_client import (  # noqa: F401 (the tests import them from here)
    PASSWORD, Client, new_member, unique,
)
from devtools.network import Network
from tests.polling import wait_for  # noqa: F401 (the tests import it from here)

ADMIN_EMAIL = "admin@e2e.example"
ADMIN_PASSWORD = "e2e-admin-password"


@pytest.fixture(scope="session")
def network(tmp_path_factory):
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))  # see tests/integration/conftest.py
    base = 28000 + 100 * slot
    network = Network(
        name=f"relais_e2e{slot or ''}", vhost=f"relais_e2e{slot or ''}", gateway_port=base + 80,
        service_port_base=base, smtp_port=base + 25, mail_web_port=base + 26,
        web_port=base + 90,
        # map tiles from a closed local port: no traffic leaves the machine, and
        # the pages must still list the relays without them
        web_env={"RELAIS_WEB_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"},
        var_dir=tmp_path_factory.mktemp("network"),
        admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
        gunicorn_workers=2, gunicorn_threads=4,
        # A real Prometheus on the test network, started by the tests that
        # need it (tests/e2e/test_monitoring.py).
        prometheus_port=base + 91, prometheus_scrape_interval="1s",
        postgres_exporter_port=base + 87, monitoring_on_start=False,
        extra_env={"RELAIS_RPC_TIMEOUT_SECONDS": "2", "RELAIS_RETRY_DELAYS_MS": "100,300,1000",
                   # booking's own waits for billing and identity stay within the
                   # gateway's, as in production (3 s within 5 s)
                   "RELAIS_BOOKING_QUOTE_TIMEOUT_SECONDS": "1",
                   "RELAIS_BOOKING_IDENTITY_TIMEOUT_SECONDS": "1",
                   # revoked API keys must stop working within a test's patience
                   "RELAIS_SECRET_CACHE_SECONDS": "1",
                   # notify's day-before mails follow the real clock (an evening run
                   # would add a reminder to a test's mails): integration tests
                   # drive them with an injected clock instead
                   "RELAIS_DAILY_MAILS": "0",
                   # drafts of long-past months stay drafts until a test finalizes them
                   "RELAIS_BILLING_GRACE_DAYS": "36500",
                   # this run's own attempt limits in the machine's Redis
                   "RELAIS_LIMITS_PREFIX": f"relais:e2e{slot}:{uuid.uuid4().hex}:",
                   # tests play several clients with X-Forwarded-For (one proxy hop)
                   "RELAIS_TRUSTED_PROXY_HOPS": "1",
                   # the test OpenID Provider listens on loopback, over http
                   # (tests/e2e/test_sso.py), and rotates its keys within a test
                   "RELAIS_SSO_ALLOW_LOOPBACK": "1", "RELAIS_SSO_JWKS_REFETCH_SECONDS": "1"},
    )
    with network.fresh():
        yield network


@pytest.fixture
def admin(network):
    return Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def anonymous(network):
    return Client(network.gateway_url)


def next_weekday(days_ahead=1):
    """An open weekday (no weekend, no public holiday) at least ``days_ahead``
    days from today in Paris, by the rule of devtools/dates.py."""
    return dates.open_day(days_ahead).isoformat()




def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/" + code), body
    assert body["status"] == status
    assert body["detail"]
    return body


@pytest.fixture
def relay_company_employee(admin, network):
    """Steps 1 to 3: a relay with a desk, a company with an employee, a rate card."""
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais d'Aubusson"), "address": "5 rue Vieille", "postcode": "23200",
        "commune": "Aubusson", "latitude": 45.956, "longitude": 2.168,
        "timezone": "Europe/Paris"})
    assert relay.status_code == 201, relay.text
    relay = relay.json()
    desk = admin.post(f"/v1/relays/{relay['id']}/spaces", json={"kind": "desk", "name": "B1"})
    assert desk.status_code == 201, desk.text
    company = admin.post("/v1/organisations", json={
        "kind": "corporate", "name": unique("Assureur"), "legal_name": "Assureur SA",
        "siret": "55208131766522", "billing_email": "compta@assureur.example"})
    assert company.status_code == 201, company.text
    employee, member = new_member(admin, network, company.json()["id"], "assureur.example")
    rate_card = admin.post(f"/v1/relays/{relay['id']}/rate-cards", json={
        "space_kind": "desk", "half_day_price_cents": 1490, "valid_from": "2026-01-01"})
    assert rate_card.status_code == 201, rate_card.text
    assert rate_card.json()["vat_rate_bp"] == 2000
    return relay, desk.json(), employee, member


def relay_operator(admin, network, relay_id):
    """A relay operator's manager of ``relay_id``, logged in."""
    operator = admin.post("/v1/organisations", json={
        "kind": "relay_operator", "name": unique("Tiers-lieu"), "legal_name": "Tiers-lieu SCIC",
        "siret": "55208131766522", "billing_email": "compta@tiers-lieu.example"})
    assert operator.status_code == 201, operator.text
    email = f"{unique('gerant')}@tiers-lieu.example"
    manager = admin.post(f"/v1/organisations/{operator.json()['id']}/users", json={
        "email": email, "full_name": "Claude Gérant", "roles": ["relay_manager"],
        "relay_ids": [relay_id], "password": PASSWORD})
    assert manager.status_code == 201, manager.text
    return Client(network.gateway_url).login(email, PASSWORD)


def mails_to(network, address):
    messages = requests.get(f"{network.mail_url}/api/messages", timeout=5).json()
    return [message for message in messages if message["to"] == address]


def corporate_account(admin, network, label="Assureur"):
    """A corporate account with its corporate admin logged in."""
    company = admin.post("/v1/organisations", json={
        "kind": "corporate", "name": unique(label), "legal_name": f"{label} SA",
        "siret": "55208131766522", "billing_email": "compta@example.org",
        "billing_address": "17 boulevard Haussmann, 75009 Paris"})
    assert company.status_code == 201, company.text
    company = company.json()
    email = f"{unique('rh')}@example.org"
    created = admin.post(f"/v1/organisations/{company['id']}/users", json={
        "email": email, "full_name": f"RH {label}", "roles": ["corporate_admin"],
        "password": PASSWORD})
    assert created.status_code == 201, created.text
    return company, Client(network.gateway_url).login(email, PASSWORD)


def seed_billable_usage(network, organisation_id, day="2025-10-06", cents=2200, lines=1,
                        relay_id=None):
    """Priced usage lines in a month long over, written straight into billing's
    database: bookings are never in the past, and invoices are for past months.
    At a relay billing knows (``relay_id``), else at a new one."""
    from sqlalchemy import create_engine, text
    engine = create_engine(network.database_url("billing"))
    with engine.begin() as conn:
        if relay_id is None:
            relay_id = str(uuid.uuid4())
            conn.execute(text("INSERT INTO known_relays (relay_id, name, timezone) VALUES "
                              "(:relay, 'Relais des tests', 'Europe/Paris')"), {"relay": relay_id})
        for _ in range(lines):
            conn.execute(text(
                "INSERT INTO usage_lines (id, booking_id, relay_id, organisation_id, member_id, "
                "space_kind, date, slot, half_days, status, unit, quantity, unit_price_cents, "
                "vat_rate_bp, amount_excl_vat_cents, vat_cents, amount_incl_vat_cents) VALUES ("
                "gen_random_uuid(), gen_random_uuid(), :relay, :org, gen_random_uuid(), 'desk', "
                ":day, 'day', 2, 'priced', 'day', 1, :cents, 2000, :cents, :vat, :total)"),
                {"relay": relay_id, "org": organisation_id, "day": day, "cents": cents,
                 "vat": cents // 5, "total": cents + cents // 5})
    engine.dispose()
    return relay_id


# SCIM as a corporate account's identity provider calls it (security tests).
def scim_client(admin, network):
    company, hr = corporate_account(admin, network)
    token = hr.post(f"/v1/organisations/{company['id']}/scim-tokens", json={"name": "IdP"})
    assert token.status_code == 201, token.text
    return Client(network.gateway_url).bearer(token.json()["secret"])


def assert_scim_error(response, status, scim_type):
    assert response.status_code == status, response.text
    assert response.json()["scimType"] == scim_type, response.text
