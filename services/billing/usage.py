"""Use cases of usage: the usage line each booking leaves, priced by the rate
card and the company's contract in force on its date; and billing's
projections of relays and organisations."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from common.db import core_execute, new_id
from services.billing import corrections, invoicing, issuing, pricing
from services.billing.prices import prices_in_force_of
from services.billing.models import (
    DRAFT, BillingDocument, BlockAgreement, InvoicedUsage, KnownMember, KnownOrganisation,
    UsageLine,
)


ORGANISATION_FIELDS = ("kind", "name", "legal_name", "siret", "vat_number", "billing_email",
                       "billing_address")


def remember_organisation(uow, data):
    """identity's organisation data: the legal identity printed on documents."""
    values = {name: data.get(name) for name in ORGANISATION_FIELDS}
    uow.session.execute(
        insert(KnownOrganisation).values(organisation_id=data["organisation_id"], **values)
        .on_conflict_do_update(index_elements=[KnownOrganisation.organisation_id], set_=values))


def remember_member(uow, data):
    """identity's user data: the name an invoice line gives a member."""
    values = {"organisation_id": data.get("organisation_id"), "full_name": data["full_name"]}
    uow.session.execute(
        insert(KnownMember).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[KnownMember.user_id], set_=values))


# One line per booking: a line already there (its cancellation overtook the
# confirmation, a replica wrote it first, or the event was delivered again) is
# kept as it is. RETURNING makes SQLAlchemy send a batch's rows as one
# ``INSERT ... VALUES (...), (...)`` ("insertmanyvalues"): without it, an ON
# CONFLICT insert of several rows goes row by row (``executemany``).
INSERT_USAGE_LINES = (insert(UsageLine.__table__)
                      .on_conflict_do_nothing(index_elements=[UsageLine.booking_id])
                      .returning(UsageLine.booking_id))
# The columns a new booking's line is written with; the others keep their
# defaults (created_at, late_cancellation) or stay NULL (cancelled_at).
NEW_LINE_COLUMNS = tuple(column.key for column in UsageLine.__table__.columns
                         if column.key not in ("created_at", "late_cancellation",
                                               "cancelled_at"))


def record_usage(uow, booking):
    """The usage line of a confirmed booking (``booking.confirmed`` data, loaded).
    If the cancellation overtook the confirmation, its line is already there."""
    record_usages(uow, [booking])


def record_usages(uow, bookings):
    """``record_usage`` of each booking, in two statements whatever their
    number: the prices in force on their dates read by one
    (``prices.prices_in_force_of``), the lines written by one ``INSERT ...
    VALUES (...), (...) ON CONFLICT (booking_id) DO NOTHING`` (Core, no ORM
    flush). billing's ``booking.confirmed`` consumer hands it a batch of
    events (common.consumer.BatchEventHandler)."""
    if not bookings:
        return
    lines = usage_lines_of(uow.session, bookings)
    # In the bookings' order: two transactions writing lines of the same
    # bookings (a redelivery on another replica) wait, never deadlock.
    lines.sort(key=lambda line: line.booking_id)
    core_execute(uow.session, INSERT_USAGE_LINES, [
        {key: getattr(line, key) for key in NEW_LINE_COLUMNS} for line in lines])


def record_cancellation(uow, cancellation, now, settings):
    """A cancelled booking (``booking.cancelled`` data, loaded): in time, its
    line is void and billed nothing; late (by the member or their company, less
    than 24 h before the start), it stays billable and is flagged. The event
    carries every fact of the booking, so the line is made from it if the
    confirmation has not arrived yet. A line voided after its invoice was
    finalized is credited (``corrections.credit_cancelled_usage``)."""
    line = uow.session.execute(
        select(UsageLine).where(UsageLine.booking_id == cancellation["booking_id"])
        .with_for_update()).scalar_one_or_none()
    if line is None:
        line = new_usage_line(uow, cancellation)
    line.cancelled_at = cancellation["cancelled_at"]
    line.late_cancellation = cancellation["late"]
    if not cancellation["late"] and line.status != "void":
        before = corrections.price_by_rate(line)
        line.status = "void"
        uow.session.flush()
        if before:
            corrections.credit_cancelled_usage(uow, line, before, now, settings)
    uow.session.flush()
    return line


def card_of(row):
    return pricing.Card(row.half_day_price_cents, row.day_price_cents,
                        row.hour_price_cents) if row is not None else None


def price_of(session, booking):
    """(rate card, contract, unit, quantity, LinePrice or None) of a booking
    (its event's facts, or a quote's request): the company's contract (own
    price or discount) over the relay's rate card in force on the booking's
    date (pricing.py). None: nothing prices it yet."""
    return priced(booking, *prices_in_force_of(session, [wanted_prices(booking)])[0])


def wanted_prices(booking):
    """What ``prices.prices_in_force_of`` looks a booking's prices up by."""
    return booking["relay_id"], booking["space_kind"], payer_of(booking), booking["date"]


def priced(booking, rate_card, contract):
    """``price_of``, the rate card and contract in force already read."""
    unit, quantity = pricing.unit_and_quantity(booking["space_kind"], booking["slot"],
                                               booking["half_days"], booking["duration_minutes"])
    unit_price = pricing.unit_price(unit, card_of(rate_card), card_of(contract),
                                    contract.discount_bp if contract else 0)
    price = None
    if unit_price is not None:
        price = pricing.price_line(unit, quantity, unit_price,
                                   rate_card.vat_rate_bp if rate_card else
                                   pricing.STANDARD_VAT_RATE_BP)
    return rate_card, contract, unit, quantity, price


def quote(session, request):
    """``billing.quote``: what a usage line of this booking would cost,
    excluding VAT, by the same rule as ``new_usage_line``; writes nothing."""
    half_days = {"morning": 1, "afternoon": 1, "day": 2}.get(
        request["slot"], max(1, -(-request["duration_minutes"] // 240)))
    *_, price = price_of(session, dict(request, half_days=half_days))
    if price is None:
        return {"priced": False, "price_cents": 0}
    return {"priced": True, "price_cents": price.amount_excl_vat_cents}


def payer_of(booking):
    """Who a booking is invoiced to: the programme it was made under (a
    resident's booking: the programme pays, not the resident), else the
    member's organisation. A usage line's ``organisation_id`` is the payer, so
    the month run puts it on the payer's invoice like any company's."""
    return booking.get("programme_id") or booking["organisation_id"]


def new_usage_line(uow, booking):
    """Priced by the prices in force on the booking's date (``price_of``);
    ``included`` (billed nothing) when made in a block billed whole."""
    line = usage_line_of(uow.session, booking)
    uow.session.add(line)
    uow.session.flush()
    return line


def usage_lines_of(session, bookings):
    """``usage_line_of`` each booking, the prices in force on their dates read
    by one statement for them all."""
    prices = prices_in_force_of(session, [wanted_prices(booking) for booking in bookings])
    return [usage_line_of(session, booking, prices_in_force)
            for booking, prices_in_force in zip(bookings, prices)]


def usage_line_of(session, booking, prices_in_force=None):
    """The usage line of a booking, priced, not added to the session yet
    (``prices_in_force``: its (rate card, contract) if already read)."""
    line = UsageLine(
        id=new_id(),
        booking_id=booking["booking_id"], relay_id=booking["relay_id"],
        organisation_id=payer_of(booking), member_id=booking["member_id"],
        space_kind=booking["space_kind"], date=booking["date"], slot=booking["slot"],
        half_days=booking["half_days"], duration_minutes=booking["duration_minutes"],
        block_id=booking.get("block_id"), status="unpriced")
    if included_in_block(session, booking.get("block_id"), booking["date"]):
        line.status = "included"
    elif prices_in_force is None:
        set_price(line, *price_of(session, booking))
    else:
        set_price(line, *priced(booking, *prices_in_force))
    return line


def lock_block(session, block_id):
    """Serialises what billing does with one block: a booking's line made
    while its ``booking.block_created`` or ``block_cancelled`` is being
    recorded either sees the agreement as it ends up, or is seen by it
    (``blocks.py``), whichever commits first."""
    issuing.advisory_lock(session, f"block:{block_id}")


def included_in_block(session, block_id, day):
    """Is a booking made in this block on ``day`` paid by the block's monthly
    price (billed whole, and that month billed: ``pricing.block_month_billed``)?"""
    if block_id is None:
        return False
    lock_block(session, block_id)
    agreement = session.get(BlockAgreement, block_id)
    return (agreement is not None and agreement.billing == "whole"
            and pricing.block_month_billed(day, agreement.cancelled_at))


def set_price(line, rate_card, contract, unit, quantity, price):
    """Write ``price_of``'s answer on a line; True if its price changed."""
    before = (line.status, line.unit, line.quantity, line.unit_price_cents, line.vat_rate_bp)
    line.unit, line.quantity = unit, quantity
    if price is not None:
        line.status = "priced" if line.status == "unpriced" else line.status
        line.rate_card_id = rate_card.id if rate_card else None
        line.contract_id = contract.id if contract else None
        line.unit_price_cents = price.unit_price_cents
        line.vat_rate_bp = price.vat_rate_bp
        line.amount_excl_vat_cents = price.amount_excl_vat_cents
        line.vat_cents = price.vat_cents
        line.amount_incl_vat_cents = price.amount_incl_vat_cents
    return before != (line.status, line.unit, line.quantity, line.unit_price_cents,
                      line.vat_rate_bp)


def reprice(uow, settings, valid_from, now, relay_id=None, space_kind=None,
            organisation_id=None):
    """A rate card (``relay_id``, ``space_kind``) or a contract
    (``organisation_id``) set today applies to bookings on or after its start,
    also those made before it was set: their usage lines are priced again by
    the prices in force on their dates. A draft holding one is rewritten; a
    final invoice never changes: the difference is corrected by other
    documents (``corrections.correct_final_usage``). A settlement already
    issued keeps the gross it paid (see the README). Returns how many lines
    changed price."""
    statement = select(UsageLine).where(
        UsageLine.date >= valid_from, UsageLine.status.in_(("priced", "unpriced")),
        UsageLine.booking_id.is_not(None))  # a block's monthly line has its agreed price
    if relay_id is not None:
        statement = statement.where(UsageLine.relay_id == relay_id,
                                    UsageLine.space_kind == space_kind)
    if organisation_id is not None:
        statement = statement.where(UsageLine.organisation_id == organisation_id)
    changed = []
    for line in uow.session.execute(statement.order_by(UsageLine.id).with_for_update()).scalars():
        before = corrections.price_by_rate(line)
        if set_price(line, *price_of(uow.session, facts_of(line))):
            changed.append((line, before))
    uow.session.flush()
    if not changed:
        return 0
    drafts = uow.session.execute(
        select(InvoicedUsage.invoice_id).distinct()
        .join(BillingDocument, BillingDocument.id == InvoicedUsage.invoice_id)
        .where(BillingDocument.status == DRAFT,
               InvoicedUsage.usage_line_id.in_([line.id for line, _ in changed]))
    ).scalars().all()
    invoicing.write_invoice_lines(uow.session, sorted(drafts), settings.line_grouping)
    corrections.correct_final_usage(uow, changed, corrections.REPRICED, now, settings)
    return len(changed)


def facts_of(line):
    """A usage line's booking facts, as ``price_of`` reads them."""
    return {"relay_id": line.relay_id, "space_kind": line.space_kind,
            "organisation_id": line.organisation_id, "date": line.date, "slot": line.slot,
            "half_days": line.half_days, "duration_minutes": line.duration_minutes}


def list_usage_lines(session, caller, query):
    statement = select(UsageLine).order_by(UsageLine.date.desc(), UsageLine.id)
    if not caller.sees_whole_network:
        if caller.has("corporate_admin", "programme_admin"):
            statement = statement.where(UsageLine.organisation_id == caller.organisation_id)
        else:
            statement = statement.where(UsageLine.member_id == caller.user_id)
    if "booking_id" in query:
        statement = statement.where(UsageLine.booking_id == str(query["booking_id"]))
    if "organisation_id" in query:
        statement = statement.where(UsageLine.organisation_id == str(query["organisation_id"]))
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()
