"""Money: integer cents, VAT in basis points, rounded half up per line."""
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from contracts.vocabulary import STANDARD_VAT_RATE_BP
from services.billing.pricing import (
    DAY, HALF_DAY, HOUR, Card, block_month_billed, block_months, check_card, price_line,
    round_half_up, share_of, unit_and_quantity, unit_price, vat_of,
)
from services.booking.slots import HALF_DAYS


@pytest.mark.parametrize("amount_cents, rate_bp, expected_vat", [
    (1250, 2000, 250),   # 12.50 EUR at 20 %
    (1, 2000, 0),        # 0.2 cent rounds down
    (2, 2000, 0),        # 0.4 cent rounds down
    (3, 2000, 1),        # 0.6 cent rounds up
    (5, 1000, 1),        # exactly 0.5 cent: half up
    (15, 1000, 2),       # 1.5 cents: half up
    (25, 1000, 3),       # 2.5 cents: half up (not banker's rounding, which gives 2)
    (1999, 550, 110),    # 19.99 at 5.5 % = 109.945 -> 110
    (1000, 0, 0),        # zero rate
    (0, 2000, 0),        # nothing to tax
])
def test_vat_rounds_half_up_to_the_cent(amount_cents, rate_bp, expected_vat):
    vat = vat_of(amount_cents, rate_bp)

    assert vat == expected_vat
    assert type(vat) is int


@pytest.mark.parametrize("rate_bp", [0, 210, 550, 850, 1000, 2000])
def test_vat_matches_decimal_half_up_for_every_small_amount(rate_bp):
    for amount in range(0, 2001):
        exact = Decimal(amount) * Decimal(rate_bp) / Decimal(10000)
        expected = int(exact.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
        assert vat_of(amount, rate_bp) == expected, (amount, rate_bp)


def test_standard_rate_is_twenty_percent():
    assert STANDARD_VAT_RATE_BP == 2000
    assert vat_of(10000, STANDARD_VAT_RATE_BP) == 2000


def test_price_line_totals_add_up():
    line = price_line(HALF_DAY, 1, 1250, 2000)

    assert (line.unit, line.quantity, line.unit_price_cents) == (HALF_DAY, 1, 1250)
    assert line.vat_rate_bp == 2000
    assert line.amount_excl_vat_cents == 1250
    assert line.vat_cents == 250
    assert line.amount_incl_vat_cents == 1500


@pytest.mark.parametrize("price", [1, 3, 333, 1250, 1999, 4567])
@pytest.mark.parametrize("rate_bp", [0, 550, 2000])
def test_incl_vat_is_always_excl_plus_vat(price, rate_bp):
    for quantity in (Decimal(1), Decimal(2), Decimal("1.5")):
        line = price_line(HOUR, quantity, price, rate_bp)
        assert line.amount_incl_vat_cents == line.amount_excl_vat_cents + line.vat_cents
        assert line.amount_excl_vat_cents == int(
            (quantity * price).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def test_a_desk_day_uses_the_day_price_or_two_half_days_on_an_older_card():
    assert unit_and_quantity("desk", "day", HALF_DAYS["day"], 570) == (DAY, 1)
    assert unit_and_quantity("desk", "morning", HALF_DAYS["morning"], 240) == (HALF_DAY, 1)
    assert unit_price(DAY, Card(half_day_price_cents=1250, day_price_cents=2200)) == 2200
    assert unit_price(DAY, Card(half_day_price_cents=1250)) == 2500


def test_a_room_is_priced_by_the_hour_in_half_hour_steps():
    unit, quantity = unit_and_quantity("meeting_room", "hours", 1, 90)
    assert (unit, quantity) == (HOUR, Decimal("1.5"))
    line = price_line(unit, quantity, unit_price(unit, Card(hour_price_cents=2501)), 2000)
    assert line.amount_excl_vat_cents == 3752  # 3751.5 rounded half up
    assert unit_price(HOUR, Card(half_day_price_cents=1250)) is None  # no hourly price: unpriced


def test_a_contract_sets_its_own_price_or_a_discount_rounded_once_on_the_unit_price():
    card = Card(half_day_price_cents=1255, day_price_cents=2000)
    assert unit_price(HALF_DAY, card, Card(half_day_price_cents=900)) == 900
    assert unit_price(DAY, card, Card(half_day_price_cents=900)) == 1800  # own half-day x 2
    assert unit_price(HALF_DAY, card, None, discount_bp=1000) == 1129  # 1255 - 125.5 -> 126
    assert unit_price(HALF_DAY, None, None, discount_bp=1000) is None


def test_the_rounding_rule_is_half_away_from_zero_and_symmetric():
    assert [round_half_up(n, 2) for n in (1, 3, -1, -3)] == [1, 2, -1, -2]
    assert share_of(12345, 1500) == 1852  # 1851.75


def test_check_card_names_the_missing_or_negative_price():
    assert check_card("meeting_room", Card(half_day_price_cents=1)) == {
        "hour_price_cents": ["A room is priced by the hour."]}
    assert check_card("desk", Card(half_day_price_cents=-1)) == {
        "half_day_price_cents": ["A price is never negative."]}
    assert check_card("desk", Card(half_day_price_cents=1, day_price_cents=2)) == {}


def test_vat_rounds_symmetrically_so_a_credit_note_cancels_its_invoice():
    for amount in (1, 5, 15, 25, 1249, 1250):
        for rate in (550, 1000, 2000):
            assert vat_of(-amount, rate) == -vat_of(amount, rate)


def test_a_block_billed_whole_has_a_line_in_each_month_it_touches():
    assert block_months(date(2027, 1, 12), date(2027, 3, 2)) == [
        date(2027, 1, 12), date(2027, 2, 1), date(2027, 3, 1)]
    assert block_months(date(2027, 1, 31), date(2027, 1, 31)) == [date(2027, 1, 31)]
    assert block_months(date(2027, 12, 20), date(2028, 1, 3)) == [
        date(2027, 12, 20), date(2028, 1, 1)]


def test_a_cancelled_block_is_billed_up_to_the_month_it_was_cancelled_in():
    cancelled = datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)   # 1 November in Paris
    assert block_month_billed(date(2026, 12, 1)) is True
    assert block_month_billed(date(2026, 10, 5), cancelled) is True
    assert block_month_billed(date(2026, 11, 1), cancelled) is True
    assert block_month_billed(date(2026, 12, 1), cancelled) is False


def test_the_new_kinds_are_priced_by_the_hour():
    for kind in ("teleconsultation_booth", "visio_room", "study_room"):
        assert unit_and_quantity(kind, "hours", 1, 90) == (HOUR, Decimal("1.5"))
        assert check_card(kind, Card(half_day_price_cents=1)) == {
            "hour_price_cents": ["A room is priced by the hour."]}
