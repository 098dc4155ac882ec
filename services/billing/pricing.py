"""Money rules. Pure domain code.

Amounts are integer cents in EUR; VAT rates are basis points (2000 = 20 %).
VAT is computed per usage line on its amount excluding VAT and rounded half up
to the cent (the rounding French invoicing practice accepts per line); the line's
total including VAT is the sum of the two, so totals always add up.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class LinePrice:
    unit_price_cents: int
    vat_rate_bp: int
    amount_excl_vat_cents: int
    vat_cents: int

    @property
    def amount_incl_vat_cents(self):
        return self.amount_excl_vat_cents + self.vat_cents


def vat_of(amount_cents, vat_rate_bp):
    """amount × rate rounded half away from zero, in integers (no float ever
    touches money); symmetric, so a credit note cancels its invoice's VAT exactly."""
    sign = -1 if amount_cents < 0 else 1
    return sign * ((abs(amount_cents) * vat_rate_bp + 5000) // 10000)


def price_line(half_days, half_day_price_cents, vat_rate_bp):
    amount = half_days * half_day_price_cents
    return LinePrice(half_day_price_cents, vat_rate_bp, amount, vat_of(amount, vat_rate_bp))
