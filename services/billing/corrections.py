"""Use cases of a usage line that changes after its invoice was finalized.
The final invoice never changes: the difference goes on other documents, by
the rule of ``amounts.correction_of``.

- Cancelled in time (a booking, or a month of a block cancelled before it):
  a credit note citing the invoice, for what was charged for the line (an
  increase not invoiced yet is dropped instead).
- Included after all (a booking whose block billed whole was heard of after
  it): the same, once, for what was charged for it.
- Re-priced lower (a rate card or contract set later): a credit note citing
  the invoice for exactly the difference, one note per invoice and re-pricing
  with a line per usage line; never more than the invoice has left to credit.
- Re-priced higher: a correction line citing the invoice on the company's
  next monthly invoice (``price_corrections`` row, pending until a draft of a
  later month takes it: at once if one exists, else at that month's run).

Idempotent by construction: the rule compares the line's price before and
after the change, and what is still pending; a repeat with nothing changed
issues nothing. Two replicas serialise on the usage line's row lock (the
callers take it), then take the open corrections', the drafts' and the cited
invoice's, then the chain head's: always in that order, so they never deadlock.
"""
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from services.billing import amounts, invoicing
from services.billing.documents.model import INVOICE
from services.billing.models import (
    DRAFT, FINAL, BillingDocument, CreditedUsage, InvoicedUsage, PriceCorrection,
)

CANCELLED, REPRICED, INCLUDED = "cancelled", "repriced", "included"
REASONS = {CANCELLED: "réservation annulée après facturation",
           REPRICED: "prix révisé après facturation",
           INCLUDED: "réservation comprise dans une capacité réservée au forfait"}
WHAT = {CANCELLED: "Annulation", REPRICED: "Révision de prix",
        INCLUDED: "Comprise dans le forfait"}


def price_by_rate(line):
    """A usage line's price as the rule reads it: {vat_rate_bp: cents excl. VAT}."""
    if line.status != "priced":
        return {}
    return {line.vat_rate_bp: line.amount_excl_vat_cents}


def credit_cancelled_usage(uow, line, before, now, settings, why=CANCELLED):
    """A usage line no longer billed (voided, or ``included`` in a block; its
    price was ``before``): on a final invoice, a credit note of its own, once;
    on a draft, the draft's lines are rewritten."""
    claim = uow.session.get(InvoicedUsage, line.id)
    if claim is None:
        return None
    invoice = invoicing.locked_document(uow.session, claim.invoice_id, kinds=(INVOICE,))
    if invoice.status == DRAFT:
        uow.session.delete(claim)
        uow.session.flush()
        invoicing.write_invoice_lines(uow.session, [invoice.id], settings.line_grouping)
        return None
    if uow.session.get(CreditedUsage, line.id) is not None:
        return None
    (note,) = correct_final_usage(uow, [(line, before)], why, now, settings) or (None,)
    if note is not None:
        uow.session.add(CreditedUsage(usage_line_id=line.id, credit_note_id=note.id))
        uow.session.flush()
    return note


def correct_final_usage(uow, changes, why, now, settings):
    """``changes``: [(usage line, its price before)] of lines whose price
    just changed, locked by the caller. Those on a final invoice are
    corrected (credit notes now, increases pending); others are left to the
    caller (a draft is rewritten). Returns the credit notes issued."""
    session = uow.session
    invoice_of = dict(session.execute(
        select(InvoicedUsage.usage_line_id, InvoicedUsage.invoice_id).where(
            InvoicedUsage.usage_line_id.in_([line.id for line, _ in changes]))).all())
    invoices, remaining, drafts = {}, {}, set()
    credits = defaultdict(list)
    for line, before in sorted(changes, key=lambda change: (change[0].date, change[0].id)):
        invoice_id = invoice_of.get(line.id)
        if invoice_id is None:
            continue
        if invoice_id not in invoices:
            invoices[invoice_id] = invoicing.locked_document(session, invoice_id, (INVOICE,))
            remaining[invoice_id] = invoicing.remaining_to_credit(session, invoices[invoice_id])
        invoice = invoices[invoice_id]
        if invoice.status != FINAL:
            continue
        opened = open_increases(session, line.id)
        outcome = amounts.correction_of(
            before, price_by_rate(line),
            {rate: row.amount_excl_vat_cents for rate, row in opened.items()},
            remaining[invoice_id])
        drafts |= keep_pending(session, line, invoice, opened, outcome.pending)
        for rate, cents in outcome.credit.items():
            remaining[invoice_id][rate] -= cents
            credits[invoice_id].append((line, rate, cents))
    notes = [issue_credit(uow, invoices[invoice_id], items, why, now, settings)
             for invoice_id, items in credits.items()]
    session.flush()
    invoicing.write_invoice_lines(session, sorted(drafts), settings.line_grouping)
    invoicing.claim_price_corrections(session, settings,
                                      {invoice.organisation_id for invoice in invoices.values()})
    return notes


def open_increases(session, usage_line_id):
    """The line's increases not on a final document yet ({rate: row}),
    locked, with the draft each sits on (a draft finalized meanwhile makes
    its increase final: it is then what the company was charged)."""
    rows = session.execute(
        select(PriceCorrection).where(PriceCorrection.usage_line_id == usage_line_id,
                                      PriceCorrection.amount_excl_vat_cents > 0)
        .order_by(PriceCorrection.id).with_for_update().execution_options(
            populate_existing=True)).scalars().all()
    opened = {}
    for row in rows:
        if row.document_id is not None and session.get(
                BillingDocument, row.document_id, with_for_update=True,
                populate_existing=True).status != DRAFT:
            continue
        opened[row.vat_rate_bp] = row
    return opened


def keep_pending(session, line, invoice, opened, pending):
    """Make the line's open increases what the rule says ({rate: cents});
    returns the drafts whose lines must be written again."""
    drafts = set()
    for rate in sorted(set(opened) | set(pending)):
        row = opened.get(rate)
        if row is not None and row.document_id is not None:
            drafts.add(row.document_id)
        if row is None:
            session.add(PriceCorrection(
                usage_line_id=line.id, cited_invoice_id=invoice.id,
                organisation_id=invoice.organisation_id, vat_rate_bp=rate,
                amount_excl_vat_cents=pending[rate],
                description=description("Régularisation de prix", line, invoice)))
        elif rate in pending:
            row.amount_excl_vat_cents = pending[rate]
        else:
            session.delete(row)
    return drafts


def issue_credit(uow, invoice, items, why, now, settings):
    """One credit note citing ``invoice``, a line per usage line and rate,
    each recorded as a (negative) price correction of its line."""
    what = WHAT[why]
    lines = []
    for position, (line, rate, cents) in enumerate(items, 1):
        lines.append({"position": position, "member_id": line.member_id,
                      "space_kind": line.space_kind, "relay_id": line.relay_id,
                      "description": description(what, line, invoice),
                      "quantity": Decimal(1), "unit_code": "C62", "unit_price_cents": cents,
                      "vat_rate_bp": rate, "net_cents": cents,
                      "period_start": line.date, "period_end": line.date})
    note = invoicing.new_credit_note(uow, invoice, lines, REASONS[why], now, settings)
    for entry, (line, rate, cents) in zip(lines, items):
        uow.session.add(PriceCorrection(
            usage_line_id=line.id, cited_invoice_id=invoice.id,
            organisation_id=invoice.organisation_id, vat_rate_bp=rate,
            amount_excl_vat_cents=-cents, description=entry["description"],
            document_id=note.id))
    return note


def description(what, line, invoice):
    # A block's monthly line has no booking and no member.
    used = (f"réservation du {line.date.isoformat()} (membre {line.member_id[:8]})"
            if line.booking_id else f"capacité réservée, mois du {line.date.isoformat()}")
    return f"{what} : {used}, facture {invoice.number} du {invoice.issue_date.isoformat()}"
