"""What people do in a browser, end to end: the web pages, the gateway, the
services and the SMTP sink of the end-to-end network, driven by Chromium.
Days come from devtools/dates.py's rules, never "today + N"."""
import pytest
import requests
from playwright.sync_api import expect

from devtools import dates
from tests.e2e.browser.conftest import accessible, log_in
from tests.e2e.conftest import PASSWORD, Client, corporate_account, mails_to, unique, wait_for

# Open round the clock every day and never releasing no-shows; in a time zone
# where it is now midday (devtools/dates.py), today's day slot is running whatever
# the hour the test runs, far from the relay's midnight.
ROUND_THE_CLOCK = {day: {"morning": {"opens": "00:00", "closes": "12:00"},
                         "afternoon": {"opens": "12:00", "closes": "23:59"}}
                   for day in ("monday", "tuesday", "wednesday", "thursday", "friday",
                               "saturday", "sunday")}


def a_relay(admin, latitude, longitude, **fields):
    relay = admin.post("/v1/relays", json=dict({
        "name": unique("Relais de Bourganeuf"), "address": "1 place du Mail",
        "postcode": "23400", "commune": "Bourganeuf", "latitude": latitude,
        "longitude": longitude, "timezone": "Europe/Paris"}, **fields))
    assert relay.status_code == 201, relay.text
    relay = relay.json()
    desk = admin.post(f"/v1/relays/{relay['id']}/spaces", json={"kind": "desk", "name": "Poste 1"})
    assert desk.status_code == 201, desk.text
    return relay


def an_employee(admin, network, company, home=None, name="Dominique Nomade"):
    email = f"{unique('nomade')}@example.org"
    created = admin.post(f"/v1/organisations/{company['id']}/users", json={
        "email": email, "full_name": name, "roles": ["member"], "password": PASSWORD})
    assert created.status_code == 201, created.text
    api = Client(network.gateway_url).login(email, PASSWORD)
    if home:
        saved = api.put(f"/v1/users/{created.json()['id']}/profile", json={
            "home_commune": "Bourganeuf", "home_latitude": home[0], "home_longitude": home[1]})
        assert saved.status_code == 200, saved.text
    return created.json(), api


def a_relay_operator(admin):
    """A relay operator whose statements billing can issue (its legal identity)."""
    return admin.post("/v1/organisations", json={
        "kind": "relay_operator", "name": unique("Association"), "legal_name": "Association",
        "siret": "55208131766522", "billing_address": "2 rue du Lac, 23500 Felletin"}).json()


def a_relay_manager(admin, relay, operator=None):
    operator = operator or a_relay_operator(admin)
    email = f"{unique('accueil')}@example.org"
    made = admin.post(f"/v1/organisations/{operator['id']}/users", json={
        "email": email, "full_name": "Sacha Accueil", "roles": ["relay_manager"],
        "relay_ids": [relay["id"]], "password": PASSWORD})
    assert made.status_code == 201, made.text
    return email


def test_a_member_finds_a_desk_near_home_books_it_and_gets_the_mail(network, admin, new_page):
    relay = a_relay(admin, 45.9531, 1.7583)
    company, _ = corporate_account(admin, network)
    employee, _ = an_employee(admin, network, company, home=(45.9600, 1.7600))
    day = dates.open_day(7)

    page = log_in(new_page(), employee["email"])
    expect(page).to_have_url(f"{network.web_url}/find")
    accessible(page)
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Quand (postes)").select_option("morning")
    page.get_by_label("Dans un rayon de (km)").fill("3")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("link", name=relay["name"])).to_be_visible()
    accessible(page)
    page.get_by_role("button", name=f"Réserver à {relay['name']}").click()

    expect(page.locator("#booking-status")).to_have_text("Confirmée")
    expect(page.get_by_role("status")).to_contain_text("C'est réservé")
    accessible(page)
    (mail,) = wait_for(lambda: mails_to(network, employee["email"]))
    assert relay["name"] in mail["subject"] and day.strftime("%d/%m/%Y") in mail["subject"]

    page.get_by_role("link", name="Mes réservations").click()
    expect(page.get_by_role("cell", name=f"{relay['name']} · Poste 1")).to_be_visible()
    accessible(page)


def test_a_relay_manager_checks_the_member_in(network, admin, new_page):
    zone, today = dates.a_time_zone_at_midday()
    relay = a_relay(admin, 45.90, 1.70, opening_hours=ROUND_THE_CLOCK,
                    closed_on_public_holidays=False, timezone=zone)
    never_released = admin.request("PATCH", f"/v1/relays/{relay['id']}",
                                   json={"no_show_after_minutes": None})
    assert never_released.json()["no_show_after_minutes"] is None, never_released.text
    company, _ = corporate_account(admin, network)
    employee, member = an_employee(admin, network, company, name="Alix Arrivant")
    booked = member.post("/v1/bookings", json={"relay_id": relay["id"], "date": today.isoformat(),
                                               "slot": "day"})
    assert booked.status_code == 201, booked.text

    page = log_in(new_page(width=820), a_relay_manager(admin, relay))
    expect(page).to_have_url(f"{network.web_url}/manage/{relay['id']}")
    expect(page.get_by_role("cell", name="Alix Arrivant", exact=True)).to_be_visible()
    accessible(page)
    page.get_by_role("button", name="Enregistrer l'arrivée de Alix Arrivant").click()

    expect(page.get_by_role("status")).to_contain_text("Alix Arrivant")
    expect(page.get_by_role("cell", name="Arrivée enregistrée", exact=True)).to_be_visible()
    accessible(page)
    assert member.get(f"/v1/bookings/{booked.json()['id']}").json()["status"] == "checked_in"
    for view in ("La semaine", "Fermetures"):
        page.get_by_role("link", name=view).click()
        accessible(page)


def test_a_company_admin_imports_a_file_then_deactivates_an_employee(
        network, admin, new_page, tmp_path):
    company, hr = corporate_account(admin, network)
    hr_email = hr.get(f"/v1/users/{_me(hr)}").json()["email"]
    alice, bruno = f"{unique('alice')}@example.org", f"{unique('bruno')}@example.org"
    csv = tmp_path / "salaries.csv"
    csv.write_text(f"email;full_name\n{alice};Alice Martin\n{bruno};Bruno Petit\n")

    page = log_in(new_page(), hr_email)
    expect(page).to_have_url(f"{network.web_url}/company/employees")
    accessible(page)
    page.get_by_role("link", name="Importer un fichier", exact=True).click()
    page.get_by_label("Fichier CSV").set_input_files(str(csv))
    page.get_by_role("button", name="Vérifier le fichier").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Ce que ce fichier changerait")
    accessible(page)
    users = hr.get(f"/v1/organisations/{company['id']}/users").json()
    assert {u["email"] for u in users} == {hr_email}, "a dry run changed nothing"

    page.get_by_role("button", name="Appliquer ces changements").click()
    expect(page.get_by_role("status")).to_contain_text("2 créés")
    expect(page.get_by_role("cell", name=alice, exact=True)).to_be_visible()
    accessible(page)

    page.get_by_role("link", name="Désactiver Bruno Petit").click()
    accessible(page)
    page.get_by_role("button", name="Oui, désactiver").click()
    expect(page.get_by_role("status")).to_contain_text("Bruno Petit est désactivé")
    row = page.get_by_role("row").filter(has_text=bruno)
    expect(row.get_by_role("cell", name="Désactivé", exact=True)).to_be_visible()
    (bruno_now,) = [u for u in hr.get(f"/v1/organisations/{company['id']}/users").json()
                    if u["email"] == bruno]
    assert bruno_now["active"] is False


def _me(client):
    from web.api import token_claims
    return token_claims(client.tokens["access_token"])["sub"]


def test_a_member_on_a_managers_page_gets_a_clear_refusal(network, admin, new_page):
    company, _ = corporate_account(admin, network)
    employee, _ = an_employee(admin, network, company)
    page = log_in(new_page(), employee["email"])
    response = page.goto("/manage")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Cette page ne vous est pas destinée")
    expect(page.locator("main")).to_contain_text("gestionnaires de relais")
    expect(page.locator("body")).not_to_contain_text("Traceback")
    accessible(page)


def test_a_form_posted_without_its_csrf_token_is_refused(network, admin, new_page):
    company, _ = corporate_account(admin, network)
    employee, _ = an_employee(admin, network, company)
    page = log_in(new_page(), employee["email"])
    page.goto("/profile")
    page.evaluate("document.querySelector('form[action=\"/profile\"] input[name=csrf]').remove()")
    page.get_by_label("Commune").fill("Aubusson")
    page.get_by_role("button", name="Enregistrer").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce formulaire a expiré")
    accessible(page)
    # a post forged elsewhere, even with the session cookie, cannot know the token
    forged = requests.post(f"{network.web_url}/logout", timeout=5,
                           cookies={c["name"]: c["value"] for c in page.context.cookies()})
    assert forged.status_code == 403


@pytest.mark.parametrize("width", [1280, 375])
def test_the_public_pages_list_relays_without_map_tiles(network, admin, new_page, width):
    relay = a_relay(admin, 46.05, 1.95)
    page = new_page(width=width)
    page.goto("/?place=23")
    expect(page.get_by_role("link", name=relay["name"])).to_be_visible()
    accessible(page)
    page.get_by_role("link", name=relay["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(relay["name"])
    expect(page.get_by_role("table").nth(1)).to_contain_text("Postes libres")
    accessible(page)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="This week")).to_be_visible()
