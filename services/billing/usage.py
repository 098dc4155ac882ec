"""Use cases of billing: rate cards, and the usage line each booking leaves."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from common import errors
from common.validation import is_uuid
from services.billing import pricing
from services.billing.models import KnownRelay, RateCard, UsageLine


def remember_relay(uow, data):
    uow.session.execute(
        insert(KnownRelay)
        .values(relay_id=data["relay_id"], name=data["name"], timezone=data["timezone"])
        .on_conflict_do_update(index_elements=[KnownRelay.relay_id],
                               set_={"name": data["name"], "timezone": data["timezone"]}))


def set_rate_card(uow, caller, relay_id, data):
    caller.require("network_admin")
    if not is_uuid(relay_id) or uow.session.get(KnownRelay, relay_id) is None:
        raise errors.NotFound(f"No relay {relay_id}.")
    rate_card = RateCard(relay_id=relay_id, **data)
    uow.session.add(rate_card)
    try:
        uow.session.flush()
    except IntegrityError:
        raise errors.Conflict(
            "This relay already has a rate card for that kind of space from that date.",
            code="rate-card-exists", fields={"valid_from": ["Already has a rate card."]}) from None
    uow.publish("billing.rate_card_set", {
        "rate_card_id": rate_card.id, "relay_id": relay_id, "space_kind": rate_card.space_kind,
        "half_day_price_cents": rate_card.half_day_price_cents,
        "vat_rate_bp": rate_card.vat_rate_bp, "valid_from": rate_card.valid_from,
    })
    return rate_card


def list_rate_cards(session, relay_id):
    if not is_uuid(relay_id):
        raise errors.NotFound(f"No relay {relay_id}.")
    return session.execute(
        select(RateCard).where(RateCard.relay_id == relay_id)
        .order_by(RateCard.space_kind, RateCard.valid_from.desc())
    ).scalars().all()


def rate_card_in_force(session, relay_id, space_kind, day):
    return session.execute(
        select(RateCard)
        .where(RateCard.relay_id == relay_id, RateCard.space_kind == space_kind,
               RateCard.valid_from <= day)
        .order_by(RateCard.valid_from.desc()).limit(1)
    ).scalar_one_or_none()


def record_usage(uow, booking):
    """The usage line of a confirmed booking (``booking.confirmed`` data, loaded).
    If the cancellation overtook the confirmation, its line is already there."""
    existing = uow.session.execute(
        select(UsageLine).where(UsageLine.booking_id == booking["booking_id"])).scalar_one_or_none()
    return existing or new_usage_line(uow, booking)


def record_cancellation(uow, cancellation):
    """A cancelled booking (``booking.cancelled`` data, loaded): in time, its
    line is void and billed nothing; late (by the member or their company, less
    than 24 h before the start), it stays billable and is flagged. The event
    carries every fact of the booking, so the line is made from it if the
    confirmation has not arrived yet."""
    line = uow.session.execute(
        select(UsageLine).where(UsageLine.booking_id == cancellation["booking_id"])
        .with_for_update()).scalar_one_or_none()
    if line is None:
        line = new_usage_line(uow, cancellation)
    line.cancelled_at = cancellation["cancelled_at"]
    line.late_cancellation = cancellation["late"]
    if not cancellation["late"]:
        line.status = "void"
    uow.session.flush()
    return line


def new_usage_line(uow, booking):
    rate_card = rate_card_in_force(uow.session, booking["relay_id"], booking["space_kind"],
                                   booking["date"])
    line = UsageLine(
        booking_id=booking["booking_id"], relay_id=booking["relay_id"],
        organisation_id=booking["organisation_id"], member_id=booking["member_id"],
        space_kind=booking["space_kind"], date=booking["date"], slot=booking["slot"],
        half_days=booking["half_days"], status="unpriced")
    if rate_card is not None:
        price = pricing.price_line(booking["half_days"], rate_card.half_day_price_cents,
                                   rate_card.vat_rate_bp)
        line.status = "priced"
        line.rate_card_id = rate_card.id
        line.unit_price_cents = price.unit_price_cents
        line.vat_rate_bp = price.vat_rate_bp
        line.amount_excl_vat_cents = price.amount_excl_vat_cents
        line.vat_cents = price.vat_cents
        line.amount_incl_vat_cents = price.amount_incl_vat_cents
    uow.session.add(line)
    uow.session.flush()
    return line


def list_usage_lines(session, caller, query):
    statement = select(UsageLine).order_by(UsageLine.date.desc(), UsageLine.id)
    if not caller.sees_whole_network:
        if caller.has("corporate_admin"):
            statement = statement.where(UsageLine.organisation_id == caller.organisation_id)
        else:
            statement = statement.where(UsageLine.member_id == caller.user_id)
    if "booking_id" in query:
        statement = statement.where(UsageLine.booking_id == str(query["booking_id"]))
    if "organisation_id" in query:
        statement = statement.where(UsageLine.organisation_id == str(query["organisation_id"]))
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()
