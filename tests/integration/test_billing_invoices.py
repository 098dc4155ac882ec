"""Billing's documents against real PostgreSQL and RabbitMQ: prices, the
monthly run, gapless numbers, the hash chain, credit notes, payments,
settlements and the FEC. The clock is pinned (``FIXED_NOW``): no test here
depends on today's date."""
import base64
import re
import threading
import uuid
from datetime import date, datetime, timezone

import pytest
from facturx import get_facturx_xml_from_pdf
from sqlalchemy import text
from sqlalchemy.orm import Session

from common import errors
from common.caller import load_caller
from services.billing import fec, invoicing, settlements, verify
from services.billing.documents import validation
from services.billing.models import Base
from services.billing.service import BillingService
from services.billing.settings import load_settings
from tests.integration.booking_helpers import corporate_admin, refusal
from tests.integration.conftest import (
    ADMIN, ComponentRpcProxy, rows, unit_of_work, wait_for,
)

NOW = "2026-11-10T09:00:00+00:00"          # October 2026 is over; its grace too
RELAY_ID = str(uuid.uuid4())
OPERATOR_ID = str(uuid.uuid4())
COMPANY_A, COMPANY_B = str(uuid.uuid4()), str(uuid.uuid4())


def organisation(organisation_id, kind="corporate", name="Mutuelle Exemple"):
    return {"organisation_id": organisation_id, "kind": kind, "name": name,
            "legal_name": f"{name} SA", "siret": "55208131766522",
            "vat_number": "FR40552081317", "billing_email": "compta@example.org",
            "billing_address": "10 rue de la Paix, 75002 Paris"}


def booking_of(company, day="2026-10-05", slot="day", kind="desk", minutes=570, member=None):
    half_days = {"morning": 1, "afternoon": 1, "day": 2}.get(slot, 1)
    return {
        "booking_id": str(uuid.uuid4()), "relay_id": RELAY_ID, "relay_name": "Relais de Felletin",
        "space_id": str(uuid.uuid4()), "space_name": "Bureau 1", "space_kind": kind,
        "member_id": member or str(uuid.UUID(int=int(company.replace("-", ""), 16) + 1)),
        "organisation_id": company, "date": day, "slot": slot, "half_days": half_days,
        "timezone": "Europe/Paris", "starts_at": f"{day}T07:30:00+00:00",
        "ends_at": f"{day}T17:00:00+00:00", "local_starts_at": f"{day}T08:30:00+01:00",
        "local_ends_at": f"{day}T18:00:00+01:00", "duration_minutes": minutes,
    }


@pytest.fixture
def billing_container(start_service):
    return start_service(BillingService, FIXED_NOW=NOW)


@pytest.fixture
def billing(billing_container, rpc, publish_event, databases):
    """billing (clock pinned), knowing the relay, its operator and two companies,
    with a desk card of 12.50 € a half-day, 22 € a day, and a room card of 30 € an hour."""
    publish_event("booking", "booking.relay_created", {
        "relay_id": RELAY_ID, "name": "Relais de Felletin", "commune": "Felletin",
        "postcode": "23500", "timezone": "Europe/Paris", "latitude": 45.88, "longitude": 2.17})
    for org in (organisation(COMPANY_A), organisation(COMPANY_B, name="Assureur Voisin"),
                organisation(OPERATOR_ID, kind="relay_operator", name="SCIC Creuse")):
        publish_event("identity", "identity.organisation_created", org)
    publish_event("identity", "identity.user_provisioned", {
        "user_id": booking_of(COMPANY_A)["member_id"], "organisation_id": COMPANY_A,
        "email": "lou@example.org", "full_name": "Lou Nomade", "roles": ["member"]})
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM known_organisations"))
                    == 3 and rows(databases["billing"], "SELECT 1 FROM known_relays")
                    and rows(databases["billing"], "SELECT 1 FROM known_members"))
    service = rpc("billing")
    service.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1250, "day_price_cents": 2200,
        "valid_from": "2026-01-01"})
    service.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "meeting_room", "hour_price_cents": 3000, "valid_from": "2026-01-01"})
    service.set_relay_operator(caller=ADMIN, relay_id=RELAY_ID,
                               payload={"operator_organisation_id": OPERATOR_ID})
    return service


def confirm(publish_event, databases, *bookings):
    before = len(rows(databases["billing"], "SELECT 1 FROM usage_lines"))
    for booking in bookings:
        publish_event("booking", "booking.confirmed", booking)
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM usage_lines"))
                    == before + len(bookings))


def all_rendered(databases):
    """Every final document's Factur-X files are stored (they are rendered
    after finalization, by billing's consumer of its own events)."""
    return wait_for(lambda: rows(databases["billing"], "SELECT count(*) AS n FROM documents d "
                                 "WHERE status = 'final' AND NOT EXISTS (SELECT 1 FROM "
                                 "document_files f WHERE f.document_id = d.id)")[0]["n"] == 0,
                    timeout=120)


def invoice_of(billing, company, caller=ADMIN):
    (invoice,) = [d for d in billing.list_documents(caller=caller, query={"kind": "invoice"})
                  if d["organisation_id"] == company]
    return invoice


# -- prices -----------------------------------------------------------------------

def test_prices_in_force_on_the_booking_date_contracts_and_rooms_by_the_hour(
        billing, publish_event, databases):
    billing.set_contract(caller=ADMIN, organisation_id=COMPANY_A, payload={
        "discount_bp": 1000, "valid_from": "2026-10-01", "valid_until": "2026-10-31"})
    confirm(publish_event, databases,
            booking_of(COMPANY_A, "2026-09-30"), booking_of(COMPANY_A, "2026-10-01"),
            booking_of(COMPANY_B, "2026-10-01", slot="morning", minutes=240),
            booking_of(COMPANY_B, "2026-10-02", slot="hours", kind="meeting_room",
                       minutes=90))
    lines = rows(databases["billing"], "SELECT date, organisation_id::text AS org, unit, "
                 "quantity, unit_price_cents, amount_excl_vat_cents FROM usage_lines ORDER BY "
                 "organisation_id = :a DESC, date", a=COMPANY_A)
    assert [(l["unit"], float(l["quantity"]), l["unit_price_cents"], l["amount_excl_vat_cents"])
            for l in lines] == [("day", 1, 2200, 2200),       # before the contract
                                ("day", 1, 1980, 1980),       # 10 % off
                                ("half_day", 1, 1250, 1250),
                                ("hour", 1.5, 3000, 4500)]


def test_bad_prices_and_overlaps_are_precise_refusals(billing):
    exc_type, detail = refusal(billing.set_rate_card, caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": -1, "valid_from": "2026-02-01"})
    assert (exc_type, "invalid-price" in detail, "never negative" in detail) == (
        "InvalidInput", True, True)
    _, detail = refusal(billing.set_rate_card, caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "meeting_room", "half_day_price_cents": 100, "valid_from": "2026-02-01"})
    assert "invalid-price" in detail and "hour_price_cents" in detail
    _, detail = refusal(billing.set_rate_card, caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 100, "valid_from": "2026-01-01"})
    assert "rate-card-exists" in detail
    billing.set_contract(caller=ADMIN, organisation_id=COMPANY_A, payload={
        "discount_bp": 500, "valid_from": "2026-01-01", "valid_until": "2026-06-30"})
    exc_type, detail = refusal(billing.set_contract, caller=ADMIN, organisation_id=COMPANY_A,
                               payload={"discount_bp": 700, "valid_from": "2026-06-30"})
    assert (exc_type, "contract-overlap" in detail) == ("Conflict", True)
    billing.set_commission(caller=ADMIN, organisation_id=OPERATOR_ID, payload={
        "commission_bp": 1500, "valid_from": "2026-01-01"})
    exc_type, detail = refusal(billing.set_commission, caller=ADMIN, organisation_id=OPERATOR_ID,
                               payload={"commission_bp": 1000, "valid_from": "2027-01-01"})
    assert (exc_type, "commission-overlap" in detail) == ("Conflict", True)
    exc_type, detail = refusal(billing.set_contract, caller=ADMIN, organisation_id=COMPANY_B,
                               payload={"half_day_price_cents": -5, "valid_from": "2026-01-01"})
    assert (exc_type, "invalid-price" in detail) == ("InvalidInput", True)


# -- the monthly run --------------------------------------------------------------

def test_a_month_run_twice_creates_nothing_new_and_a_line_lands_on_one_invoice(
        billing, publish_event, databases):
    confirm(publish_event, databases, booking_of(COMPANY_A), booking_of(COMPANY_A, "2026-10-06"),
            booking_of(COMPANY_B), booking_of(COMPANY_A, "2026-11-02"))
    first = billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    again = billing.run_month(caller=ADMIN, payload={"month": "2026-10"})

    assert (first["invoices_created"], first["usage_lines_invoiced"]) == (2, 3)
    assert (again["invoices_created"], again["usage_lines_invoiced"]) == (0, 0)
    invoice = billing.get_document(caller=ADMIN, document_id=invoice_of(billing, COMPANY_A)["id"])
    assert (invoice["status"], invoice["total_net_cents"], invoice["total_gross_cents"]) == (
        "draft", 4400, 5280)
    assert [(l["quantity"], l["unit_code"], l["unit_price_cents"]) for l in invoice["lines"]] == [
        ("2.00", "DAY", 2200)]
    assert invoice["lines"][0]["description"] == "Lou Nomade — bureau, 2 réservation(s) en journées"
    with databases["billing"].connect() as conn, pytest.raises(Exception, match="duplicate key"):
        conn.execute(text("INSERT INTO invoiced_usage SELECT usage_line_id, invoice_id "
                          "FROM invoiced_usage LIMIT 1"))
    _, detail = refusal(billing.run_month, caller=ADMIN, payload={"month": "2026-11"})
    assert "month-not-over" in detail


def test_two_replicas_running_the_same_month_at_once_invoice_each_line_once(
        billing, publish_event, databases, broker):
    confirm(publish_event, databases, *[booking_of(COMPANY_A, f"2026-10-{d:02d}")
                                        for d in range(1, 21)])
    results = []

    def run():
        with ComponentRpcProxy("billing", broker.config("gateway"), timeout=20) as proxy:
            results.append(proxy.run_month(caller=ADMIN, payload={"month": "2026-10"}))
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["usage_lines_invoiced"] for r in results) == [0, 20]
    assert rows(databases["billing"], "SELECT count(*) AS n FROM documents")[0]["n"] == 1


# -- finalization, numbers, chain -------------------------------------------------

def test_concurrent_finalizations_get_gapless_numbers(billing, publish_event, databases,
                                                      broker):
    companies = [str(uuid.uuid4()) for _ in range(8)]
    for company in companies:
        publish_event("identity", "identity.organisation_created", organisation(company))
    confirm(publish_event, databases, *[booking_of(c) for c in companies])
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM known_organisations"))
                    == 11)
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    drafts = [d["id"] for d in billing.list_documents(caller=ADMIN, query={"status": "draft"})]
    numbers, failures = [], []

    def finalize(document_id):
        try:
            with ComponentRpcProxy("billing", broker.config("gateway"), timeout=20) as proxy:
                numbers.append(proxy.finalize_invoice(caller=ADMIN, document_id=document_id)
                               ["number"])
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)
    threads = [threading.Thread(target=finalize, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    year = date.fromisoformat(NOW[:10]).year
    assert sorted(numbers) == [f"F{year}-{n:06d}" for n in range(1, len(drafts) + 1)]
    with Session(databases["billing"]) as session:
        assert verify.verify(session) == (len(drafts), None)


def finalized_invoice(billing, publish_event, databases, *bookings):
    confirm(publish_event, databases, *(bookings or (booking_of(COMPANY_A),)))
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    return billing.finalize_invoice(caller=ADMIN,
                                    document_id=invoice_of(billing, COMPANY_A)["id"])


def test_a_final_invoice_never_changes_through_any_rpc_nor_in_sql(
        billing, publish_event, databases):
    late = booking_of(COMPANY_A, "2026-10-20")
    invoice = finalized_invoice(billing, publish_event, databases, booking_of(COMPANY_A), late)
    assert re.fullmatch(r"F\d{4}-\d{6}", invoice["number"])
    assert invoice["buyer"]["legal_name"] == "Mutuelle Exemple SA"
    assert invoice["buyer"]["siren"] == "552081317" and invoice["due_date"] == "2026-12-10"
    before = billing.get_document(caller=ADMIN, document_id=invoice["id"])

    _, detail = refusal(billing.finalize_invoice, caller=ADMIN, document_id=invoice["id"])
    assert "document-final" in detail
    confirm(publish_event, databases, booking_of(COMPANY_A, "2026-10-30"))   # a straggler
    rerun = billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    assert rerun["usage_lines_invoiced"] == 0
    publish_event("booking", "booking.cancelled", dict(
        late, late=True, cancelled_by="member", reason=None,
        cancelled_at="2026-10-19T09:00:00+00:00"))
    billing.record_payment(caller=ADMIN, document_id=invoice["id"],
                           payload={"amount_cents": 100, "paid_on": "2026-11-12"})
    billing.issue_credit_note(caller=ADMIN, document_id=invoice["id"],
                              payload={"amount_excl_vat_cents": 100, "reason": "geste"})
    assert wait_for(lambda: rows(databases["billing"], "SELECT 1 FROM inbox WHERE consumer = "
                                 "'billing.on_booking_cancelled'"))
    after = billing.get_document(caller=ADMIN, document_id=invoice["id"])
    for field in ("number", "lines", "total_gross_cents", "sha256", "issue_date", "buyer"):
        assert after[field] == before[field]
    with databases["billing"].connect() as conn:
        for statement in ("UPDATE documents SET total_net_cents = 1 WHERE id = :id",
                          "DELETE FROM documents WHERE id = :id",
                          "UPDATE document_lines SET net_cents = 1 WHERE document_id = :id"):
            with pytest.raises(Exception, match="never change"):
                conn.execute(text(statement), {"id": invoice["id"]})
            conn.rollback()


def test_a_cancellation_after_finalization_makes_a_credit_note(
        billing, publish_event, databases, listen):
    events = listen("billing", "billing.#")
    booking = booking_of(COMPANY_A, "2026-10-07", slot="morning", minutes=240)
    invoice = finalized_invoice(billing, publish_event, databases, booking_of(COMPANY_A), booking)
    publish_event("booking", "booking.cancelled", dict(
        booking, late=False, cancelled_by="relay_manager", reason=None,
        cancelled_at="2026-11-09T09:00:00+00:00"))
    assert wait_for(lambda: billing.list_documents(caller=ADMIN, query={"kind": "credit_note"}))
    (note,) = billing.list_documents(caller=ADMIN, query={"kind": "credit_note"})
    assert (note["preceding_document_id"], note["total_net_cents"], note["status"]) == (
        invoice["id"], 1250, "final")
    assert re.fullmatch(r"A\d{4}-000001", note["number"])
    types = [e["type"] for e in events(3)]
    assert types.count("billing.invoice_finalized") == 1
    assert types.count("billing.credit_note_issued") == 1


def test_a_credit_note_never_exceeds_its_invoice_and_a_draft_is_neither_credited_nor_paid(
        billing, publish_event, databases):
    confirm(publish_event, databases, booking_of(COMPANY_B))
    invoice = finalized_invoice(billing, publish_event, databases)        # 22.00 € excl. VAT
    draft = invoice_of(billing, COMPANY_B)
    _, detail = refusal(billing.record_payment, caller=ADMIN, document_id=draft["id"],
                        payload={"amount_cents": 100, "paid_on": "2026-11-12"})
    assert "invoice-not-final" in detail
    _, detail = refusal(billing.issue_credit_note, caller=ADMIN, document_id=draft["id"],
                        payload={"reason": "x"})
    assert "document-not-final" in detail
    _, detail = refusal(billing.document_xml, caller=ADMIN, document_id=draft["id"])
    assert "document-not-final" in detail
    _, detail = refusal(billing.issue_credit_note, caller=ADMIN, document_id=invoice["id"],
                        payload={"amount_excl_vat_cents": 2201, "reason": "trop"})
    assert "credit-exceeds-invoice" in detail
    billing.issue_credit_note(caller=ADMIN, document_id=invoice["id"],
                              payload={"amount_excl_vat_cents": 2000, "reason": "geste"})
    _, detail = refusal(billing.issue_credit_note, caller=ADMIN, document_id=invoice["id"],
                        payload={"amount_excl_vat_cents": 201, "reason": "encore"})
    assert "credit-exceeds-invoice" in detail
    _, detail = refusal(billing.record_payment, caller=ADMIN, document_id=invoice["id"],
                        payload={"amount_cents": 241, "paid_on": "2026-11-12"})  # 2640 - 2400
    assert "payment-exceeds-balance" in detail
    paid = billing.record_payment(caller=ADMIN, document_id=invoice["id"],
                                  payload={"amount_cents": 240, "paid_on": "2026-11-12"})
    assert paid["amount_cents"] == 240
    assert billing.get_document(caller=ADMIN, document_id=invoice["id"])["balance_cents"] == 0


def test_an_invoice_needs_the_buyers_full_legal_identity(billing, publish_event, databases):
    nameless = str(uuid.uuid4())
    publish_event("identity", "identity.organisation_created",
                  dict(organisation(nameless), billing_address=None, siret=None))
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM known_organisations"))
                    == 4)
    confirm(publish_event, databases, booking_of(nameless))
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    exc_type, detail = refusal(billing.finalize_invoice, caller=ADMIN,
                               document_id=invoice_of(billing, nameless)["id"])
    assert (exc_type, "legal-identity-incomplete" in detail) == ("Conflict", True)
    assert "billing_address" in detail and "siret" in detail
    with uow_for(databases) as uow:  # the timer leaves it waiting, and finalizes no other
        assert invoicing.finalize_due_drafts(uow, datetime(2026, 11, 10, tzinfo=timezone.utc),
                                             load_settings({})) == 0


def test_a_tampered_document_is_named_by_verify(billing, publish_event, databases, capsys):
    invoice = finalized_invoice(billing, publish_event, databases)
    billing.issue_credit_note(caller=ADMIN, document_id=invoice["id"],
                              payload={"amount_excl_vat_cents": 100, "reason": "geste"})
    with Session(databases["billing"]) as session:
        assert verify.verify(session) == (2, None)
    with databases["billing"].begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
        conn.execute(text("UPDATE document_lines SET net_cents = net_cents - 1 "
                          "WHERE document_id = :id"), {"id": invoice["id"]})
    with Session(databases["billing"]) as session:
        checked, broken = verify.verify(session)
    assert broken.number == invoice["number"]
    url = databases["billing"].url.render_as_string(hide_password=False)
    assert verify.main(["verify", url]) == 1
    assert f"chain broken at {invoice['number']}" in capsys.readouterr().out


def test_a_company_admin_sees_only_its_own_invoices(billing, publish_event, databases):
    confirm(publish_event, databases, booking_of(COMPANY_B))
    invoice = finalized_invoice(billing, publish_event, databases)
    other = corporate_admin(COMPANY_B)
    assert [d["organisation_id"] for d in billing.list_documents(caller=other)] == [COMPANY_B]
    for call, kwargs in ((billing.get_document, {}), (billing.document_lines_csv, {})):
        exc_type, _ = refusal(call, caller=other, document_id=invoice["id"], **kwargs)
        assert exc_type == "NotFound"
    mine = corporate_admin(COMPANY_A)
    csv_text = billing.document_lines_csv(caller=mine, document_id=invoice["id"])
    assert csv_text.splitlines()[0].startswith("number,issue_date,position")
    assert refusal(billing.run_month, caller=mine, payload={"month": "2026-10"})[0] == "Forbidden"


def uow_for(databases):
    """billing's unit of work on the test database: a timer's step run with
    the clock at chosen instants (the running service's outbox relay
    publishes what it emits)."""
    return unit_of_work(databases["billing"], "billing", Base.metadata)


def test_drafts_are_finalized_after_the_grace_period_and_overdue_invoices_announced_once(
        billing, publish_event, databases, listen):
    events = listen("billing", "billing.#")
    confirm(publish_event, databases, booking_of(COMPANY_A))
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    settings = load_settings({})
    # October ends at midnight in Paris (23:00 UTC); three days' grace
    with uow_for(databases) as uow:
        assert invoicing.finalize_due_drafts(
            uow, datetime(2026, 11, 3, 22, 59, tzinfo=timezone.utc), settings) == 0
    with uow_for(databases) as uow:
        assert invoicing.finalize_due_drafts(
            uow, datetime(2026, 11, 3, 23, 0, tzinfo=timezone.utc), settings) == 1
    invoice = invoice_of(billing, COMPANY_A)
    assert (invoice["status"], invoice["issue_date"], invoice["due_date"]) == (
        "final", "2026-11-04", "2026-12-04")
    for day in (4, 5, 6):
        with uow_for(databases) as uow:
            invoicing.announce_overdue(uow, datetime(2026, 12, day, 12, tzinfo=timezone.utc))
    types = [e["type"] for e in events(3, timeout=5)]
    assert (types.count("billing.invoice_finalized"), types.count("billing.invoice_overdue")) == (
        1, 1)


# -- settlements and the FEC -------------------------------------------------------

def test_settlement_accept_contest_resolve_and_a_balanced_fec(billing, publish_event, databases):
    billing.set_commission(caller=ADMIN, organisation_id=OPERATOR_ID, payload={
        "commission_bp": 1500, "valid_from": "2026-01-01"})
    invoice = finalized_invoice(billing, publish_event, databases,
                                booking_of(COMPANY_A), booking_of(COMPANY_A, "2026-10-09"))
    billing.issue_credit_note(caller=ADMIN, document_id=invoice["id"],
                              payload={"amount_excl_vat_cents": 333, "reason": "geste"})
    assert billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"}) == {
        "month": "2026-10", "settlements_issued": 1}
    assert billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})[
        "settlements_issued"] == 0
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})
    assert (settlement["total_net_cents"], settlement["commission_bp"]) == (4400 - 660, 1500)
    assert re.fullmatch(r"AF\d{4}-[0-9A-F]{8}-000001", settlement["number"])
    assert any("Autofacturation" in note for note in settlement["notes"])

    manager = {"user_id": str(uuid.uuid4()), "organisation_id": OPERATOR_ID,
               "roles": ["relay_manager"], "relay_ids": [RELAY_ID]}
    stranger = dict(manager, organisation_id=str(uuid.uuid4()), relay_ids=[])
    assert refusal(billing.review_settlement, caller=stranger, document_id=settlement["id"],
                   payload={"decision": "accepted"})[0] == "NotFound"
    assert refusal(billing.get_document, caller=corporate_admin(COMPANY_A),
                   document_id=settlement["id"])[0] == "NotFound"
    billing.review_settlement(caller=manager, document_id=settlement["id"],
                              payload={"decision": "contested", "reason": "une journée en trop"})
    _, detail = refusal(billing.review_settlement, caller=manager, document_id=settlement["id"],
                        payload={"decision": "accepted"})
    assert "settlement-already-reviewed" in detail
    resolved = billing.resolve_settlement(caller=ADMIN, document_id=settlement["id"], payload={
        "resolution": "credit_note", "amount_excl_vat_cents": 1000})
    assert resolved["status"] == "resolved" and resolved["resolution_document_id"]

    text_ = billing.fec_export(caller=ADMIN, query={"year": 2026})
    lines = text_.splitlines()
    assert all(len(line.split("\t")) == 18 for line in lines)
    assert lines[0].split("\t") == list(fec.COLUMNS)
    balances = fec.balance_per_entry(text_)
    assert len(balances) == 4 and set(balances.values()) == {0}
    journals = {line.split("\t")[0] for line in lines[1:]}
    assert journals == {"VE", "AC"}
    with Session(databases["billing"]) as session:
        assert verify.verify(session) == (4, None)

    # every document issued here is a valid Factur-X: XSD, EN 16931 and French CTC rules
    assert all_rendered(databases)
    for document in billing.list_documents(caller=ADMIN, query={"status": "final"}):
        xml = billing.document_xml(caller=ADMIN, document_id=document["id"])
        assert validation.validate(xml.encode()) == [], document["number"]
    pdf = base64.b64decode(billing.document_pdf(caller=manager, document_id=settlement["id"]))
    embedded = get_facturx_xml_from_pdf(pdf, check_xsd=False)
    assert embedded == ("factur-x.xml", billing.document_xml(
        caller=ADMIN, document_id=settlement["id"]).encode())
    draft = billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    assert draft["invoices_created"] == 0


def test_a_statement_is_reviewed_within_the_review_period_only(billing, publish_event, databases):
    confirm(publish_event, databases, booking_of(COMPANY_A))
    billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})
    assert settlement["issue_date"] == "2026-11-10" and settlement["commission_bp"] == 0
    manager = load_caller({"user_id": str(uuid.uuid4()), "organisation_id": OPERATOR_ID,
                           "roles": ["relay_manager"], "relay_ids": [RELAY_ID]})
    late = datetime(2026, 11, 26, 9, tzinfo=timezone.utc)     # issued + 15 days, + 1
    with pytest.raises(errors.Conflict, match="15 days") as refused, uow_for(databases) as uow:
        settlements.review_settlement(uow, manager, settlement["id"], {"decision": "accepted"},
                                      late, load_settings({}))
    assert refused.value.code == "review-period-over"
    with uow_for(databases) as uow:
        review = settlements.review_settlement(
            uow, manager, settlement["id"], {"decision": "accepted"},
            datetime(2026, 11, 25, 22, tzinfo=timezone.utc), load_settings({}))
        assert review.status == "accepted"


def test_a_contested_statement_resolved_by_a_corrected_one(billing, publish_event, databases):
    billing.set_commission(caller=ADMIN, organisation_id=OPERATOR_ID, payload={
        "commission_bp": 1000, "valid_from": "2026-01-01"})
    confirm(publish_event, databases, booking_of(COMPANY_A), booking_of(COMPANY_B))
    billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})
    manager = {"user_id": str(uuid.uuid4()), "organisation_id": OPERATOR_ID,
               "roles": ["relay_manager"], "relay_ids": [RELAY_ID]}
    billing.review_settlement(caller=manager, document_id=settlement["id"],
                              payload={"decision": "contested", "reason": "il manque une salle"})
    _, detail = refusal(billing.resolve_settlement, caller=ADMIN, document_id=settlement["id"],
                        payload={"resolution": "corrected_statement"})
    assert "adjustment-required" in detail
    resolved = billing.resolve_settlement(caller=ADMIN, document_id=settlement["id"], payload={
        "resolution": "corrected_statement", "adjustment_excl_vat_cents": 4500,
        "reason": "salle du 2 octobre"})
    corrected = billing.get_document(caller=manager,
                                     document_id=resolved["resolution_document_id"])
    assert corrected["total_net_cents"] == settlement["total_net_cents"] + 4500
    assert corrected["number"].endswith("-000002") and corrected["preceding_document_id"] == \
        settlement["id"]
    (credit,) = billing.list_documents(caller=ADMIN, query={"kind": "credit_note"})
    assert credit["total_net_cents"] == settlement["total_net_cents"]
    assert all_rendered(databases)
    for document in (corrected, credit):
        xml = billing.document_xml(caller=ADMIN, document_id=document["id"])
        assert validation.validate(xml.encode()) == [], document["number"]
    with Session(databases["billing"]) as session:
        assert verify.verify(session) == (3, None)


def test_invoice_lines_per_booking_when_configured(start_service, rpc, publish_event, databases):
    start_service(BillingService, FIXED_NOW=NOW, BILLING_INVOICE_LINES="booking")
    publish_event("identity", "identity.organisation_created", organisation(COMPANY_A))
    assert wait_for(lambda: rows(databases["billing"], "SELECT 1 FROM known_organisations"))
    billing = rpc("billing")
    with databases["billing"].begin() as conn:
        conn.execute(text("INSERT INTO known_relays (relay_id, name, timezone) VALUES "
                          "(:relay, 'Relais de Felletin', 'Europe/Paris')"), {"relay": RELAY_ID})
    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1250, "valid_from": "2026-01-01"})
    confirm(publish_event, databases, *[booking_of(COMPANY_A, f"2026-10-0{d}") for d in (5, 6, 7)])
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    invoice = billing.get_document(caller=ADMIN, document_id=invoice_of(billing, COMPANY_A)["id"])
    assert [(line["period_start"], line["quantity"]) for line in invoice["lines"]] == [
        ("2026-10-05", "1.00"), ("2026-10-06", "1.00"), ("2026-10-07", "1.00")]
    assert invoice["total_net_cents"] == 3 * 2500


# -- a price changed after the bookings (re-pricing) --------------------------------

def test_a_price_set_later_reprices_lines_and_drafts_but_never_a_final_invoice(
        billing, publish_event, databases):
    """A rate card or contract applies to bookings on or after its start, even
    booked before it was set; a final invoice keeps its prices (the
    difference is corrected by other documents: test_billing_corrections.py)."""
    final = finalized_invoice(billing, publish_event, databases, booking_of(COMPANY_A))
    confirm(publish_event, databases, booking_of(COMPANY_B, "2026-10-06"),
            booking_of(COMPANY_B, "2026-11-03"))
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    draft = invoice_of(billing, COMPANY_B)
    assert (draft["status"], draft["total_net_cents"]) == ("draft", 2200)
    issued = billing.get_document(caller=ADMIN, document_id=final["id"])

    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1500, "day_price_cents": 2800,
        "valid_from": "2026-10-05"})
    prices = {row["org"] + row["date"]: row["amount_excl_vat_cents"] for row in rows(
        databases["billing"], "SELECT organisation_id::text AS org, date::text AS date, "
        "amount_excl_vat_cents FROM usage_lines")}
    assert prices == {COMPANY_A + "2026-10-05": 2800,     # on a final invoice: corrected
                      COMPANY_B + "2026-10-06": 2800,     # on a draft: re-priced
                      COMPANY_B + "2026-11-03": 2800}     # not invoiced yet: re-priced
    assert billing.get_document(caller=ADMIN, document_id=draft["id"])["total_net_cents"] == 2800
    assert billing.get_document(caller=ADMIN, document_id=final["id"]) == issued

    billing.set_contract(caller=ADMIN, organisation_id=COMPANY_B, payload={
        "discount_bp": 5000, "valid_from": "2026-11-01"})
    assert rows(databases["billing"], "SELECT amount_excl_vat_cents FROM usage_lines "
                "WHERE date = '2026-11-03'")[0]["amount_excl_vat_cents"] == 1400
    assert billing.get_document(caller=ADMIN, document_id=draft["id"])["total_net_cents"] == 2800
    with Session(databases["billing"]) as session:
        assert verify.verify(session) == (1, None)


# -- programmes ---------------------------------------------------------------------

def test_a_booking_under_a_programme_lands_on_the_programmes_invoice_and_settlement(
        billing, publish_event, databases):
    """A resident's booking under a programme is the programme's to pay: on its
    monthly invoice (the resident's own account gets none), and in the relay's
    settlement like any other."""
    programme, resident_account = str(uuid.uuid4()), str(uuid.uuid4())
    publish_event("identity", "identity.organisation_created",
                  organisation(programme, kind="programme", name="Département de la Creuse"))
    publish_event("identity", "identity.organisation_created",
                  {"organisation_id": resident_account, "kind": "individual", "name": "Alix"})
    assert wait_for(lambda: len(rows(databases["billing"],
                                     "SELECT 1 FROM known_organisations")) == 5)
    under_programme = dict(booking_of(resident_account), programme_id=programme)
    invoice = finalized_invoice(billing, publish_event, databases, under_programme,
                                booking_of(COMPANY_A, "2026-10-09"))
    assert invoice["organisation_id"] == COMPANY_A  # the company's own booking stays its own
    programme_invoice = invoice_of(billing, programme)
    assert programme_invoice["total_net_cents"] == 2200
    assert not [d for d in billing.list_documents(caller=ADMIN, query={"kind": "invoice"})
                if d["organisation_id"] == resident_account]
    # The programme's admin reads its invoice; the resident's line names the programme.
    admin_of_programme = {"user_id": str(uuid.uuid4()), "organisation_id": programme,
                          "roles": ["programme_admin"]}
    assert [d["id"] for d in billing.list_documents(caller=admin_of_programme,
                                                    query={"kind": "invoice"})] == \
        [programme_invoice["id"]]
    billing.finalize_invoice(caller=ADMIN, document_id=programme_invoice["id"])
    billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})
    assert settlement["total_net_cents"] == 2200 + 2200  # both bookings, no commission set
