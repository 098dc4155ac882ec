"""The back-office pages in a browser: a relay manager edits the opening
hours, adds a room, reads the relay's figures and contests a statement; a
company's admin downloads an invoice, registers a webhook endpoint (its secret
shown once), tests and disables it, and makes an API key; the network's team
reads its health. Each page is checked by axe-core; the manager's and ops'
pages at phone width, where nothing may overflow sideways."""
import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.browser.conftest import accessible, log_in
from tests.e2e.browser.test_pages import a_relay, a_relay_manager, a_relay_operator, an_employee
from tests.e2e.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, corporate_account, seed_billable_usage, unique,
    wait_for,
)
from tests.integration.test_webhooks import Receiver

PHONE = 375


def fits(page):
    """Usable at phone width: the page never scrolls sideways (wide tables
    scroll inside their own box)."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px too wide"
    return page


def downloaded(page, network, href):
    """What a link gives the logged-in browser (its cookies, fetched here:
    Playwright's download wait is a client-side wait, see conftest.py)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return requests.get(network.web_url + href, cookies=cookies, timeout=30)


def test_a_relay_manager_edits_hours_and_spaces_reads_figures_and_contests_a_statement(
        network, admin, new_page):
    relay = a_relay(admin, 45.80, 2.10)
    operator = a_relay_operator(admin)
    manager = a_relay_manager(admin, relay, operator)
    wait_for(lambda: admin.put(f"/v1/relays/{relay['id']}/operator", json={
        "operator_organisation_id": operator["id"]}).status_code == 200, timeout=15)
    company, _ = corporate_account(admin, network)
    seed_billable_usage(network, company["id"], day="2025-05-13", relay_id=relay["id"])
    settled = admin.post("/v1/settlement-runs", json={"month": "2025-05"})
    assert settled.status_code == 200, settled.text
    (statement,) = [d for d in admin.get("/v1/documents", params={
        "kind": "self_billed_invoice", "organisation_id": operator["id"]}).json()]

    page = log_in(new_page(width=PHONE), manager)
    expect(page).to_have_url(f"{network.web_url}/manage/{relay['id']}")
    page.get_by_role("link", name="Horaires d'ouverture").click()
    fits(accessible(page))
    page.get_by_label("Samedi, Matin : ouvre à").fill("09:00")
    page.get_by_label("Samedi, Matin : ferme à").fill("12:00")
    page.get_by_role("button", name="Enregistrer les horaires").click()
    expect(page.get_by_role("status")).to_contain_text("Les horaires sont enregistrés")
    hours = admin.get(f"/v1/relays/{relay['id']}").json()["opening_hours"]
    assert hours["saturday"]["morning"] == {"opens": "09:00", "closes": "12:00"}
    assert hours["monday"]["afternoon"], "the other days are kept"

    page.get_by_role("link", name="Espaces").click()
    fits(accessible(page))
    page.get_by_label("Salle de réunion").check()
    page.get_by_label("Nom", exact=True).fill("Salle Vassivière")
    page.get_by_label("Places").fill("8")
    page.get_by_role("button", name="Ajouter l'espace").click()
    expect(page.get_by_role("cell", name="Salle Vassivière")).to_be_visible()
    accessible(page)
    rooms = [s for s in admin.get(f"/v1/relays/{relay['id']}").json()["spaces"]
             if s["kind"] == "meeting_room"]
    assert [(r["name"], r["capacity"]) for r in rooms] == [("Salle Vassivière", 8)]

    page.get_by_role("link", name="Chiffres").click()
    expect(page.locator("#figures")).to_contain_text("Réservations")
    fits(accessible(page))

    page.get_by_role("link", name="Relevés").click()
    fits(accessible(page))
    page.get_by_role("link", name=statement["number"]).click()
    accessible(page)
    assert downloaded(page, network, f"/documents/{statement['id']}/lines.csv").status_code == 200
    page.get_by_label("Non, je le conteste").check()
    page.get_by_role("button", name="Envoyer mon avis").click()
    expect(page.locator(".error-summary")).to_contain_text("Dites ce qui ne va pas")
    accessible(page)
    page.get_by_label("Non, je le conteste").check()
    page.get_by_label("Ce qui ne va pas (pour contester)").fill("La fermeture du 13 est comptée.")
    page.get_by_role("button", name="Envoyer mon avis").click()
    expect(page.locator("#review-status")).to_contain_text("Contesté")
    fits(accessible(page))
    review = admin.get(f"/v1/documents/{statement['id']}").json()["review"]
    assert review["status"] == "contested" and "13" in review["reason"]


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


def test_a_company_admin_downloads_an_invoice_and_runs_a_webhook_and_an_api_key(
        network, admin, new_page, receiver):
    company, hr = corporate_account(admin, network)
    seed_billable_usage(network, company["id"], day="2025-06-10")
    assert admin.post("/v1/billing-runs", json={"month": "2025-06"}).status_code == 200
    (draft,) = admin.get("/v1/documents", params={"organisation_id": company["id"],
                                                  "status": "draft"}).json()
    invoice = admin.post(f"/v1/documents/{draft['id']}/finalize").json()
    page = log_in(new_page(), _email_of(admin, company))

    page.get_by_role("link", name="Factures").click()
    expect(page.locator("#invoices")).to_contain_text(invoice["number"])
    accessible(page)
    pdf = page.get_by_role("link", name=f"{invoice['number']} : PDF")
    got = downloaded(page, network, pdf.get_attribute("href"))
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert got.headers["Content-Disposition"].startswith("attachment")

    page.get_by_role("link", name="Webhooks").click()
    accessible(page)
    page.get_by_label("Adresse (https)").fill(receiver.url)
    page.get_by_label("Événements").fill("booking.*")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    secret = page.get_by_label(f"Secret de signature de {receiver.url}").input_value()
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    accessible(page)
    page.get_by_role("link", name=receiver.url).click()
    expect(page.locator("body")).not_to_contain_text(secret)
    page.get_by_role("button", name="Envoyer un événement de test").click()
    expect(page.get_by_role("status")).to_contain_text("événement de test")
    wait_for(lambda: receiver.received, timeout=20)
    assert receiver.received[0][2] is not None, "signed with the secret shown once"

    def delivered():
        page.reload()
        return page.locator("#deliveries").filter(has_text="Remis").count()
    assert wait_for(delivered, timeout=20)
    accessible(page)
    page.get_by_role("button", name="Désactiver").click()
    expect(page.locator("#endpoint-status")).to_have_text("Désactivée")
    accessible(page)
    (endpoint,) = hr.get("/v1/webhook-endpoints").json()
    assert endpoint["enabled"] is False

    page.get_by_role("link", name="Clés d'API").click()
    page.get_by_label("Nom", exact=True).fill("SIRH")
    page.get_by_role("button", name="Créer une clé").click()
    key = page.get_by_label("SIRH", exact=True).input_value()
    accessible(page)
    assert requests.get(f"{network.gateway_url}/v1/organisations/{company['id']}/users",
                        headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
    page.reload()
    expect(page.locator("body")).not_to_contain_text(key)
    expect(page.get_by_role("cell", name="SIRH", exact=True)).to_be_visible()


def _email_of(admin, company):
    (hr,) = [u for u in admin.get(f"/v1/organisations/{company['id']}/users").json()
             if "corporate_admin" in u["roles"]]
    return hr["email"]


def test_the_network_team_reads_its_health_on_a_phone(network, admin, new_page):
    quiet = a_relay(admin, 46.20, 2.20, name=unique("Relais sans réservation"))
    page = log_in(new_page(width=PHONE), ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page).to_have_url(f"{network.web_url}/ops")
    fits(accessible(page))
    page.get_by_role("link", name="Santé du réseau").click()
    row = page.locator("#relay-health tr").filter(has_text=quiet["name"])
    expect(row).to_contain_text("inactif")
    expect(page.get_by_role("heading", name="Demande non satisfaite", exact=False)).to_be_visible()
    expect(page.get_by_role("heading", name="Messages en échec")).to_be_visible()
    fits(accessible(page))


def test_a_member_cannot_open_the_back_office_pages(network, admin, new_page):
    company, _ = corporate_account(admin, network)
    employee, _ = an_employee(admin, network, company)
    page = log_in(new_page(), employee["email"], PASSWORD)
    for path in ("/ops/health", "/company/invoices", "/company/webhooks"):
        assert page.goto(path).status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Cette page ne vous est pas destinée")
