"""The pages of relay managers, companies and ops against a fake gateway
(tests/unit/test_web.py's): what each form sends to the API, what it refuses
before calling it, and what is shown once."""
from tests.unit.test_web import FakeResponse, csrf_of, gateway, log_in, web  # noqa: F401,F811

RELAY = {"id": "r-1", "name": "Relais de Felletin", "timezone": "Europe/Paris", "spaces": [],
         "closed_on_public_holidays": True,
         "opening_hours": {"monday": {"morning": {"opens": "08:30", "closes": "12:30"},
                                      "afternoon": None}}}


def sent(gateway, method, path):
    return [body for m, p, body, _ in gateway.calls if (m, p) == (method, path)]


def test_opening_hours_are_sent_as_a_week_and_a_half_filled_half_day_is_refused(web, gateway):
    log_in(web, gateway, ["relay_manager"], relays=["r-1"])
    gateway.answers[("GET", "/v1/relays/r-1")] = (200, RELAY)
    page = web.get("/manage/r-1/hours")
    assert 'value="08:30"' in page.get_data(as_text=True)
    refused = web.post("/manage/r-1/hours", data={
        "csrf": csrf_of(page), "monday-morning-opens": "08:30"})
    assert refused.status_code == 200 and not sent(gateway, "PATCH", "/v1/relays/r-1")
    assert "ou aucune des deux" in refused.get_data(as_text=True)
    gateway.answers[("PATCH", "/v1/relays/r-1")] = (200, RELAY)
    saved = web.post("/manage/r-1/hours", data={
        "csrf": csrf_of(page), "monday-morning-opens": "09:00", "monday-morning-closes": "12:00",
        "saturday-afternoon-opens": "14:00", "saturday-afternoon-closes": "17:00"})
    assert saved.status_code == 303
    assert sent(gateway, "PATCH", "/v1/relays/r-1") == [{
        "opening_hours": {"monday": {"morning": {"opens": "09:00", "closes": "12:00"}},
                          "saturday": {"afternoon": {"opens": "14:00", "closes": "17:00"}}},
        "closed_on_public_holidays": False}]


def test_a_statement_is_contested_only_with_a_reason(web, gateway):
    log_in(web, gateway, ["relay_manager"], relays=["r-1"])
    gateway.answers[("GET", "/v1/relays/r-1")] = (200, RELAY)
    statement = {"id": "d-1", "number": "AA-2026-0001", "period_start": "2026-11-01",
                 "period_end": "2026-11-30", "total_net_cents": 10000, "total_gross_cents": 12000,
                 "lines": [], "review": None}
    gateway.answers[("GET", "/v1/documents/d-1")] = (200, statement)
    page = web.get("/manage/r-1/settlements/d-1")
    assert "Ce relevé est-il juste" in page.get_data(as_text=True)
    refused = web.post("/manage/r-1/settlements/d-1", data={"csrf": csrf_of(page),
                                                            "decision": "contested"})
    assert "Dites ce qui ne va pas" in refused.get_data(as_text=True)
    assert not sent(gateway, "POST", "/v1/documents/d-1/review")
    gateway.answers[("POST", "/v1/documents/d-1/review")] = (200, {"status": "contested"})
    done = web.post("/manage/r-1/settlements/d-1", data={
        "csrf": csrf_of(page), "decision": "contested", "reason": "La fermeture du 12."})
    assert done.status_code == 303
    assert sent(gateway, "POST", "/v1/documents/d-1/review") == [
        {"decision": "contested", "reason": "La fermeture du 12."}]


def test_a_webhook_secret_and_an_api_key_are_shown_once(web, gateway):
    log_in(web, gateway, ["corporate_admin"])
    gateway.answers[("GET", "/v1/webhook-endpoints")] = (200, [])
    gateway.answers[("POST", "/v1/webhook-endpoints")] = (201, {
        "id": "w-1", "url": "https://hr.example/relais", "secret": "whsec_once"})
    page = web.get("/company/webhooks")
    made = web.post("/company/webhooks", data={"csrf": csrf_of(page), "url": "https://hr.example/relais",
                                               "event_types": "booking.*, billing.*"})
    assert made.status_code == 303, "post, redirect, get: a reload makes no second one"
    assert "whsec_once" in web.get("/company/webhooks").get_data(as_text=True)
    assert sent(gateway, "POST", "/v1/webhook-endpoints")[0]["event_types"] == [
        "booking.*", "billing.*"]
    assert "whsec_once" not in web.get("/company/webhooks").get_data(as_text=True)

    keys = "/v1/organisations/o-1/api-keys"
    gateway.answers[("GET", keys)] = (200, [])
    gateway.answers[("POST", keys)] = (201, {"id": "k-1", "name": "SIRH", "secret": "rk_once"})
    page = web.get("/company/api-keys")
    made = web.post("/company/api-keys", data={"csrf": csrf_of(page), "name": "SIRH"})
    assert made.status_code == 303
    assert "rk_once" in web.get("/company/api-keys").get_data(as_text=True)
    assert sent(gateway, "POST", keys) == [{"roles": ["corporate_admin"], "name": "SIRH"}]
    assert "rk_once" not in web.get("/company/api-keys").get_data(as_text=True)


def test_a_document_downloads_as_the_api_sends_it_and_nothing_else_does(web, gateway):
    log_in(web, gateway, ["corporate_admin"])
    pdf = FakeResponse(200, None)
    pdf.content, pdf.headers = b"%PDF-1.7 ...", {"Content-Type": "application/pdf"}
    gateway.answers[("GET", "/v1/documents/d-1/factur-x.pdf")] = pdf
    response = web.get("/documents/d-1/factur-x.pdf")
    assert response.data == b"%PDF-1.7 ..." and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert web.get("/documents/d-1/fec.txt").status_code == 404


def test_the_network_health_page_lists_inactive_relays_first(web, gateway):
    log_in(web, gateway, ["network_ops"])
    relay = {"relay_id": "r-1", "name": "Zeta", "department": "23", "bookings_7d": 3,
             "bookings_30d": 9, "desk_occupancy_30d": 0.25, "no_show_rate_30d": None,
             "last_booking_at": None, "open_closures": [], "inactive_14_days": False}
    gateway.answers[("GET", "/v1/network-health")] = (200, {"as_of": "2027-03-15", "relays": [
        relay, dict(relay, relay_id="r-2", name="Alpha-inactive", inactive_14_days=True)]})
    gateway.answers[("GET", "/v1/unmet-demand")] = (200, {
        "from_month": "2026-12", "to_month": "2027-03",
        "rows": [{"department": "23", "month": "2027-02", "kind": "desk", "searches": 4,
                  "refused_bookings": 1}]})
    gateway.answers[("GET", "/v1/dead-letters")] = (200, [
        {"service": "booking", "queue": "evt-a.dead", "depth": 0, "samples": [],
         "unavailable": False},
        {"service": "notify", "queue": "evt-b.dead", "depth": 2, "unavailable": False,
         "samples": [{"event_type": "booking.confirmed", "error": "SMTPError: refused"}]},
        {"service": "billing", "queue": None, "depth": None, "samples": [], "unavailable": True}])
    text = web.get("/ops/health").get_data(as_text=True)
    assert text.index("Alpha-inactive") < text.index("Zeta")
    assert "25" in text and "Recherches sans résultat" in text
    dead = text[text.index('id="dead-letters"'):]
    assert "evt-b.dead" in dead and "SMTPError: refused" in dead and "evt-a.dead" not in dead
    assert dead.index("Le service ne répond pas") < dead.index("evt-b.dead")


def test_a_webhook_period_is_sent_again_as_paris_days_and_a_reversed_one_is_refused(web, gateway):
    log_in(web, gateway, ["corporate_admin"])
    endpoint = {"id": "w-1", "url": "https://hr.example/relais", "event_types": ["booking.*"],
                "enabled": True}
    gateway.answers[("GET", "/v1/webhook-endpoints/w-1")] = (200, endpoint)
    gateway.answers[("GET", "/v1/webhook-endpoints/w-1/deliveries")] = (200, [])
    gateway.answers[("POST", "/v1/webhook-endpoints/w-1/replay")] = (200, {"replayed": 3})
    page = web.get("/company/webhooks/w-1")
    refused = web.post("/company/webhooks/w-1", data={
        "csrf": csrf_of(page), "action": "replay", "since": "2027-03-28", "until": "2027-03-27"})
    assert "Le dernier jour vient après le premier" in refused.get_data(as_text=True)
    assert not sent(gateway, "POST", "/v1/webhook-endpoints/w-1/replay")
    done = web.post("/company/webhooks/w-1", data={
        "csrf": csrf_of(page), "action": "replay", "since": "2027-03-27", "until": "2027-03-28"})
    assert done.status_code == 303
    # the clocks change on 2027-03-28: midnight is +01:00 before, +02:00 after
    assert sent(gateway, "POST", "/v1/webhook-endpoints/w-1/replay") == [
        {"since": "2027-03-27T00:00:00+01:00", "until": "2027-03-29T00:00:00+02:00"}]
    assert "3 envois sont renvoyés" in web.get("/company/webhooks/w-1").get_data(as_text=True)
