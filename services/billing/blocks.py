"""Billing follows a block of reserved capacity as agreed (``booking.block_created``):
billed **whole**, one usage line a month of its period at the agreed price
(the holder's, at the block's relay, so the relay's settlement counts it), and
the bookings made in it are ``included`` (billed nothing more); billed **per
use**, its bookings are billed like any other.

Whatever order booking's events arrive in: a booking confirmed before billing
heard of its block billed whole is included when the block arrives; a block
cancelled (``booking.block_cancelled``) is billed up to the month it was
cancelled in (``pricing.block_month_billed``), and its bookings after that
month are billed per use. A line already on a final invoice is corrected by a
credit note citing it (``corrections.py``), never by changing the invoice.

Idempotent and safe with replicas: everything here runs under the block's
lock (``usage.lock_block``), then the usage lines' row locks, and changes only
lines not changed yet, so a redelivered event finds nothing left to do.
"""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.billing import corrections, pricing, usage
from services.billing.models import BlockAgreement, UsageLine


def record_block(uow, block, now, settings):
    """Remember the agreement; for a block billed whole, its monthly lines,
    and its bookings billing heard of first become included."""
    usage.lock_block(uow.session, block["block_id"])
    uow.session.execute(insert(BlockAgreement).values(
        block_id=block["block_id"], relay_id=block["relay_id"],
        organisation_id=block["organisation_id"], space_kind=block["space_kind"],
        billing=block["billing"], monthly_price_cents=block["monthly_price_cents"],
        starts_on=block["starts_on"], ends_on=block["ends_on"]).on_conflict_do_nothing())
    if block["billing"] != "whole":
        return
    price = pricing.price_line(pricing.MONTH, 1, block["monthly_price_cents"],
                               pricing.STANDARD_VAT_RATE_BP)
    for first_day in pricing.block_months(block["starts_on"], block["ends_on"]):
        uow.session.execute(insert(UsageLine).values(
            block_id=block["block_id"], relay_id=block["relay_id"],
            organisation_id=block["organisation_id"], space_kind=block["space_kind"],
            date=first_day, slot=block["slot"], half_days=0, status="priced",
            unit=pricing.MONTH, quantity=price.quantity, unit_price_cents=price.unit_price_cents,
            vat_rate_bp=price.vat_rate_bp, amount_excl_vat_cents=price.amount_excl_vat_cents,
            vat_cents=price.vat_cents, amount_incl_vat_cents=price.amount_incl_vat_cents,
        ).on_conflict_do_nothing())
    for line in locked_lines(uow.session, block["block_id"]):
        if line.booking_id is not None and line.status in ("priced", "unpriced"):
            no_longer_billed(uow, line, "included", corrections.INCLUDED, now, settings)


def cancel_block(uow, cancellation, now, settings):
    """``booking.block_cancelled``: the months wholly after the one it was
    cancelled in are not billed (their monthly lines void: a draft holding
    one rewritten, a final invoice credited), and the bookings made in it in
    those months are billed per use. A block billing has not heard of is
    left alone (known limit: see the README)."""
    usage.lock_block(uow.session, cancellation["block_id"])
    agreement = uow.session.get(BlockAgreement, cancellation["block_id"])
    if agreement is None or agreement.cancelled_at is not None:
        return
    agreement.cancelled_at = cancellation["cancelled_at"]
    if agreement.billing != "whole":
        return
    for line in locked_lines(uow.session, agreement.block_id):
        if pricing.block_month_billed(line.date, agreement.cancelled_at):
            continue
        if line.booking_id is None:        # the block's own line of that month
            no_longer_billed(uow, line, "void", corrections.CANCELLED, now, settings)
        elif line.status == "included":    # a booking the month's price no longer pays
            line.status = "unpriced"
            usage.set_price(line, *usage.price_of(uow.session, usage.facts_of(line)))
    uow.session.flush()


def locked_lines(session, block_id):
    """The block's usage lines not void (its months' and its bookings'),
    locked in id order, as ``usage.reprice`` locks them."""
    return session.execute(
        select(UsageLine).where(UsageLine.block_id == block_id, UsageLine.status != "void")
        .order_by(UsageLine.id).with_for_update()).scalars().all()


def no_longer_billed(uow, line, status, why, now, settings):
    """A line that stops being billed (``void`` or ``included``): a draft
    holding it is rewritten, a final invoice credited for it."""
    before = corrections.price_by_rate(line)
    line.status = status
    uow.session.flush()
    if before:
        corrections.credit_cancelled_usage(uow, line, before, now, settings, why)
