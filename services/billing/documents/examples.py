"""Fixed example documents: the tests, the PDF benchmark and the demo print these.

An invoice to a corporate account, a credit note correcting it, and a relay
operator's self-billed settlement, each with two VAT rates and half-day
quantities. Fixed dates, so that nothing depends on the day they are built.
The identifiers are well-formed (SIRET starts with SIREN, Luhn-valid, VAT key
computed from the SIREN) but made up: no
known company holds them.
"""
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ..pricing import vat_of
from .model import (CREDIT_NOTE, INVOICE, SELF_BILLED_INVOICE, Document, DocumentLine, Party,
                    VatBreakdown)

NETWORK = Party(
    legal_name="Relais des Possibles SAS", address_line="12 rue des Tiers-Lieux",
    postcode="69002", city="Lyon", siren="918273640", siret="91827364000014",
    vat_number="FR77918273640", email="facturation@relais.example")
COMPANY = Party(
    legal_name="Mutuelle Nomade & Associés SA", address_line="5 avenue de la Prévoyance",
    postcode="75009", city="Paris", siren="908765431", siret="90876543100022",
    vat_number="FR46908765431", email="comptabilite@nomade.example")
OPERATOR = Party(
    legal_name="Coopérative Le Bourg Partagé SCIC", address_line="1 place de l'Église",
    postcode="07200", city="Aubenas", siren="901239871", siret="90123987100014",
    vat_number="FR19901239871", email="gestion@bourg.example")

DESK, MEAL = 2000, 1000   # VAT rates in basis points: desks 20 %, meals served on site 10 %
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def document(kind, number, seller, buyer, lines, **extra):
    """A Document whose VAT breakdown and totals are computed from its lines,
    as billing computes them: net per line, VAT per rate on the rate's base."""
    built = tuple(_line(str(n), *line) for n, line in enumerate(lines, start=1))
    breakdown = []
    for rate in sorted({line.vat_rate_bp for line in built}, reverse=True):
        base = sum(line.net_cents for line in built if line.vat_rate_bp == rate)
        breakdown.append(VatBreakdown(rate, base, vat_of(base, rate)))
    net = sum(vat.base_cents for vat in breakdown)
    vat = sum(vat.vat_cents for vat in breakdown)
    fields = dict(
        kind=kind, number=number, issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31),
        period_start=NOVEMBER[0], period_end=NOVEMBER[1], seller=seller, buyer=buyer,
        lines=built, vat_breakdown=tuple(breakdown), total_net_cents=net, total_vat_cents=vat,
        total_gross_cents=net + vat)
    fields.update(extra)
    return Document(**fields)


def _line(line_id, description, quantity, unit_price_cents, vat_rate_bp, unit_code="DAY"):
    quantity = Decimal(quantity)
    net = int((quantity * unit_price_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return DocumentLine(line_id, description, quantity, unit_code, unit_price_cents, vat_rate_bp, net,
                        *NOVEMBER)


def invoice():
    return document(INVOICE, "F2026-000123", NETWORK, COMPANY, [
        ("Camille Nomade — bureau (11 demi-journées)", "5.5", 2400, DESK),
        ("Karim Rural — bureau (5 demi-journées)", "2.5", 2400, DESK),
        ("Karim Rural — salle de réunion", "3", 1800, DESK, "HUR"),
        ("Plateaux-repas servis au relais", "4", 1350, MEAL, "C62"),
    ], buyer_reference="NOMADE-OFFICE-2026")


def credit_note():
    return document(CREDIT_NOTE, "A2026-000007", NETWORK, COMPANY, [
        ("Karim Rural — bureau (1 demi-journée annulée à temps)", "0.5", 2400, DESK),
        ("Plateau-repas non servi", "1", 1350, MEAL, "C62"),
    ], issue_date=date(2026, 12, 8), due_date=date(2026, 12, 8),
        preceding_number="F2026-000123", preceding_issue_date=date(2026, 12, 1),
        buyer_reference="NOMADE-OFFICE-2026")


def settlement():
    """What the network owes a relay operator: issued by the network in the operator's name."""
    return document(SELF_BILLED_INVOICE, "AF-901239871-2026-000011", OPERATOR, NETWORK, [
        ("Bureaux au Bourg Partagé (17 demi-journées, net de commission)", "8.5", 1920, DESK),
        ("Repas servis aux membres du réseau", "6", 1080, MEAL, "C62"),
    ], due_date=date(2026, 12, 15))
