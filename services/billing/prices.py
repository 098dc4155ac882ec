"""Use cases of prices: rate cards, corporate contracts, commissions, and
which relay operator runs a relay. The rules are in pricing.py; overlapping
periods are refused by PostgreSQL (exclusion constraints), named here."""
from sqlalchemy import Date, Text, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.exc import IntegrityError, MultipleResultsFound

from common import errors
from common.validation import is_uuid
from services.billing import pricing
from services.billing.models import Commission, Contract, KnownRelay, RateCard
from services.billing.scope import require_admin_for_organisation


def remember_relay(uow, data):
    """booking's relay data (its events, or its answer): what billing knows a relay by."""
    uow.session.execute(
        insert(KnownRelay)
        .values(relay_id=data["relay_id"], name=data["name"], timezone=data["timezone"])
        .on_conflict_do_update(index_elements=[KnownRelay.relay_id],
                               set_={"name": data["name"], "timezone": data["timezone"]}))


def known_relay(uow, relay_id, ask_owner, for_update=False):
    """The relay as billing knows it. One created a moment ago may not have
    reached billing yet (``booking.relay_created`` is on its way): then booking,
    its owner, is asked (``ask_owner(relay_id)``: its ``get_relay`` answer or
    None), and what it says is remembered as the event would have been, so a
    network admin's "open a relay, then price it" works at once."""
    if not is_uuid(relay_id):
        raise errors.NotFound(f"No relay {relay_id}.")
    relay = uow.session.get(KnownRelay, relay_id, with_for_update=for_update)
    if relay is None:
        announced = ask_owner(relay_id)
        if announced is None:
            raise errors.NotFound(f"No relay {relay_id}.")
        remember_relay(uow, {"relay_id": announced["id"], "name": announced["name"],
                                   "timezone": announced["timezone"]})
        relay = uow.session.get(KnownRelay, relay_id, with_for_update=for_update)
    return relay


def check_prices(space_kind, data, required=True):
    card = pricing.Card(data.get("half_day_price_cents"), data.get("day_price_cents"),
                        data.get("hour_price_cents"))
    problems = pricing.check_card(space_kind, card)
    if not required:  # a contract may set only a discount, or only some prices
        problems = {k: v for k, v in problems.items() if "negative" in v[0]}
    if problems:
        raise errors.InvalidInput("These prices do not fit that kind of space.",
                                  code="invalid-price", fields=problems)


def add(uow, row, conflict_detail, code, fields):
    """Insert ``row``; a unique or exclusion violation is the named conflict."""
    uow.session.add(row)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:
        raise errors.Conflict(conflict_detail, code=code, fields=fields) from None
    return row


def vars_of(row):
    """A row's columns as a dict (the event's contract keeps what it names)."""
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


def set_rate_card(uow, caller, relay_id, data, ask_owner):
    caller.require("network_admin")
    known_relay(uow, relay_id, ask_owner)
    check_prices(data["space_kind"], data)
    rate_card = add(uow, RateCard(relay_id=relay_id, **data),
                    "This relay already has a rate card for that kind of space from that date.",
                    "rate-card-exists", {"valid_from": ["Already has a rate card."]})
    uow.publish("billing.rate_card_set", dict(vars_of(rate_card), rate_card_id=rate_card.id))
    return rate_card


def list_rate_cards(session, relay_id):
    if not is_uuid(relay_id):
        raise errors.NotFound(f"No relay {relay_id}.")
    return session.execute(
        select(RateCard).where(RateCard.relay_id == relay_id)
        .order_by(RateCard.space_kind, RateCard.valid_from.desc())
    ).scalars().all()


def _prices_in_force_statement():
    """For each wanted (relay, kind of space, payer, day), in the order given:
    the relay's rate card for that kind in force on the day (the latest
    started) and the payer's contract in force then, both outer-joined, so a
    missing one comes back as None. The wanted tuples come as arrays
    (``unnest``), so a batch of bookings is priced by one round trip."""
    wanted = func.unnest(
        bindparam("relay_ids", type_=ARRAY(UUID(as_uuid=False))),
        bindparam("space_kinds", type_=ARRAY(Text)),
        bindparam("organisation_ids", type_=ARRAY(UUID(as_uuid=False))),
        bindparam("days", type_=ARRAY(Date)),
    ).table_valued("relay_id", "space_kind", "organisation_id", "day",
                   with_ordinality="position").render_derived(name="wanted")
    rate_card_in_force = (
        select(RateCard.id)
        .where(RateCard.relay_id == wanted.c.relay_id,
               RateCard.space_kind == wanted.c.space_kind,
               RateCard.valid_from <= wanted.c.day)
        .order_by(RateCard.valid_from.desc()).limit(1).correlate(wanted).scalar_subquery())
    return (select(wanted.c.position, RateCard, Contract).select_from(wanted)
            .outerjoin(RateCard, RateCard.id == rate_card_in_force)
            .outerjoin(Contract, (Contract.organisation_id == wanted.c.organisation_id)
                       & (Contract.valid_from <= wanted.c.day)
                       & (Contract.valid_until.is_(None)
                          | (Contract.valid_until >= wanted.c.day)))
            .order_by(wanted.c.position))


# Built once, with bound parameters: a usage line per booking reads it, and
# building the selects each time cost more CPU than running them.
PRICES_IN_FORCE = _prices_in_force_statement()


def prices_in_force_of(session, wanted):
    """(rate card or None, contract or None) in force on the day of each
    (relay_id, space_kind, organisation_id, day) of ``wanted``, in the same
    order, read in one round trip; no contract without an organisation. Two
    contracts in force at once (which the exclusion constraint forbids) raise."""
    relay_ids, space_kinds, organisation_ids, days = (list(column) for column in zip(*wanted))
    rows = session.execute(PRICES_IN_FORCE, {
        "relay_ids": relay_ids, "space_kinds": space_kinds,
        "organisation_ids": organisation_ids, "days": days}).all()
    if len(rows) != len(wanted):
        raise MultipleResultsFound("two contracts in force on one day")
    return [(rate_card, contract) for _, rate_card, contract in rows]


def commission_in_force(session, operator_organisation_id, day):
    return session.execute(
        select(Commission).where(Commission.operator_organisation_id == operator_organisation_id,
                                 Commission.valid_from <= day)
        .where((Commission.valid_until.is_(None)) | (Commission.valid_until >= day))
    ).scalar_one_or_none()


def check_period(data):
    if data.get("valid_until") is not None and data["valid_until"] < data["valid_from"]:
        raise errors.InvalidInput("A period ends on or after its start.", code="invalid-period",
                                  fields={"valid_until": ["Before valid_from."]})


def set_contract(uow, caller, organisation_id, data):
    require_admin_for_organisation(caller, organisation_id)
    if not is_uuid(organisation_id):
        raise errors.NotFound(f"No organisation {organisation_id}.")
    check_period(data)
    check_prices("contract", data, required=False)
    if data.get("discount_bp") is None and all(
            data.get(name) is None for name in ("half_day_price_cents", "day_price_cents",
                                                "hour_price_cents")):
        raise errors.InvalidInput("A contract sets a discount or its own prices.",
                                  code="empty-contract",
                                  fields={"discount_bp": ["Set a discount or prices."]})
    contract = add(uow, Contract(organisation_id=organisation_id, **data),
                   "This company already has a contract in force over part of that period.",
                   "contract-overlap", {"valid_from": ["Overlaps another contract."]})
    uow.publish("billing.contract_set", dict(vars_of(contract), contract_id=contract.id))
    return contract


def periods_of(session, caller, model, owner_column, organisation_id):
    """An organisation's contracts or commissions, newest first: network
    staff see all, an organisation its own; anything else is "not found"."""
    if not is_uuid(organisation_id) or (
            not caller.sees_whole_network and caller.organisation_id != organisation_id):
        raise errors.NotFound(f"No organisation {organisation_id}.")
    return session.execute(select(model).where(owner_column == organisation_id)
                           .order_by(model.valid_from.desc())).scalars().all()


def list_contracts(session, caller, organisation_id):
    return periods_of(session, caller, Contract, Contract.organisation_id, organisation_id)


def set_commission(uow, caller, operator_organisation_id, data):
    require_admin_for_organisation(caller, operator_organisation_id)
    if not is_uuid(operator_organisation_id):
        raise errors.NotFound(f"No organisation {operator_organisation_id}.")
    check_period(data)
    commission = add(uow, Commission(operator_organisation_id=operator_organisation_id, **data),
                     "This relay operator already has a commission over part of that period.",
                     "commission-overlap", {"valid_from": ["Overlaps another commission."]})
    uow.publish("billing.commission_set", dict(vars_of(commission), commission_id=commission.id))
    return commission


def list_commissions(session, caller, operator_organisation_id):
    return periods_of(session, caller, Commission, Commission.operator_organisation_id,
                      operator_organisation_id)


def set_relay_operator(uow, caller, relay_id, data, ask_owner):
    """Booking's relay events do not say who runs a relay: a network admin
    tells billing, which settles with that operator."""
    caller.require("network_admin")
    relay = known_relay(uow, relay_id, ask_owner, for_update=True)
    relay.operator_organisation_id = str(data["operator_organisation_id"])
    uow.session.flush()
    return relay
