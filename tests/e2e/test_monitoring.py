"""A real Prometheus (Debian's binary, started with the test network) scrapes
every component, the broker and PostgreSQL's exporter; every dashboard query
and every alert rule is evaluated through its HTTP API. Each must parse and
return data: a renamed metric or label breaks the build, not the night shift."""
import re
from pathlib import Path

import pytest
import requests
import yaml

from devtools import dashboards
from tests.e2e.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, Client, corporate_account, new_member, next_weekday, unique,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
JOBS = ("gateway", "identity", "booking", "billing", "notify", "rabbitmq", "rabbitmq-queues",
        "postgres")
ALWAYS_OPEN = {day: {"morning": {"opens": "00:00", "closes": "12:00"},
                     "afternoon": {"opens": "12:00", "closes": "23:30"}}
               for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                           "sunday")}
# A metric selector: a name the components, the broker or the exporter expose,
# with its label matchers if any.
SELECTOR = re.compile(r"\b((?:relais|rabbitmq|pg)_[a-z_]+|up|ALERTS)\b(\{[^}]*\})?")


def query(network, expr):
    response = requests.get(f"{network.prometheus_url}/api/v1/query",
                            params={"query": expr}, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def dashboard_queries():
    """Every dashboard query as Grafana runs it: its variables as saved ("All")."""
    for stem, title, ref, expr in dashboards.queries():
        yield pytest.param(expr, id=f"{stem}: {title} {ref}")


def alert_rules():
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield pytest.param(rule["expr"], id=rule.get("alert") or rule.get("record"))


@pytest.fixture(scope="module")
def scraped(network):
    """Some of everything to measure: a relay open round the clock (so today
    has an occupancy whatever the day), a booking, a refusal and a
    cancellation; then wait until Prometheus has scraped it all a few times.
    Prometheus runs for this module only."""
    network.start_monitoring()
    try:
        yield measured(network)
    finally:
        network.stop_monitoring()


def measured(network):
    admin = Client(network.gateway_url).login(ADMIN_EMAIL, ADMIN_PASSWORD)
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais de Royère"), "address": "1 place de l'Église", "postcode": "23460",
        "commune": "Royère-de-Vassivière", "latitude": 45.84, "longitude": 1.91,
        "timezone": "Europe/Paris", "opening_hours": ALWAYS_OPEN,
        "closed_on_public_holidays": False})
    assert relay.status_code == 201, relay.text
    relay_id = relay.json()["id"]
    desk = admin.post(f"/v1/relays/{relay_id}/spaces", json={"kind": "desk", "name": "A1"})
    assert desk.status_code == 201, desk.text
    company, _ = corporate_account(admin, network, "Mutuelle")
    _, member = new_member(admin, network, company["id"], "mutuelle.example")
    day = next_weekday(5)
    booking = {"space_id": desk.json()["id"], "date": day, "slot": "morning"}
    assert member.post("/v1/bookings", json=booking).status_code == 201
    assert member.post("/v1/bookings", json=booking).status_code == 409
    dropped = member.post("/v1/bookings", json=dict(booking, slot="afternoon"))
    assert dropped.status_code == 201, dropped.text
    assert member.post(f"/v1/bookings/{dropped.json()['id']}/cancel").status_code == 200
    # rate() and increase() need two samples after the change: scraped every
    # second, the cancellation seen 3 s ago gives three.
    cancelled = f'relais_relay_bookings_total{{relay="{relay_id}", event="cancelled"}}'
    assert wait_for(lambda: query(network, f"{cancelled} offset 3s > 0"), timeout=60), \
        "Prometheus did not see the cancellation"
    assert wait_for(lambda: all(query(network, f'count_over_time(up{{job="{job}"}}[1m]) >= 3 '
                                               f'and up{{job="{job}"}} == 1') for job in JOBS),
                    timeout=60), "Prometheus did not scrape every job"
    return network


def test_prometheus_scrapes_every_component_the_broker_and_postgres(scraped):
    up = {sample["metric"]["job"]: sample["value"][1] for sample in query(scraped, "up")}
    assert {job: up.get(job) for job in JOBS} == {job: "1" for job in JOBS}


def test_the_rules_are_loaded(scraped):
    groups = requests.get(f"{scraped.prometheus_url}/api/v1/rules", timeout=10).json()
    loaded = {rule["name"] for group in groups["data"]["groups"] for rule in group["rules"]}
    expected = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"]
                for rule in group["rules"]}
    assert expected <= loaded


@pytest.mark.parametrize("expr", dashboard_queries())
def test_every_dashboard_query_returns_data(scraped, expr):
    assert query(scraped, expr), f"no data for {expr}"


@pytest.mark.parametrize("expr", alert_rules())
def test_every_alert_query_parses_and_its_metrics_exist(scraped, expr):
    """A healthy network fires no alert, so the whole expression may be empty;
    each metric it reads must exist, and carry the labels it matches on."""
    query(scraped, expr)
    for name, matchers in SELECTOR.findall(expr):
        if name == "ALERTS":
            continue
        if query(scraped, f"count({name}{matchers})"):
            continue
        labels = re.findall(r"([a-z_]+)\s*=~?", matchers)
        found = query(scraped, f"count by ({', '.join(labels)}) ({name})")
        assert found, f"{name} is not exposed (read by: {expr})"
        assert all(label in sample["metric"] for sample in found for label in labels), \
            f"{name} has no label among {labels}"
