"""A usage line re-priced or cancelled after its invoice was finalized,
against real PostgreSQL and RabbitMQ: the final invoice never changes; a
lower price is a credit note for exactly the difference citing it, a higher
one a correction line citing it on the next monthly invoice; repeats,
redeliveries and two replicas correct once, and never credit more than was
invoiced. The clock is pinned (``FIXED_NOW``, or passed in)."""
import threading
from datetime import date, datetime, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

from common.caller import load_caller
from common.events import make_envelope
from services.billing import invoicing, usage, verify
from services.billing.documents import validation
from services.billing.settings import load_settings
from tests.integration.conftest import ADMIN, rows, wait_for
from tests.integration.test_billing_invoices import (  # noqa: F401 (fixtures)
    COMPANY_A, RELAY_ID, all_rendered, billing, billing_container, booking_of, confirm,
    finalized_invoice, invoice_of, uow_for,
)

DECEMBER = datetime(2026, 12, 5, 9, tzinfo=timezone.utc)   # November over, and its grace
LOWER_DESK = {"space_kind": "desk", "half_day_price_cents": 1100, "day_price_cents": 2000,
              "valid_from": "2026-10-05"}


def credit_notes(billing):
    return billing.list_documents(caller=ADMIN, query={"kind": "credit_note"})


def chain_is_intact(databases, documents):
    with Session(databases["billing"]) as session:
        return verify.verify(session) == (documents, None)


def valid_factur_x(billing, databases, documents):
    assert all_rendered(databases)
    for document in documents:
        xml = billing.document_xml(caller=ADMIN, document_id=document["id"])
        assert validation.validate(xml.encode()) == [], document["number"]
    return True


def test_a_lower_price_after_finalization_is_a_credit_note_for_exactly_the_difference(
        billing, publish_event, databases):
    day = booking_of(COMPANY_A, "2026-10-05")
    morning = booking_of(COMPANY_A, "2026-10-07", slot="morning", minutes=240)
    invoice = finalized_invoice(billing, publish_event, databases, day, morning)
    issued = billing.get_document(caller=ADMIN, document_id=invoice["id"])
    assert issued["total_net_cents"] == 2200 + 1250

    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload=LOWER_DESK,
                          idempotency_key="lower-desk")
    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload=LOWER_DESK,
                          idempotency_key="lower-desk")          # the request again
    (note,) = credit_notes(billing)
    note = billing.get_document(caller=ADMIN, document_id=note["id"])
    assert (note["preceding_document_id"], note["status"], note["total_net_cents"]) == (
        invoice["id"], "final", 200 + 150)
    assert [line["net_cents"] for line in note["lines"]] == [200, 150]
    assert all(invoice["number"] in line["description"] for line in note["lines"])
    assert any(invoice["number"] in entry for entry in note["notes"])
    after = billing.get_document(caller=ADMIN, document_id=invoice["id"])
    assert after == dict(issued, balance_cents=issued["balance_cents"] - 350 * 12 // 10)

    with uow_for(databases) as uow:       # re-pricing again finds nothing left to correct
        assert usage.reprice(uow, load_settings({}), date(2026, 10, 5),
                             datetime.fromisoformat("2026-11-10T09:00:00+00:00"),
                             relay_id=RELAY_ID, space_kind="desk") == 0
    assert len(credit_notes(billing)) == 1

    # cancelled now, in time: credited what is left of it (2,000), once,
    # however often the event comes: 2,200 credited in all, never more
    envelope = make_envelope("booking", "booking.cancelled", dict(
        day, late=False, cancelled_by="relay_manager", reason=None,
        cancelled_at="2026-11-10T08:00:00+00:00"))
    publish_event("booking", "booking.cancelled", None, envelope=envelope)
    publish_event("booking", "booking.cancelled", None, envelope=envelope)
    publish_event("booking", "booking.cancelled", dict(envelope["data"], reason="again"))
    assert wait_for(lambda: len(credit_notes(billing)) == 2)
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM inbox WHERE "
                                     "consumer = 'billing.on_booking_cancelled'")) == 2)
    notes = credit_notes(billing)
    assert sorted(n["total_net_cents"] for n in notes) == [350, 2000]
    credited = rows(databases["billing"], "SELECT coalesce(sum(net_cents), 0) AS n FROM "
                    "document_lines l JOIN documents d ON d.id = l.document_id "
                    "WHERE d.preceding_document_id = :id", id=invoice["id"])[0]["n"]
    assert credited == 2200 + 150 <= issued["total_net_cents"]
    assert chain_is_intact(databases, 3)
    assert valid_factur_x(billing, databases, notes)


def test_a_higher_price_after_finalization_goes_on_the_next_months_invoice(
        billing, publish_event, databases):
    invoice = finalized_invoice(billing, publish_event, databases,
                                booking_of(COMPANY_A, "2026-10-05"))
    confirm(publish_event, databases, booking_of(COMPANY_A, "2026-11-03"))
    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1500, "day_price_cents": 2800,
        "valid_from": "2026-10-05"})
    assert credit_notes(billing) == []
    (pending,) = rows(databases["billing"], "SELECT amount_excl_vat_cents AS cents, "
                      "document_id FROM price_corrections")
    assert (pending["cents"], pending["document_id"]) == (600, None)

    settings, admin = load_settings({}), load_caller(ADMIN)
    with uow_for(databases) as uow:
        run = invoicing.run_month(uow, admin, date(2026, 11, 1), DECEMBER, settings)
    with uow_for(databases) as uow:
        again = invoicing.run_month(uow, admin, date(2026, 11, 1), DECEMBER, settings)
    assert (run["invoices_created"], again["invoices_created"], again["invoices_updated"]) == (
        1, 0, 0)
    with uow_for(databases) as uow:
        assert invoicing.finalize_due_drafts(uow, DECEMBER, settings) == 1
    november = [d for d in billing.list_documents(caller=ADMIN, query={"kind": "invoice"})
                if d["month"] == "2026-11-01"][0]
    november = billing.get_document(caller=ADMIN, document_id=november["id"])
    assert [line["net_cents"] for line in november["lines"]] == [2800, 600]
    correction = november["lines"][1]
    assert invoice["number"] in correction["description"]
    assert (correction["quantity"], correction["unit_code"]) == ("1.00", "C62")
    assert billing.get_document(caller=ADMIN, document_id=invoice["id"])["total_net_cents"] \
        == 2200
    assert chain_is_intact(databases, 2)
    assert valid_factur_x(billing, databases, [november])


def test_an_increase_waits_on_the_next_draft_and_follows_the_price_until_it_is_final(
        billing, publish_event, databases):
    """A draft of a later month takes the increase at once; a price lowered
    again before that draft is final takes the increase back, then credits."""
    invoice = finalized_invoice(billing, publish_event, databases,
                                booking_of(COMPANY_A, "2026-10-05"))
    confirm(publish_event, databases, booking_of(COMPANY_A, "2026-11-03"))
    with uow_for(databases) as uow:
        invoicing.run_month(uow, load_caller(ADMIN), date(2026, 11, 1), DECEMBER,
                            load_settings({}))
    (november,) = billing.list_documents(caller=ADMIN, query={"status": "draft"})

    def november_lines():
        return [line["net_cents"] for line in billing.get_document(
            caller=ADMIN, document_id=november["id"])["lines"]]
    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1500, "day_price_cents": 2800,
        "valid_from": "2026-10-05"})
    assert november_lines() == [2800, 600]
    billing.set_contract(caller=ADMIN, organisation_id=COMPANY_A, payload={
        "discount_bp": 2500, "valid_from": "2026-10-05"})          # 2,800 - 25 % = 2,100
    assert november_lines() == [2100]
    (note,) = credit_notes(billing)
    assert (note["preceding_document_id"], note["total_net_cents"]) == (invoice["id"], 100)
    assert rows(databases["billing"], "SELECT count(*) AS n FROM price_corrections "
                "WHERE amount_excl_vat_cents > 0")[0]["n"] == 0
    assert chain_is_intact(databases, 2)


def test_two_replicas_re_pricing_at_once_credit_once(billing, publish_event, databases):
    invoice = finalized_invoice(billing, publish_event, databases,
                                booking_of(COMPANY_A, "2026-10-05"))
    with databases["billing"].begin() as conn:   # the card is set; each replica re-prices
        conn.execute(text("INSERT INTO rate_cards (id, relay_id, space_kind, "
                          "half_day_price_cents, day_price_cents, vat_rate_bp, valid_from) "
                          "VALUES (gen_random_uuid(), :relay, 'desk', 1100, 2000, 2000, "
                          "'2026-10-05')"), {"relay": RELAY_ID})
    changed, barrier = [], threading.Barrier(2)

    def replica():
        with uow_for(databases) as uow:
            barrier.wait()
            changed.append(usage.reprice(uow, load_settings({}), date(2026, 10, 5), DECEMBER,
                                         relay_id=RELAY_ID, space_kind="desk"))
    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(changed) == [0, 1]
    (note,) = credit_notes(billing)
    assert (note["preceding_document_id"], note["total_net_cents"]) == (invoice["id"], 200)
    assert chain_is_intact(databases, 2)
