"""The read side of documents: lists, one document with its lines, the CSV
of its lines. Scope is enforced here: someone else's document is "not found"."""
import csv
import io
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from common import errors
from services.billing import amounts, calendar, fec, invoicing, issuing
from services.billing.documents.model import INVOICE, SELF_BILLED_INVOICE
from services.billing.models import (
    DRAFT, BillingDocument, DocumentLine, Payment, SettlementReview,
)
from services.billing.scope import visible, visible_document


def list_documents(session, caller, query):
    statement = visible(select(BillingDocument), caller, session)
    for name in ("kind", "status"):
        if name in query:
            statement = statement.where(getattr(BillingDocument, name) == query[name])
    if "organisation_id" in query:
        statement = statement.where(
            BillingDocument.organisation_id == str(query["organisation_id"]))
    if "month" in query:
        statement = statement.where(BillingDocument.month == calendar.parse_month(query["month"]))
    statement = statement.order_by(BillingDocument.created_at.desc(), BillingDocument.id)
    return session.execute(statement.limit(query["limit"]).offset(query["offset"])).scalars().all()


def get_document(session, caller, document_id):
    """The document, its lines, what is left to pay, its review."""
    row = visible_document(session, caller, document_id)
    view = {column.name: getattr(row, column.name) for column in BillingDocument.__table__.columns}
    view["lines"] = issuing.lines_of(session, row.id)
    view["payments"] = session.execute(select(Payment).where(Payment.document_id == row.id)
                                       .order_by(Payment.created_at)).scalars().all()
    view["balance_cents"] = invoicing.balance_of(session, row) \
        if row.kind == INVOICE and row.status != DRAFT else None
    review = session.get(SettlementReview, row.id) if row.kind == SELF_BILLED_INVOICE else None
    view["review"] = review
    return view


def final_document(session, caller, document_id):
    """A final document the caller may see; a draft has no Factur-X files yet."""
    row = visible_document(session, caller, document_id)
    if row.status == DRAFT:
        raise errors.Conflict("A draft has no Factur-X files: they exist once it is final.",
                              code="document-not-final")
    return row


CSV_COLUMNS = ("number", "issue_date", "position", "description", "member_id", "space_kind",
               "period_start", "period_end", "quantity", "unit_code", "unit_price_cents",
               "vat_rate_bp", "net_cents")


def lines_csv(session, caller, document_id):
    """The lines of a document for an expense system: one row a line, amounts in cents."""
    row = visible_document(session, caller, document_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in issuing.lines_of(session, row.id):
        writer.writerow([row.number or "", row.issue_date or "", line.position,
                         line.description, line.member_id or "", line.space_kind or "",
                         line.period_start or "", line.period_end or "", line.quantity,
                         line.unit_code, line.unit_price_cents, line.vat_rate_bp,
                         line.net_cents])
    return out.getvalue()


def fec_export(session, caller, year, settings):
    """The FEC of one fiscal year (the calendar year) as text."""
    caller.require("network_admin", "network_ops")
    rows = session.execute(select(BillingDocument).where(
        BillingDocument.status == "final",
        BillingDocument.issue_date >= date(year, 1, 1),
        BillingDocument.issue_date <= date(year, 12, 31))).scalars().all()
    kinds = {row.id: row.kind for row in rows}
    preceding_ids = {row.preceding_document_id for row in rows} - set(kinds) - {None}
    if preceding_ids:
        kinds.update(session.execute(select(BillingDocument.id, BillingDocument.kind).where(
            BillingDocument.id.in_(preceding_ids))).tuples().all())
    bases = defaultdict(list)   # {document: [(rate, net)]}: the totals need no more
    for document_id, rate, net in session.execute(
            select(DocumentLine.document_id, DocumentLine.vat_rate_bp,
                   func.sum(DocumentLine.net_cents))
            .where(DocumentLine.document_id.in_([row.id for row in rows]))
            .group_by(DocumentLine.document_id, DocumentLine.vat_rate_bp)):
        bases[document_id].append((rate, int(net)))
    entries = []
    for row in rows:
        cited_kind = kinds.get(row.preceding_document_id, row.kind)
        sales = (cited_kind if row.kind == "credit_note" else row.kind) == INVOICE
        totals = amounts.totals_of(bases[row.id])
        counterpart = row.buyer if sales else row.seller
        entries.append(fec.Entry("VE" if sales else "AC", row.kind == "credit_note", row.number,
                                 row.issue_date, row.organisation_id, counterpart["legal_name"],
                                 totals.vat_breakdown, row.total_gross_cents))
    return fec.fec_text(entries, settings.account)
