"""Billing over HTTP, as the README shows it: a network admin runs a month and
finalizes an invoice; the company's admin lists it and downloads its lines;
bad input is a precise problem; the FEC has its 18 columns and balances."""
from services.billing import fec
from tests.e2e.conftest import (
    assert_problem, corporate_account, seed_billable_usage, unique, wait_for,
)

MONTH, DAY = "2025-10", "2025-10-06"


def test_a_month_run_by_hand_and_the_invoice_downloaded(admin, network):
    company, hr = corporate_account(admin, network, "Nomade Office")
    seed_billable_usage(network, company["id"], day=DAY, lines=3)

    ran = admin.post("/v1/billing-runs", json={"month": MONTH})
    assert ran.status_code == 200, ran.text
    assert admin.post("/v1/billing-runs", json={"month": MONTH}).json()[
        "usage_lines_invoiced"] == 0
    (draft,) = hr.get("/v1/documents").json()
    assert (draft["status"], draft["total_net_cents"], draft["number"]) == ("draft", 6600, None)

    assert wait_for(lambda: admin.post(f"/v1/documents/{draft['id']}/finalize").status_code
                    == 200)
    assert_problem(admin.post(f"/v1/documents/{draft['id']}/finalize"), 409, "document-final")
    invoice = hr.get(f"/v1/documents/{draft['id']}").json()
    assert invoice["number"].startswith("F") and len(invoice["sha256"]) == 64
    assert invoice["buyer"]["legal_name"] == "Nomade Office SA"

    # rendered once, after finalization: until then a 503 says to try again
    assert wait_for(lambda: hr.get(f"/v1/documents/{draft['id']}/factur-x.pdf").status_code
                    == 200, timeout=120, interval=0.5)
    pdf = hr.get(f"/v1/documents/{draft['id']}/factur-x.pdf")
    assert (pdf.status_code, pdf.headers["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    xml = hr.get(f"/v1/documents/{draft['id']}/factur-x.xml")
    assert xml.status_code == 200 and invoice["number"] in xml.text
    csv_answer = hr.get(f"/v1/documents/{draft['id']}/lines.csv")
    assert csv_answer.status_code == 200
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    assert csv_answer.text.splitlines()[1].startswith(invoice["number"])

    assert_problem(hr.post(f"/v1/documents/{draft['id']}/payments",
                           json={"amount_cents": 100, "paid_on": "2025-11-20"}), 403, "forbidden")
    assert_problem(admin.post(f"/v1/documents/{draft['id']}/credit-notes", json={
        "amount_excl_vat_cents": 6601, "reason": "trop"}), 422, "credit-exceeds-invoice")
    paid = admin.post(f"/v1/documents/{draft['id']}/payments",
                      json={"amount_cents": 7920, "paid_on": "2025-11-20"})
    assert paid.status_code == 201, paid.text
    assert hr.get(f"/v1/documents/{draft['id']}").json()["balance_cents"] == 0

    text = admin.get("/v1/fec", params={"year": invoice["issue_date"][:4]})
    assert text.status_code == 200
    lines = text.text.splitlines()
    assert all(len(line.split("\t")) == 18 for line in lines)
    assert set(fec.balance_per_entry(text.text).values()) == {0}


def test_bad_billing_input_is_a_precise_problem(admin, network):
    relay = admin.post("/v1/relays", json={
        "name": unique("Relais de Gouzon"), "address": "2 place du Marché", "postcode": "23230",
        "commune": "Gouzon", "latitude": 46.19, "longitude": 2.24, "timezone": "Europe/Paris"})
    relay_id = relay.json()["id"]
    assert wait_for(lambda: admin.post(f"/v1/relays/{relay_id}/rate-cards", json={
        "space_kind": "meeting_room", "hour_price_cents": 3000, "valid_from": "2026-01-01"})
        .status_code == 201)
    assert_problem(admin.post(f"/v1/relays/{relay_id}/rate-cards", json={
        "space_kind": "desk", "half_day_price_cents": -100, "valid_from": "2026-01-01"}),
        422, "invalid-price")
    company, _ = corporate_account(admin, network)
    contracts = f"/v1/organisations/{company['id']}/contracts"
    assert admin.post(contracts, json={"discount_bp": 1000, "valid_from": "2026-01-01",
                                       "valid_until": "2026-12-31"}).status_code == 201
    assert_problem(admin.post(contracts, json={"discount_bp": 500, "valid_from": "2026-12-01"}),
                   409, "contract-overlap")
    assert_problem(admin.post("/v1/billing-runs", json={"month": "2100-12"}), 409,
                   "month-not-over")
    assert_problem(admin.post("/v1/billing-runs", json={"month": "2025-13"}), 422,
                   "validation-error")
    seed_billable_usage(network, company["id"], day="2025-08-12")
    admin.post("/v1/billing-runs", json={"month": "2025-08"})
    (draft,) = admin.get("/v1/documents", params={"organisation_id": company["id"]}).json()
    assert_problem(admin.post(f"/v1/documents/{draft['id']}/payments",
                              json={"amount_cents": 100, "paid_on": "2025-09-01"}),
                   409, "invoice-not-final")
