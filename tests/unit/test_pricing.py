"""Money: integer cents, VAT in basis points, rounded half up per line."""
from decimal import ROUND_HALF_UP, Decimal

import pytest

from contracts.vocabulary import STANDARD_VAT_RATE_BP
from services.billing.pricing import price_line, vat_of
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
    line = price_line(half_days=1, half_day_price_cents=1250, vat_rate_bp=2000)

    assert line.unit_price_cents == 1250
    assert line.vat_rate_bp == 2000
    assert line.amount_excl_vat_cents == 1250
    assert line.vat_cents == 250
    assert line.amount_incl_vat_cents == 1500


@pytest.mark.parametrize("price", [1, 3, 333, 1250, 1999, 4567])
@pytest.mark.parametrize("rate_bp", [0, 550, 2000])
def test_incl_vat_is_always_excl_plus_vat(price, rate_bp):
    for half_days in (1, 2):
        line = price_line(half_days, price, rate_bp)
        assert line.amount_incl_vat_cents == line.amount_excl_vat_cents + line.vat_cents
        assert line.amount_excl_vat_cents == half_days * price


def test_a_day_costs_two_half_days():
    half_day = price_line(HALF_DAYS["morning"], 1250, 2000)
    day = price_line(HALF_DAYS["day"], 1250, 2000)

    assert HALF_DAYS["day"] == 2
    assert day.amount_excl_vat_cents == 2500 == 2 * half_day.amount_excl_vat_cents
    assert day.vat_cents == 500
    assert day.amount_incl_vat_cents == 3000
    assert day.unit_price_cents == 1250  # the unit stays the half-day price


def test_vat_is_computed_on_the_line_not_per_half_day():
    """3 cents at 20 %: one half-day -> 1 cent VAT (0.6); a day (6 cents) ->
    1 cent (1.2), not 2 x 1: rounding happens once, on the line."""
    assert price_line(1, 3, 2000).vat_cents == 1
    assert price_line(2, 3, 2000).vat_cents == 1


def test_vat_rounds_symmetrically_so_a_credit_note_cancels_its_invoice():
    for amount in (1, 5, 15, 25, 1249, 1250):
        for rate in (550, 1000, 2000):
            assert vat_of(-amount, rate) == -vat_of(amount, rate)
