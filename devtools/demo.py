"""A little demo data, created through the public API like any client would.
Every POST carries an Idempotency-Key, so running it again changes nothing."""
import time
from datetime import date, timedelta

import holidays
import requests

DEMO_PASSWORD = "demo-password-2026"


class Api:
    """A small client of the public API (the demo data and the benchmarks use it)."""

    def __init__(self, base_url, token=None, timeout=10):
        self.base_url = base_url
        self.timeout = timeout
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def token(self, email, password):
        return self.post("/v1/auth/token", {"email": email, "password": password})["access_token"]

    def login(self, email, password):
        self.http.headers["Authorization"] = f"Bearer {self.token(email, password)}"

    def post(self, path, body, key=None):
        headers = {"Idempotency-Key": key} if key else {}
        response = self.http.post(self.base_url + path, json=body, headers=headers,
                                  timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def post_when_known(self, path, body, key, timeout=30):
        """POST to a service that learns of the resource by an event (billing
        hears of a new relay from booking): retry its 404 for a while."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.post(path, body, key)
            except RuntimeError as exc:
                if " 404 " not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def next_weekday(today):
    """The next weekday the demo relay (in the Creuse) is open. A client of the
    API, the demo knows metropolitan France's public holidays from the library,
    not from booking's code."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5 or day in holidays.France(years=day.year):
        day += timedelta(days=1)
    return day


def seed(base_url, admin_email, admin_password):
    api = Api(base_url)
    api.login(admin_email, admin_password)
    relay = api.post("/v1/relays", {
        "name": "Relais de Guéret", "address": "2 place Bonnyaud", "postcode": "23000",
        "commune": "Guéret", "latitude": 46.1714, "longitude": 1.8717,
        "timezone": "Europe/Paris"}, key="demo-relay-gueret")
    desks = [api.post(f"/v1/relays/{relay['id']}/spaces", {"kind": "desk", "name": name},
                      key=f"demo-desk-{name}") for name in ("Bureau 1", "Bureau 2")]
    api.post(f"/v1/relays/{relay['id']}/spaces",
             {"kind": "meeting_room", "name": "Salle Creuse", "capacity": 8},
             key="demo-room-creuse")
    api.post_when_known(f"/v1/relays/{relay['id']}/rate-cards", {
        "space_kind": "desk", "half_day_price_cents": 1250, "vat_rate_bp": 2000,
        "valid_from": "2026-01-01"}, key="demo-rate-desk")
    company = api.post("/v1/organisations", {
        "kind": "corporate", "name": "Mutuelle Exemple (démo)",
        "legal_name": "Mutuelle Exemple SA", "siret": "12345678900012",
        "vat_number": "FR12123456789", "billing_email": "factures@mutuelle.example",
        "billing_address": "1 rue de la Démo, 75009 Paris"}, key="demo-company")
    employee = api.post(f"/v1/organisations/{company['id']}/users", {
        "email": "camille.nomade@mutuelle.example", "full_name": "Camille Nomade",
        "roles": ["member"], "password": DEMO_PASSWORD}, key="demo-employee")
    member = Api(base_url)
    member.login(employee["email"], DEMO_PASSWORD)
    booking = member.post("/v1/bookings", {
        "space_id": desks[0]["id"], "date": next_weekday(date.today()).isoformat(),
        "slot": "morning"}, key="demo-booking")
    return {"relay": relay, "company": company, "employee": employee, "booking": booking}
