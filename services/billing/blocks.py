"""Billing follows a block of reserved capacity as agreed (``booking.block_created``):
billed **whole**, one usage line a month of its period at the agreed price
(the holder's, at the block's relay, so the relay's settlement counts it), and
the bookings made in it are ``included`` (billed nothing more); billed **per
use**, its bookings are billed like any other."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.billing import pricing
from services.billing.models import BlockAgreement, UsageLine


def record_block(uow, block):
    """Remember the agreement; for a block billed whole, its monthly lines."""
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


def billed_whole(session, block_id):
    """Is a booking made in this block paid by the block's monthly price?"""
    if block_id is None:
        return False
    return session.execute(select(BlockAgreement.billing).where(
        BlockAgreement.block_id == block_id)).scalar_one_or_none() == "whole"
