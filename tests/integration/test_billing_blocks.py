"""Billing follows a block of reserved capacity as agreed, over real RabbitMQ and
PostgreSQL: billed whole, a fixed line each month on the holder's invoice and
its bookings included; per use, its bookings billed like any other; the relay's
settlement counts both. Whatever order booking's events come in, and when the
block is cancelled. The clock is billing's pinned one (November 2026), or
passed in."""
import threading
import uuid
from datetime import date, datetime, timezone

import pytest

from common.caller import load_caller
from common.events import make_envelope
from contracts import events
from services.billing import blocks, invoicing, usage
from services.billing.models import Base
from services.billing.settings import load_settings
from tests.integration.conftest import ADMIN, rows, second_waits_for_first, wait_for
from tests.integration.test_billing_corrections import DECEMBER, chain_is_intact, credit_notes
from tests.integration.test_billing_invoices import (  # noqa: F401 (fixtures)
    COMPANY_A, COMPANY_B, RELAY_ID, all_rendered, billing, billing_container, booking_of,
    confirm, invoice_of, uow_for,
)


def block_of(company, billing, monthly_price_cents=None, ends_on="2026-11-30"):
    return {"block_id": str(uuid.uuid4()), "relay_id": RELAY_ID, "organisation_id": company,
            "space_ids": [str(uuid.uuid4())], "space_kind": "desk", "weekday": "monday",
            "slot": "day", "local_start": "08:30", "local_end": "18:00",
            "starts_on": "2026-10-05", "ends_on": ends_on, "release_hours": 48,
            "billing": billing, "monthly_price_cents": monthly_price_cents, "places": 9,
            "timezone": "Europe/Paris"}


def line_status(databases, *bookings):
    by_booking = {str(r["booking_id"]): (r["status"], r["amount_excl_vat_cents"]) for r in rows(
        databases["billing"], "SELECT * FROM usage_lines WHERE booking_id IS NOT NULL")}
    return [by_booking[booking["booking_id"]] for booking in bookings]


def block_months(databases, block):
    return [(str(r["date"]), r["status"]) for r in rows(
        databases["billing"], "SELECT date, status FROM usage_lines WHERE block_id = :block "
        "AND booking_id IS NULL ORDER BY date", block=block["block_id"])]


def november_draft(databases):
    """November's invoices, run as on 5 December (billing's own clock says November)."""
    with uow_for(databases) as uow:
        invoicing.run_month(uow, load_caller(ADMIN), date(2026, 11, 1), DECEMBER,
                            load_settings({}))


def draft_total(billing):
    (draft,) = billing.list_documents(caller=ADMIN, query={"status": "draft"})
    return billing.get_document(caller=ADMIN, document_id=draft["id"])["total_net_cents"]


def test_a_block_is_billed_whole_or_per_use_and_the_settlement_counts_it(
        billing, publish_event, databases):
    whole, per_use = block_of(COMPANY_A, "whole", 40000), block_of(COMPANY_B, "per_use")
    publish_event("booking", "booking.block_created", whole)
    publish_event("booking", "booking.block_created", per_use)
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM block_agreements")) == 2)
    monthly = rows(databases["billing"], "SELECT date, amount_excl_vat_cents, unit FROM "
                   "usage_lines WHERE block_id = :block ORDER BY date", block=whole["block_id"])
    assert [(str(r["date"]), r["amount_excl_vat_cents"], r["unit"]) for r in monthly] == [
        ("2026-10-05", 40000, "month"), ("2026-11-01", 40000, "month")]

    in_whole = dict(booking_of(COMPANY_A), block_id=whole["block_id"])
    outside = booking_of(COMPANY_A, "2026-10-06")
    in_per_use = dict(booking_of(COMPANY_B), block_id=per_use["block_id"])
    confirm(publish_event, databases, in_whole, outside, in_per_use)
    status = {str(r["booking_id"]): (r["status"], r["amount_excl_vat_cents"]) for r in rows(
        databases["billing"], "SELECT * FROM usage_lines WHERE booking_id IS NOT NULL")}
    assert status[in_whole["booking_id"]] == ("included", None)
    assert status[outside["booking_id"]] == ("priced", 2200)
    assert status[in_per_use["booking_id"]] == ("priced", 2200)
    # The line set by the agreement keeps its price when a rate card changes.
    billing.set_rate_card(caller=ADMIN, relay_id=RELAY_ID, payload={
        "space_kind": "desk", "half_day_price_cents": 1500, "day_price_cents": 2200,
        "valid_from": "2026-10-02"})
    assert rows(databases["billing"], "SELECT amount_excl_vat_cents FROM usage_lines "
                "WHERE block_id = :block AND booking_id IS NULL", block=whole["block_id"]
                )[0]["amount_excl_vat_cents"] == 40000

    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    mine = billing.get_document(caller=ADMIN, document_id=invoice_of(billing, COMPANY_A)["id"])
    assert mine["total_net_cents"] == 40000 + 2200
    (block_line,) = [line for line in mine["lines"] if line["unit_code"] == "MON"]
    assert block_line["net_cents"] == 40000 and "Capacité réservée" in block_line["description"]
    assert invoice_of(billing, COMPANY_B)["total_net_cents"] == 2200
    billing.finalize_invoice(caller=ADMIN, document_id=mine["id"])
    assert all_rendered(databases)   # its Factur-X (a month's unit, MON) is valid

    billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})
    assert settlement["total_net_cents"] == 40000 + 2200 + 2200


def test_bookings_heard_of_before_their_block_billed_whole_are_included_when_it_comes(
        billing, publish_event, databases):
    """booking.confirmed before booking.block_created (the other order is the
    test above): the lines become included; on a draft, it is rewritten; on
    a final invoice, a credit note cites it, once however often the block comes."""
    whole = block_of(COMPANY_A, "whole", 40000)
    october, november = (dict(booking_of(COMPANY_A, day), block_id=whole["block_id"])
                         for day in ("2026-10-05", "2026-11-02"))
    outside = booking_of(COMPANY_A, "2026-11-03")
    confirm(publish_event, databases, october, november, outside)
    assert line_status(databases, october, november) == [("priced", 2200)] * 2
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    invoice = billing.finalize_invoice(caller=ADMIN,
                                       document_id=invoice_of(billing, COMPANY_A)["id"])
    november_draft(databases)
    assert draft_total(billing) == 2200 + 2200

    envelope = publish_event("booking", "booking.block_created", whole)
    publish_event("booking", "booking.block_created", None, envelope=envelope)   # redelivered
    publish_event("booking", "booking.block_created", whole)       # sent again, a new event
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM inbox WHERE "
                                     "consumer = 'billing.on_block_created'")) == 2)
    assert line_status(databases, october, november) == [("included", 2200)] * 2
    (note,) = credit_notes(billing)
    note = billing.get_document(caller=ADMIN, document_id=note["id"])
    assert (note["preceding_document_id"], note["total_net_cents"]) == (invoice["id"], 2200)
    assert invoice["number"] in note["lines"][0]["description"]
    assert draft_total(billing) == 2200                 # only the booking outside the block
    assert billing.get_document(caller=ADMIN, document_id=invoice["id"])["total_net_cents"] \
        == 2200
    assert chain_is_intact(databases, 2)


def test_a_cancelled_block_is_billed_up_to_the_month_it_was_cancelled_in(
        billing, publish_event, databases):
    """Cancelled in October: October billed whole as agreed; November's line,
    on a draft, void and the draft rewritten; December's, unbilled, void; the
    bookings made in it those months billed per use. Redelivered, nothing more."""
    whole = block_of(COMPANY_A, "whole", 40000, ends_on="2026-12-28")
    publish_event("booking", "booking.block_created", whole)
    assert wait_for(lambda: len(block_months(databases, whole)) == 3)
    in_block = [dict(booking_of(COMPANY_A, day), block_id=whole["block_id"])
                for day in ("2026-10-05", "2026-11-02", "2026-12-07")]
    outside = booking_of(COMPANY_A, "2026-11-03")
    confirm(publish_event, databases, *in_block, outside)
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    invoice = billing.finalize_invoice(caller=ADMIN,
                                       document_id=invoice_of(billing, COMPANY_A)["id"])
    november_draft(databases)
    assert draft_total(billing) == 40000 + 2200

    envelope = publish_event("booking", "booking.block_cancelled", {
        "block_id": whole["block_id"], "relay_id": RELAY_ID, "organisation_id": COMPANY_A,
        "cancelled_at": "2026-10-20T08:00:00+00:00"})
    publish_event("booking", "booking.block_cancelled", None, envelope=envelope)
    publish_event("booking", "booking.block_cancelled", envelope["data"])   # a new event
    assert wait_for(lambda: len(rows(databases["billing"], "SELECT 1 FROM inbox WHERE "
                                     "consumer = 'billing.on_block_cancelled'")) == 2)
    assert block_months(databases, whole) == [
        ("2026-10-05", "priced"), ("2026-11-01", "void"), ("2026-12-01", "void")]
    assert line_status(databases, *in_block) == [
        ("included", None), ("priced", 2200), ("priced", 2200)]
    assert draft_total(billing) == 2200
    assert credit_notes(billing) == []
    assert billing.get_document(caller=ADMIN, document_id=invoice["id"])["total_net_cents"] \
        == 40000
    november_draft(databases)          # the run takes November's booking, now per use
    assert draft_total(billing) == 2200 + 2200


def test_a_month_on_a_final_invoice_after_the_cancellation_is_credited_once_by_two_replicas(
        billing, publish_event, databases):
    """The cancellation heard of late (made in September, its event after
    October's invoice was final): October is credited by a credit note citing
    it, once, though two replicas record the cancellation at once."""
    whole = block_of(COMPANY_A, "whole", 40000)
    publish_event("booking", "booking.block_created", whole)
    assert wait_for(lambda: len(block_months(databases, whole)) == 2)
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    invoice = billing.finalize_invoice(caller=ADMIN,
                                       document_id=invoice_of(billing, COMPANY_A)["id"])
    cancellation = {"block_id": whole["block_id"], "relay_id": RELAY_ID,
                    "organisation_id": COMPANY_A,
                    "cancelled_at": datetime(2026, 9, 30, 8, tzinfo=timezone.utc)}
    barrier = threading.Barrier(2)

    def replica():
        with uow_for(databases) as uow:
            barrier.wait()
            blocks.cancel_block(uow, cancellation, DECEMBER, load_settings({}))
    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert block_months(databases, whole) == [("2026-10-05", "void"), ("2026-11-01", "void")]
    (note,) = credit_notes(billing)
    note = billing.get_document(caller=ADMIN, document_id=note["id"])
    assert (note["preceding_document_id"], note["total_net_cents"]) == (invoice["id"], 40000)
    assert "capacité réservée" in note["lines"][0]["description"]
    publish_event("booking", "booking.block_cancelled", dict(
        cancellation, cancelled_at=cancellation["cancelled_at"].isoformat()))
    assert wait_for(lambda: rows(databases["billing"], "SELECT 1 FROM inbox WHERE "
                                 "consumer = 'billing.on_block_cancelled'"))
    assert len(credit_notes(billing)) == 1
    assert billing.get_document(caller=ADMIN, document_id=invoice["id"])["total_net_cents"] \
        == 40000
    assert chain_is_intact(databases, 2)


@pytest.mark.parametrize("first, second", [("block", "booking"), ("booking", "block")])
def test_a_booking_and_its_block_recorded_at_once_the_second_waits_and_it_is_included(
        billing, databases, first, second):
    """Two replicas, one recording the block (billed whole), the other a
    booking made in it: whichever writes first and stays open, the second
    waits for the block's lock, then sees it; the booking is included.
    Without the lock neither sees the other and the booking is priced."""
    whole = block_of(COMPANY_A, "whole", 40000)
    inside = dict(booking_of(COMPANY_A), block_id=whole["block_id"])
    block, confirmed = (events.load(make_envelope("booking", event_type, data)) for
                        event_type, data in (("booking.block_created", whole),
                                             ("booking.confirmed", inside)))
    sides = {"block": lambda uow: blocks.record_block(uow, block, DECEMBER, load_settings({})),
             "booking": lambda uow: usage.record_usage(uow, confirmed)}
    assert second_waits_for_first(databases["billing"], "billing", Base.metadata,
                                  sides[first], sides[second]) is None
    assert [status for status, _ in line_status(databases, inside)] == ["included"]
