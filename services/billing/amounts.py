"""The totals of a billing document, from its lines. Pure: standard library only.

A line's net amount is its quantity times its unit price, rounded once by
``pricing.amount_of``. VAT is computed per rate on the sum of the lines' nets
at that rate and rounded by ``pricing.vat_of`` (EN 16931 BR-CO-17: the VAT of a
category is its base times its rate), so the VAT of an invoice is not the sum
of its usage lines' VAT, which may differ by a cent per line.
"""
from collections import defaultdict
from dataclasses import dataclass

from services.billing.pricing import vat_of


@dataclass(frozen=True)
class Totals:
    vat_breakdown: tuple      # ((vat_rate_bp, base_cents, vat_cents), ...) by rate
    net_cents: int
    vat_cents: int

    @property
    def gross_cents(self):
        return self.net_cents + self.vat_cents


def totals_of(lines):
    """``lines``: (vat_rate_bp, net_cents) pairs."""
    bases = defaultdict(int)
    for vat_rate_bp, net_cents in lines:
        bases[vat_rate_bp] += net_cents
    breakdown = tuple((rate, base, vat_of(base, rate)) for rate, base in sorted(bases.items()))
    return Totals(breakdown, sum(b for _, b, _ in breakdown), sum(v for _, _, v in breakdown))


def remaining_by_rate(invoiced, credited):
    """What may still be credited per VAT rate: {rate: net invoiced - net credited}."""
    remaining = defaultdict(int)
    for rate, net in invoiced:
        remaining[rate] += net
    for rate, net in credited:
        remaining[rate] -= net
    return dict(remaining)


@dataclass(frozen=True)
class Correction:
    pending: dict   # {vat_rate_bp: cents} an increase for the next monthly invoice
    credit: dict    # {vat_rate_bp: cents} a decrease credited now on the invoice


def correction_of(before, after, pending, remaining):
    """The rule for a usage line re-priced (or cancelled: ``after`` is {})
    after its invoice was finalized. Each argument is {vat_rate_bp: cents
    excl. VAT}: the line's price ``before`` and ``after`` the change, the
    increase still ``pending`` (not on a final document yet), and what the
    invoice may still be credited (``remaining``).

    At each rate the difference first moves the pending increase; what is
    left above zero stays pending (the next monthly invoice charges it),
    what is left below zero is credited now, never more than ``remaining``
    (a credit note never exceeds its invoice). Applied again with nothing
    changed, it gives the pending increase back and credits nothing: the
    rule is idempotent."""
    result = Correction({}, {})
    for rate in sorted(set(before) | set(after) | set(pending)):
        total = pending.get(rate, 0) + after.get(rate, 0) - before.get(rate, 0)
        if total > 0:
            result.pending[rate] = total
        elif total < 0 and min(-total, remaining.get(rate, 0)) > 0:
            result.credit[rate] = min(-total, remaining.get(rate, 0))
    return result
