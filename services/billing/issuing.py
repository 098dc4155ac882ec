"""Issuing a document: its ``Document`` (documents/model.py) built from the
rows, its number from a gapless sequence, its place in the hash chain.

Finalization runs in one transaction and takes two row locks in the same
order every time: the chain head (one row: it orders every finalization, so
the chain is a line) and the sequence's counter row (``SELECT ... FOR
UPDATE``). A rolled-back finalization gives its number back with everything
else, so numbers have no gaps; the unique number column makes a repeat
impossible even if this code were wrong.
"""
import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from common import errors
from services.billing import amounts, calendar, chain
from services.billing.documents.model import (
    CREDIT_NOTE, INVOICE, SELF_BILLED_INVOICE, Document, DocumentLine as ModelLine, Party,
    VatBreakdown,
)
from services.billing.models import (
    FINAL, BillingDocument, ChainHead, DocumentLine, DocumentSequence, KnownOrganisation,
)

PREFIXES = {INVOICE: "F", CREDIT_NOTE: "A", SELF_BILLED_INVOICE: "AF"}
# The mentions every document carries (penalties, indemnity, no discount,
# category of operation, "Autofacturation") are written by
# documents/mentions.py; ``notes`` holds what is particular to one document.
SELF_BILLING_MENTION = ("Autofacturation : facture établie par le réseau au nom et pour le "
                        "compte du prestataire (article 289 I-2 du CGI).")
ADDRESS = re.compile(r"^(?P<line>.*?)[,\s]+(?P<postcode>\d{5})\s+(?P<city>.+)$", re.S)


def party_of_organisation(organisation):
    """A billing party from identity's organisation data (its billing address
    is one text: "12 rue X, 23400 Bourganeuf")."""
    address = (organisation.billing_address or "").strip()
    match = ADDRESS.match(address)
    siret = organisation.siret
    return {
        "legal_name": organisation.legal_name or organisation.name,
        "address_line": match["line"].strip() if match else address,
        "postcode": match["postcode"] if match else "",
        "city": match["city"].strip() if match else "",
        "country_code": "FR", "siren": siret[:9] if siret else None, "siret": siret,
        "vat_number": organisation.vat_number, "email": organisation.billing_email,
    }


REQUIRED_IDENTITY = {"legal_name": "legal_name", "address_line": "billing_address",
                     "postcode": "billing_address", "city": "billing_address", "siren": "siret"}


def organisation_party(session, organisation_id):
    """The organisation as a party of a document; refused if the law's
    minimum is missing (legal name, full address, SIREN): such an invoice
    would be invalid, and rejected by the buyer's platform."""
    organisation = session.get(KnownOrganisation, organisation_id)
    if organisation is None:
        raise errors.Conflict(
            f"Billing does not know organisation {organisation_id}'s legal identity yet.",
            code="legal-identity-unknown")
    party = party_of_organisation(organisation)
    missing = sorted({field for key, field in REQUIRED_IDENTITY.items() if not party[key]})
    if missing:
        raise errors.Conflict(
            f"Organisation {organisation_id} lacks what an invoice must show: "
            f"{', '.join(missing)} (a billing address reads '12 rue X, 23400 Commune').",
            code="legal-identity-incomplete", fields={name: ["Missing."] for name in missing})
    return party


def lines_of(session, document_id):
    return session.execute(select(DocumentLine).where(DocumentLine.document_id == document_id)
                           .order_by(DocumentLine.position)).scalars().all()


def lines_by_document(session, document_ids):
    """The lines of many documents in one query: {document id: lines in order}
    (a month end finalizes and checks thousands; one query each was most of it)."""
    lines = {document_id: [] for document_id in document_ids}
    for line in session.execute(
            select(DocumentLine).where(DocumentLine.document_id.in_(list(document_ids)))
            .order_by(DocumentLine.document_id, DocumentLine.position)).scalars():
        lines[line.document_id].append(line)
    return lines


def document_of(row, lines, preceding=None):
    """The ``Document`` a row and its lines say (what is hashed, and what the
    Factur-X XML and the PDF print)."""
    totals = amounts.totals_of((line.vat_rate_bp, line.net_cents) for line in lines)
    return Document(
        kind=row.kind, number=row.number, issue_date=row.issue_date, due_date=row.due_date,
        period_start=row.period_start, period_end=row.period_end,
        seller=Party(**row.seller), buyer=Party(**row.buyer),
        lines=tuple(ModelLine(
            line_id=str(line.position), description=line.description,
            quantity=Decimal(line.quantity), unit_code=line.unit_code,
            unit_price_cents=line.unit_price_cents, vat_rate_bp=line.vat_rate_bp,
            net_cents=line.net_cents, period_start=line.period_start,
            period_end=line.period_end) for line in lines),
        vat_breakdown=tuple(VatBreakdown(*item) for item in totals.vat_breakdown),
        total_net_cents=row.total_net_cents, total_vat_cents=row.total_vat_cents,
        total_gross_cents=row.total_gross_cents,
        preceding_number=preceding.number if preceding else None,
        preceding_issue_date=preceding.issue_date if preceding else None,
        notes=tuple(row.notes or ()),
    )


def final_document_of(session, row):
    """The ``Document`` of a stored document row, with the one it cites."""
    preceding = session.get(BillingDocument, row.preceding_document_id) \
        if row.preceding_document_id else None
    return document_of(row, lines_of(session, row.id), preceding)


def sequence_name(kind, issuer, year):
    return f"{PREFIXES[kind]}:{issuer}:{year}"


def locked_row(uow, model, key, **values):
    """The row (created if missing) locked ``FOR UPDATE`` until the unit of
    work ends. A unit of work that finalizes many documents (the timer, the
    settlements) locks each row once, and keeps it: callers never roll back
    to a savepoint past a lock."""
    held = uow.__dict__.setdefault("billing_locked_rows", {})
    if (model, key) not in held:
        uow.session.execute(insert(model).values(**values).on_conflict_do_nothing())
        held[(model, key)] = uow.session.get(model, key, with_for_update=True,
                                             populate_existing=True)
    return held[(model, key)]


def next_number(uow, kind, issuer, year, issuer_code=None):
    name = sequence_name(kind, issuer, year)
    sequence = locked_row(uow, DocumentSequence, name, name=name, last_number=0)
    sequence.last_number += 1
    middle = f"{issuer_code}-" if issuer_code else ""
    return f"{PREFIXES[kind]}{year}-{middle}{sequence.last_number:06d}"


def lock_chain_head(uow):
    return locked_row(uow, ChainHead, 1, id=1, position=0)


def set_totals(row, lines):
    totals = amounts.totals_of((line.vat_rate_bp, line.net_cents) for line in lines)
    row.total_net_cents, row.total_vat_cents = totals.net_cents, totals.vat_cents
    row.total_gross_cents = totals.gross_cents


def finalize(uow, row, now, settings, lines=None):
    """Number, hash and freeze a draft (its lines written, or given as
    ``lines_by_document`` read them), then announce it. Written at the unit
    of work's next flush: a batch of finalizations updates the chain head and
    the counters once, and its documents in one round trip."""
    head = lock_chain_head(uow)  # first lock, always: see the module's docstring
    lines = lines_of(uow.session, row.id) if lines is None else lines
    if not lines:
        raise errors.Conflict("A document without lines is not issued.", code="document-empty")
    preceding = uow.session.get(BillingDocument, row.preceding_document_id) \
        if row.preceding_document_id else None
    issue_date = calendar.paris_today(now)
    network = settings.network_party
    if row.kind == INVOICE or (row.kind == CREDIT_NOTE and preceding.kind == INVOICE):
        issuer, issuer_code = "network", None
        seller, buyer = network, organisation_party(uow.session, row.organisation_id)
        notes = []
    else:  # a settlement, or a credit note on one: in the relay operator's name
        issuer, issuer_code = row.organisation_id, row.organisation_id[:8].upper()
        seller, buyer = organisation_party(uow.session, row.organisation_id), network
        notes = [SELF_BILLING_MENTION]
    if preceding is not None:
        what = "Avoir sur" if row.kind == CREDIT_NOTE else "Rectifie"
        notes.append(f"{what} la facture {preceding.number} du "
                     f"{preceding.issue_date.isoformat()}" + (f" : {row.reason}" if row.reason
                                                                else "."))
    set_totals(row, lines)
    row.number = next_number(uow, row.kind, issuer, issue_date.year, issuer_code)
    row.issue_date = issue_date
    row.due_date = issue_date + timedelta(days=settings.payment_days)
    row.seller, row.buyer, row.notes = seller, buyer, notes
    document = document_of(row, lines, preceding)
    row.previous_sha256 = head.sha256
    row.sha256 = chain.chained_sha256(document, head.sha256)
    head.position += 1
    row.chain_position = head.position
    head.sha256 = row.sha256
    row.status, row.finalized_at = FINAL, now
    uow.publish(EVENT_OF_KIND[row.kind], document_event(row))
    return row


EVENT_OF_KIND = {INVOICE: "billing.invoice_finalized", CREDIT_NOTE: "billing.credit_note_issued",
                 SELF_BILLED_INVOICE: "billing.settlement_issued"}


def document_event(row):
    return {
        "document_id": row.id, "kind": row.kind, "number": row.number,
        "organisation_id": row.organisation_id,
        "month": row.month, "issue_date": row.issue_date, "due_date": row.due_date,
        "total_net_cents": row.total_net_cents, "total_vat_cents": row.total_vat_cents,
        "total_gross_cents": row.total_gross_cents, "sha256": row.sha256,
        "preceding_document_id": row.preceding_document_id,
        "buyer_email": (row.buyer or {}).get("email"),
        "seller_email": (row.seller or {}).get("email"),
    }


def chain_links(session):
    """Every final document in chain order, rebuilt from its rows (verify.py)."""
    rows = session.execute(select(BillingDocument).where(BillingDocument.status == FINAL)
                           .order_by(BillingDocument.chain_position)).scalars().all()
    by_id = {row.id: row for row in rows}
    lines = lines_by_document(session, by_id)
    for row in rows:
        preceding = by_id.get(row.preceding_document_id)
        yield chain.Link(row.number, document_of(row, lines[row.id], preceding),
                         row.previous_sha256, row.sha256)


def advisory_lock(session, name):
    """Serialise one kind of run across replicas for this transaction."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
