"""A little demo data, created through the public API like any client would.
Every POST carries an Idempotency-Key, so running it again changes nothing."""
import time
import uuid
from datetime import date, timedelta

import holidays
import requests
from sqlalchemy import text

from common.db import make_engine

DEMO_PASSWORD = "demo-password-2026"
DEMO_BUDGET_CENTS = 5000


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

    def get(self, path, **params):
        response = self.http.get(self.base_url + path, params=params, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def put(self, path, body):
        response = self.http.put(self.base_url + path, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"PUT {path}: {response.status_code} {response.text[:300]}")
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


def seed(base_url, admin_email, admin_password, billing_database_url=None):
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
    # A tele-consultation booth: README's resident books it under the programme.
    api.post(f"/v1/relays/{relay['id']}/spaces",
             {"kind": "teleconsultation_booth", "name": "Cabine Santé", "features": ["camera"]},
             key="demo-booth-sante")
    api.post_when_known(f"/v1/relays/{relay['id']}/rate-cards", {
        "space_kind": "desk", "half_day_price_cents": 1250, "vat_rate_bp": 2000,
        "valid_from": "2026-01-01"}, key="demo-rate-desk")
    company = api.post("/v1/organisations", {
        "kind": "corporate", "name": "Mutuelle Exemple (démo)",
        "legal_name": "Mutuelle Exemple SA", "siret": "12345678900012",
        "vat_number": "FR12123456789", "billing_email": "factures@mutuelle.example",
        "billing_address": "1 rue de la Démo, 75009 Paris"}, key="demo-company")
    # A monthly budget (excl. VAT, shared by the company's members): four
    # half-days at 12.50 €; booking asks billing the price and refuses the fifth.
    api.put(f"/v1/organisations/{company['id']}/policy",
            {"monthly_budget_cents": DEMO_BUDGET_CENTS})
    employee = api.post(f"/v1/organisations/{company['id']}/users", {
        "email": "camille.nomade@mutuelle.example", "full_name": "Camille Nomade",
        "roles": ["member"], "password": DEMO_PASSWORD}, key="demo-employee")
    member = Api(base_url)
    member.login(employee["email"], DEMO_PASSWORD)
    member.put(f"/v1/users/{employee['id']}/profile", {
        "home_commune": "Saint-Vaury", "home_latitude": 46.2036, "home_longitude": 1.7561,
        "usual_office": "Limoges", "commute_km": 85, "commute_mode": "car"})
    # Someone for the relay manager's web pages.
    operator = api.post("/v1/organisations", {
        "kind": "relay_operator", "name": "Association du Relais de Guéret"},
        key="demo-operator")
    manager = api.post(f"/v1/organisations/{operator['id']}/users", {
        "email": "accueil@relais-gueret.example", "full_name": "Sacha Accueil",
        "roles": ["relay_manager"], "relay_ids": [relay["id"]], "password": DEMO_PASSWORD},
        key="demo-manager")
    booking = member.post("/v1/bookings", {
        "space_id": desks[0]["id"], "date": next_weekday(date.today()).isoformat(),
        "slot": "morning"}, key="demo-booking")
    hr = api.post(f"/v1/organisations/{company['id']}/users", {
        "email": "rh@mutuelle.example", "full_name": "Dominique RH",
        "roles": ["corporate_admin"], "password": DEMO_PASSWORD}, key="demo-corporate-admin")
    programme, coordinator, resident = seed_programme(api, base_url)
    seeded = {"relay": relay, "company": company, "employee": employee, "booking": booking,
              "manager": manager, "corporate_admin": hr, "programme": programme,
              "programme_admin": coordinator, "resident": resident}
    if billing_database_url:
        seeded["invoice"] = seed_invoice(api, billing_database_url, seeded, date.today())
    return seeded


def seed_programme(api, base_url):
    """A funded programme and its coordinator, and a resident of the Creuse
    not enrolled yet: README's "Residents and programmes, by hand" enrols her.
    The resident's individual account is made as a verified sign-up makes it
    (an individual organisation, one member, her postcode in her profile):
    the demo reads no mailbox."""
    programme = api.post("/v1/organisations", {
        "kind": "programme", "name": "Santé Creuse (démo)",
        "legal_name": "Département de la Creuse", "siret": "22230001400019",
        "billing_email": "programmes@creuse.example",
        "billing_address": "4 place Louis Lacrocq, 23000 Guéret"}, key="demo-programme")
    coordinator = api.post(f"/v1/organisations/{programme['id']}/users", {
        "email": "coordination@sante-creuse.example", "full_name": "Noa Coordination",
        "roles": ["programme_admin"], "password": DEMO_PASSWORD}, key="demo-programme-admin")
    account = api.post("/v1/organisations", {"kind": "individual", "name": "Alix Habitante"},
                       key="demo-resident-account")
    resident = api.post(f"/v1/organisations/{account['id']}/users", {
        "email": "alix.habitante@exemple.fr", "full_name": "Alix Habitante",
        "roles": ["member"], "password": DEMO_PASSWORD}, key="demo-resident")
    alix = Api(base_url)
    alix.login(resident["email"], DEMO_PASSWORD)
    alix.put(f"/v1/users/{resident['id']}/profile",
             {"home_commune": "Aubusson", "home_postcode": "23200"})
    return programme, coordinator, resident


def seed_invoice(api, billing_database_url, seeded, today):
    """Last month's desk days of the demo employee, then a network admin's
    month run and finalization: a final invoice to look at. Bookings are never
    in the past, so the month's usage lines are written into billing's
    database directly (once: their booking ids are derived from the month)."""
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    days = [month + timedelta(days=n) for n in range(28)]
    days = [day for day in days if day.weekday() < 5
            and day not in holidays.France(years=day.year)][:6]
    engine = make_engine(billing_database_url)
    with engine.begin() as conn:
        for day in days:
            conn.execute(text(
                "INSERT INTO usage_lines (id, booking_id, relay_id, organisation_id, member_id, "
                "space_kind, date, slot, half_days, duration_minutes, status, unit, quantity, "
                "unit_price_cents, vat_rate_bp, amount_excl_vat_cents, vat_cents, "
                "amount_incl_vat_cents) VALUES (gen_random_uuid(), :booking, :relay, :company, "
                ":member, 'desk', :day, 'day', 2, 570, 'priced', 'day', 1, 2500, 2000, 2500, "
                "500, 3000) ON CONFLICT (booking_id) DO NOTHING"), {
                    "booking": str(uuid.uuid5(uuid.NAMESPACE_URL, f"relais-demo:{day}")),
                    "relay": seeded["relay"]["id"], "company": seeded["company"]["id"],
                    "member": seeded["employee"]["id"], "day": day})
    engine.dispose()
    api.post("/v1/billing-runs", {"month": f"{month:%Y-%m}"})
    (invoice,) = api.get("/v1/documents", organisation_id=seeded["company"]["id"],
                         kind="invoice", month=f"{month:%Y-%m}")
    deadline = time.monotonic() + 30
    while invoice["status"] == "draft":
        try:  # billing learns the company's legal identity from identity's event
            invoice = api.post(f"/v1/documents/{invoice['id']}/finalize", {})
        except RuntimeError as exc:
            if "legal-identity-unknown" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return invoice
