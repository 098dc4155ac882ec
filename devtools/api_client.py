"""The Relais API over HTTP as a client drives it: the end-to-end and
resilience tests, and bench/soak.py, which books as they do (so it lives here,
not in tests/)."""
import time
import uuid

import requests

PASSWORD = "a-long-enough-password"      # every member these clients create
RETRYABLE = {502, 503, 504}              # "try again": the broker or a service moving


class Client:
    """A requests session on the gateway that remembers its bearer token."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.http = requests.Session()

    def login(self, email, password):
        response = self.post("/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.tokens = response.json()
        return self.bearer(self.tokens["access_token"])

    def bearer(self, token):
        self.http.headers["Authorization"] = f"Bearer {token}"
        return self

    def request(self, method, path, **kwargs):
        return self.http.request(method, self.base_url + path, timeout=10, **kwargs)

    def get(self, path, **kwargs):
        return self.http.get(self.base_url + path, timeout=10, **kwargs)

    def post(self, path, **kwargs):
        return self.http.post(self.base_url + path, timeout=10, **kwargs)

    def put(self, path, **kwargs):
        return self.http.put(self.base_url + path, timeout=10, **kwargs)

    def delete(self, path, **kwargs):
        return self.http.delete(self.base_url + path, timeout=10, **kwargs)


def unique(label):
    return f"{label}-{uuid.uuid4().hex[:8]}"


def new_member(admin, network, organisation_id, domain):
    """A member of the organisation, created by the admin: (user, logged-in client)."""
    email = f"{unique('nomade')}@{domain}"
    employee = admin.post(f"/v1/organisations/{organisation_id}/users", json={
        "email": email, "full_name": "Dominique Nomade", "roles": ["member"],
        "password": PASSWORD})
    assert employee.status_code == 201, employee.text
    return employee.json(), Client(network.gateway_url).login(email, PASSWORD)


def relay_desks_and_company(admin, desk_count):
    """A relay with ``desk_count`` desks and a corporate organisation, made
    by the admin: (desk ids, the organisation's id)."""
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais de Bourganeuf"), "address": "1 place de l'Hôtel de ville",
        "postcode": "23400", "commune": "Bourganeuf", "latitude": 45.95, "longitude": 1.75,
        "timezone": "Europe/Paris"})
    assert relay.status_code == 201, relay.text
    desks = []
    for number in range(desk_count):
        desk = admin.post(f"/v1/relays/{relay.json()['id']}/spaces",
                          json={"kind": "desk", "name": f"Bureau {number:02d}"})
        assert desk.status_code == 201, desk.text
        desks.append(desk.json()["id"])
    company = admin.post("/v1/organisations", json={
        "kind": "corporate", "name": unique("Mutuelle"), "legal_name": "Mutuelle SA",
        "siret": "55208131766522", "billing_email": "compta@mutuelle.example"})
    assert company.status_code == 201, company.text
    return desks, company.json()["id"]


def book(member, request, key, deadline_seconds=180, path="/v1/bookings"):
    """POST the booking (or another request to ``path``) until it is answered
    for good; returns (status, body, tries)."""
    deadline = time.monotonic() + deadline_seconds
    tries = 0
    while True:
        tries += 1
        try:
            response = member.post(path, json=request, headers={"Idempotency-Key": key})
            if response.status_code not in RETRYABLE or time.monotonic() > deadline:
                return response.status_code, response.json(), tries
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)
