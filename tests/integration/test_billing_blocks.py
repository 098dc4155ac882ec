"""Billing follows a block of reserved capacity as agreed, over real RabbitMQ and
PostgreSQL: billed whole, a fixed line each month on the holder's invoice and
its bookings included; per use, its bookings billed like any other; the relay's
settlement counts both. The clock is billing's pinned one (November 2026)."""
import uuid

from tests.integration.conftest import ADMIN, rows, wait_for
from tests.integration.test_billing_invoices import (  # noqa: F401 (fixtures)
    COMPANY_A, COMPANY_B, RELAY_ID, all_rendered, billing, billing_container, booking_of,
    confirm, invoice_of,
)


def block_of(company, billing, monthly_price_cents=None):
    return {"block_id": str(uuid.uuid4()), "relay_id": RELAY_ID, "organisation_id": company,
            "space_ids": [str(uuid.uuid4())], "space_kind": "desk", "weekday": "monday",
            "slot": "day", "local_start": "08:30", "local_end": "18:00",
            "starts_on": "2026-10-05", "ends_on": "2026-11-30", "release_hours": 48,
            "billing": billing, "monthly_price_cents": monthly_price_cents, "places": 9,
            "timezone": "Europe/Paris"}


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
