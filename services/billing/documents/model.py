"""What a finalized billing document says, independent of storage and format.

Billing's use cases build a ``Document`` from their rows; the Factur-X XML,
the PDF and the hash chain are all computed from it, so the three can never
disagree. Pure: standard library only. Money is integer cents (EUR), VAT rates
are basis points (2000 = 20 %), quantities are ``Decimal`` (0.5 = a half-day).
"""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

INVOICE = "invoice"                      # the network invoices a corporate account (UNTDID 1001: 380)
CREDIT_NOTE = "credit_note"              # corrects an invoice, cites it (381)
SELF_BILLED_INVOICE = "self_billed_invoice"  # the network issues it in the relay operator's name (389)
KINDS = (INVOICE, CREDIT_NOTE, SELF_BILLED_INVOICE)


@dataclass(frozen=True)
class Party:
    legal_name: str
    address_line: str
    postcode: str
    city: str
    country_code: str = "FR"
    siren: str | None = None          # 9 digits; required by the 2026 reform for French parties
    siret: str | None = None          # 14 digits
    vat_number: str | None = None     # e.g. FR32123456789
    email: str | None = None
    # The reform's electronic invoicing address (BT-34 / BT-49, scheme 0225), as
    # registered in the directory; None means the SIREN alone, its default form.
    electronic_address: str | None = None


@dataclass(frozen=True)
class DocumentLine:
    line_id: str                      # "1", "2", ...
    description: str                  # e.g. "Camille Nomade — bureau, demi-journées"
    quantity: Decimal                 # in unit_code units
    unit_code: str                    # UN/ECE rec 20: "DAY" (day), "HUR" (hour), "C62" (unit)
    unit_price_cents: int             # excl. VAT, per unit
    vat_rate_bp: int
    net_cents: int                    # quantity x unit price, rounded once (see pricing.py)
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class VatBreakdown:
    vat_rate_bp: int
    base_cents: int
    vat_cents: int


@dataclass(frozen=True)
class Document:
    kind: str                         # one of KINDS
    number: str                       # e.g. F2026-000123; assigned at finalization
    issue_date: date
    due_date: date
    period_start: date
    period_end: date
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    total_net_cents: int
    total_vat_cents: int
    total_gross_cents: int
    currency: str = "EUR"
    preceding_number: str | None = None       # the invoice a credit note corrects
    preceding_issue_date: date | None = None
    buyer_reference: str | None = None        # the buyer's order/contract reference
    late_penalty_rate: str = "trois fois le taux d'intérêt légal"
    recovery_indemnity_cents: int = 4000      # indemnité forfaitaire pour frais de recouvrement
    notes: tuple[str, ...] = field(default_factory=tuple)  # legal mentions, printed and in the XML
