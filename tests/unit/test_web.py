"""The web pages without a network: the gateway is a fake answering what each
test sets, so these check the pages' own rules (sessions, CSRF, CSP, roles,
the message catalogue) in milliseconds. The browser tests (tests/browser)
drive the real thing."""
import base64
import json
import re
from pathlib import Path

import pytest
from werkzeug.test import Client

from web import api as web_api
from web.app import WebApp
from web.messages_fr import EN, FR

WEB = Path(__file__).resolve().parents[2] / "web"


def access_token(roles, relays=()):
    claims = {"sub": "u-1", "org": "o-1", "roles": list(roles), "relays": list(relays)}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


class FakeResponse:
    def __init__(self, status, body=None):
        self.status_code = status
        self.body = body
        self.headers = {"Content-Type": "application/json"} if body is not None else {}
        self.reason = "fake"

    def json(self):
        return self.body


class FakeGateway:
    """Answers (method, path) with what a test set; records every request."""

    def __init__(self):
        self.answers, self.calls = {}, []

    def request(self, method, url, json=None, params=None, data=None, headers=None, timeout=None,
                allow_redirects=True):
        path = "/" + url.split("/", 3)[3]
        self.calls.append((method, path, json, headers))
        answer = self.answers.get((method, path), (404, {"type": "x/not-found",
                                                          "detail": "Not found."}))
        return answer if isinstance(answer, FakeResponse) else FakeResponse(*answer)


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeGateway()
    monkeypatch.setattr(web_api, "_http", fake)
    return fake


@pytest.fixture
def web():
    return Client(WebApp("http://gateway.test", "test-secret",
                         tile_url="https://tiles.example/{z}/{x}/{y}.png"))


def csrf_of(response):
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def log_in(web, gateway, roles, relays=()):
    gateway.answers[("POST", "/v1/auth/token")] = (200, {
        "access_token": access_token(roles, relays), "refresh_token": "rt-1"})
    gateway.answers[("GET", "/v1/users/u-1")] = (200, {"full_name": "Camille Nomade"})
    page = web.get("/login")
    return web.post("/login", data={"csrf": csrf_of(page), "email": "c@example.org",
                                    "password": "a-long-enough-password"})


def test_every_message_has_its_french_and_every_label_its_english():
    pattern = re.compile(r'''_\(\s*(["'])((?:(?!\1).)+?)\1''')
    used = set()
    for path in list(WEB.glob("templates/*.html")) + list(WEB.glob("pages/*.py")) + [WEB / "app.py"]:
        used |= {m.group(2) for m in pattern.finditer(path.read_text())}
    missing = sorted(m for m in used if m not in FR and not m.endswith(":"))
    assert not missing
    assert set(EN) <= set(FR)


def test_pages_carry_a_strict_policy_and_a_safe_session_cookie(web, gateway):
    gateway.answers[("GET", "/v1/relays")] = (200, [])
    response = web.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "https://tiles.example" in csp and "frame-ancestors 'none'" in csp
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = web.get("/", base_url="https://relais.example")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_log_in_renews_the_session_and_keeps_tokens_off_the_browser(web, gateway):
    before = web.get("/login").headers["Set-Cookie"]
    response = log_in(web, gateway, ["member"])
    assert response.status_code == 303 and response.headers["Location"] == "/find"
    after = response.headers["Set-Cookie"]
    assert after.split(";")[0] != before.split(";")[0]
    assert "rt-1" not in after and "header." not in after


def test_a_form_without_its_csrf_token_is_refused(web, gateway):
    log_in(web, gateway, ["member"])
    response = web.post("/logout", data={})
    assert response.status_code == 403
    assert "expired" in response.get_data(as_text=True) or "expiré" in response.get_data(as_text=True)
    assert not [call for call in gateway.calls if call[1] == "/v1/auth/logout"]


def test_log_out_revokes_the_refresh_token(web, gateway):
    log_in(web, gateway, ["member"])
    gateway.answers[("POST", "/v1/auth/logout")] = (204, None)
    gateway.answers[("GET", "/v1/relays")] = (200, [])
    page = web.get("/")
    assert web.post("/logout", data={"csrf": csrf_of(page)}).status_code == 303
    assert ("POST", "/v1/auth/logout", {"refresh_token": "rt-1"}) in [c[:3] for c in gateway.calls]
    assert web.get("/bookings").headers["Location"].startswith("/login")


def test_a_member_gets_a_clear_page_on_a_managers_page(web, gateway):
    log_in(web, gateway, ["member"])
    response = web.get("/manage")
    text = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "gestionnaires de relais" in text and "Traceback" not in text


def test_english_by_choice(web, gateway):
    gateway.answers[("GET", "/v1/relays")] = (200, [])
    assert "Les relais près de chez vous" in web.get("/").get_data(as_text=True)
    page = web.get("/")
    web.post("/language", data={"csrf": csrf_of(page), "locale": "en", "next": "/"})
    assert "Relays near you" in web.get("/").get_data(as_text=True)


def test_a_failure_shows_a_page_not_a_stack_trace(web, gateway):
    gateway.answers[("GET", "/v1/relays")] = (503, {"type": "x/service-unavailable",
                                                    "detail": "booking is down"})
    response = web.get("/")
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_next_page_after_log_in_stays_on_this_site(web, gateway):
    from web.pages.account import safe_next
    assert safe_next("//evil.example/x") == "/" and safe_next("https://evil.example") == "/"
    assert safe_next("/bookings") == "/bookings"


def test_an_invitation_sets_the_password_with_the_token_from_the_link(web, gateway):
    gateway.answers[("POST", "/v1/auth/password")] = (200, {"email": "new@example.org"})
    page = web.get("/set-password")
    assert 'data-from-fragment="token"' in page.get_data(as_text=True)
    refused = web.post("/set-password", data={"csrf": csrf_of(page), "token": "riv_x",
                                              "password": "a-long-password", "confirm": "other"})
    assert refused.status_code == 200 and "Les deux mots de passe sont différents" in \
        refused.get_data(as_text=True)
    done = web.post("/set-password", data={"csrf": csrf_of(page), "token": "riv_x",
                                           "password": "a-long-password",
                                           "confirm": "a-long-password"})
    assert done.status_code == 303 and done.headers["Location"].startswith("/login?email=")
    assert ("POST", "/v1/auth/password", {"token": "riv_x", "password": "a-long-password"}) \
        in [call[:3] for call in gateway.calls]


def test_a_resident_signs_up_then_opens_the_account_with_the_mailed_link(web, gateway):
    gateway.answers[("POST", "/v1/residents/sign-up")] = (202, {"status": "check-your-mail"})
    gateway.answers[("POST", "/v1/residents/verify")] = (201, {"email": "alix@example.org"})
    page = web.get("/sign-up")
    form = {"csrf": csrf_of(page), "email": "alix@example.org", "full_name": "Alix",
            "postcode": "23200", "commune": "Aubusson", "password": "a-long-password"}
    refused = web.post("/sign-up", data=dict(form, confirm="other"))
    assert refused.status_code == 200 and "Les deux mots de passe sont différents" in \
        refused.get_data(as_text=True)
    done = web.post("/sign-up", data=dict(form, confirm="a-long-password"))
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert ("POST", "/v1/residents/sign-up", {
        "email": "alix@example.org", "full_name": "Alix", "postcode": "23200",
        "commune": "Aubusson", "password": "a-long-password", "locale": "fr"}) in \
        [call[:3] for call in gateway.calls]
    page = web.get("/verify-email")
    assert 'data-from-fragment="token"' in page.get_data(as_text=True)
    opened = web.post("/verify-email", data={"csrf": csrf_of(page), "token": "rsu_x"})
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/login?email=")


def test_cancelling_within_24_hours_warns_that_it_is_billed(web, gateway):
    from datetime import datetime, timedelta, timezone
    log_in(web, gateway, ["member"])
    soon = datetime.now(timezone.utc) + timedelta(hours=3)
    booking = {"id": "b-1", "date": soon.date().isoformat(), "slot": "morning",
               "starts_at": soon.isoformat(), "ends_at": (soon + timedelta(hours=4)).isoformat(),
               "timezone": "Europe/Paris", "relay_id": "r-1", "relay_name": "Relais",
               "space_name": "Poste 1", "status": "confirmed"}
    gateway.answers[("GET", "/v1/bookings/b-1")] = (200, booking)
    assert "Annulation tardive" in web.get("/bookings/b-1/cancel").get_data(as_text=True)
    later = dict(booking, starts_at=(soon + timedelta(days=3)).isoformat())
    gateway.answers[("GET", "/v1/bookings/b-1")] = (200, later)
    assert "Annulation tardive" not in web.get("/bookings/b-1/cancel").get_data(as_text=True)
