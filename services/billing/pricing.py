"""Money rules. Pure domain code (standard library only).

Amounts are integer cents in EUR; VAT rates and discounts are basis points
(2000 = 20 %). No float ever touches money.

**The rounding rule, written once** (``round_half_up``): whenever an amount in
cents has to be multiplied by a rate or a fractional quantity, the exact result
is rounded half away from zero to the cent. It is applied

- to a contract's discount, once, on the unit price (so an invoice line's unit
  price times its quantity is its amount, as an accountant checks it);
- to a room's amount (hourly price x hours in half-hour steps);
- to VAT, per usage line, on its amount excluding VAT (the line's total
  including VAT is the sum of the two, so totals always add up);
- to the network's commission, per settlement, on its gross amount.

Which price applies to a booking (``unit_price``): the corporate contract in
force on the booking's date, if it sets its own price for that kind of space;
else the relay's rate card in force on that date, less the contract's discount
if there is one. Desks are sold by the half-day (a morning or an afternoon) or
by the day; rooms by the hour.
"""
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from contracts.vocabulary import HOURLY_SPACE_KINDS, STANDARD_VAT_RATE_BP
from services.billing.calendar import month_of, paris_today

BP = 10000

HALF_DAY, DAY, HOUR, MONTH = "half_day", "day", "hour", "month"
# UN/ECE recommendation 20 codes of the units (Factur-X needs them); a
# half-day is half a DAY; a block billed whole is a fixed price a MONth.
UNIT_CODES = {HALF_DAY: "DAY", DAY: "DAY", HOUR: "HUR", MONTH: "MON"}


def round_half_up(numerator, denominator=1):
    """numerator / denominator rounded half away from zero, integers only."""
    numerator, denominator = int(numerator), int(denominator)
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    numerator, denominator = abs(numerator), abs(denominator)
    return sign * ((2 * numerator + denominator) // (2 * denominator))


def vat_of(amount_cents, vat_rate_bp):
    """amount x rate rounded half away from zero; symmetric, so a credit note
    cancels its invoice's VAT exactly."""
    return round_half_up(amount_cents * vat_rate_bp, BP)


def share_of(amount_cents, rate_bp):
    """A basis-point share of an amount (a commission, a discount)."""
    return round_half_up(amount_cents * rate_bp, BP)


@dataclass(frozen=True)
class LinePrice:
    unit: str                   # half_day, day or hour
    quantity: Decimal           # in units: 1 half-day, 1 day, 1.5 hours
    unit_price_cents: int
    vat_rate_bp: int
    amount_excl_vat_cents: int
    vat_cents: int

    @property
    def amount_incl_vat_cents(self):
        return self.amount_excl_vat_cents + self.vat_cents


@dataclass(frozen=True)
class Card:
    """The prices of one kind of space (a rate card, or a contract's own prices).
    ``None`` where the card does not set that price."""
    half_day_price_cents: int | None = None
    day_price_cents: int | None = None
    hour_price_cents: int | None = None


def unit_and_quantity(space_kind, slot, half_days, duration_minutes):
    """How a booking is counted: desks by the half-day or the day, rooms,
    booths, visio and study rooms by the hour (half-hour steps: booking's rooms
    are booked in 30-minute steps; a session is so many hours)."""
    if space_kind in HOURLY_SPACE_KINDS or slot == "hours":
        return HOUR, Decimal(duration_minutes) / Decimal(60)
    if slot == "day" or half_days == 2:
        return DAY, Decimal(1)
    return HALF_DAY, Decimal(half_days)


def card_unit_price(card, unit):
    """A card's price of one unit, or None if it has none. A desk card that
    predates day prices sells a day as two half-days."""
    if unit == HOUR:
        return card.hour_price_cents
    if unit == DAY:
        if card.day_price_cents is not None:
            return card.day_price_cents
        if card.half_day_price_cents is not None:
            return 2 * card.half_day_price_cents
        return None
    return card.half_day_price_cents


def unit_price(unit, rate_card, contract_card=None, discount_bp=0):
    """The unit price in force: the contract's own price, else the rate card's
    less the contract's discount (rounded once, on the unit price)."""
    if contract_card is not None:
        own = card_unit_price(contract_card, unit)
        if own is not None:
            return own
    if rate_card is None:
        return None
    listed = card_unit_price(rate_card, unit)
    if listed is None:
        return None
    return listed - share_of(listed, discount_bp or 0)


def amount_of(quantity, unit_price_cents):
    """quantity x unit price, rounded by the rule (exact for whole quantities)."""
    quantity = Decimal(quantity)
    numerator, denominator = quantity.as_integer_ratio()
    return round_half_up(numerator * unit_price_cents, denominator)


def price_line(unit, quantity, unit_price_cents, vat_rate_bp):
    amount = amount_of(quantity, unit_price_cents)
    return LinePrice(unit, Decimal(quantity), unit_price_cents, vat_rate_bp, amount,
                     vat_of(amount, vat_rate_bp))


def in_force(periods, day: date):
    """The period (with ``valid_from`` and an inclusive ``valid_until`` or None)
    that covers ``day``, or None. Periods never overlap (the database says so)."""
    for period in periods:
        if period.valid_from <= day and (period.valid_until is None or day <= period.valid_until):
            return period
    return None


def check_card(space_kind, card):
    """What is wrong with a card for that kind of space, as {field: [messages]}."""
    problems = {}
    if space_kind in HOURLY_SPACE_KINDS:
        if card.hour_price_cents is None:
            problems["hour_price_cents"] = ["A room is priced by the hour."]
    elif card.half_day_price_cents is None:
        problems["half_day_price_cents"] = ["A desk is priced by the half-day."]
    for name in ("half_day_price_cents", "day_price_cents", "hour_price_cents"):
        value = getattr(card, name)
        if value is not None and value < 0:
            problems[name] = ["A price is never negative."]
    return problems


def block_months(starts_on: date, ends_on: date):
    """The first day of a block's period in each calendar month it touches:
    the date of that month's line when the block is billed whole."""
    firsts, day = [], starts_on
    while day <= ends_on:
        firsts.append(day)
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    return firsts


def block_month_billed(day: date, cancelled_at=None):
    """Is the month of ``day`` paid by a block billed whole? Every month of its
    period, but for a cancelled block not the months wholly after the one it
    was cancelled in (Paris). That month itself is billed whole, as agreed:
    its places were held for the holder until then."""
    return cancelled_at is None or month_of(day) <= month_of(paris_today(cancelled_at))
