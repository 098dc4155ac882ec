"""Use cases of settlements: each month, each relay operator is paid what
its relays sold, less the network's commission, by a self-billed invoice the
network issues in the operator's name (its own gapless sequence per operator).
Relay managers accept or contest it within the review period; a network
admin resolves a contested one by a credit note, or upholds it."""
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from common import errors
from services.billing import calendar, issuing, pricing
from services.billing.documents.model import SELF_BILLED_INVOICE
from services.billing.invoicing import (
    bulk_statements, issue_credit_note, line_copy, locked_document, start_month_run,
)
from services.billing.models import BillingDocument, DocumentLine, SettlementReview
from services.billing.prices import commission_in_force
from services.billing.scope import require_admin_over, visible_document


def run_settlements(uow, caller, month, now, settings):
    """Issue the month's settlements: one per operator with usage at its relays."""
    start_month_run(uow, caller, month, now, "billing.run_settlements")
    params = {"month": month, "start": month, "end": calendar.last_day(month),
              "next": calendar.next_month(month)}
    relays = "FROM usage_lines u JOIN known_relays r ON r.relay_id = u.relay_id"
    unsettled = """WHERE u.status = 'priced' AND u.date < :next
          AND r.operator_organisation_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM settled_usage s WHERE s.usage_line_id = u.id)"""
    with bulk_statements(uow.session):
        drafts = uow.session.execute(text(f"""
            INSERT INTO documents (id, kind, status, organisation_id, month, period_start,
                                   period_end)
            SELECT gen_random_uuid(), 'self_billed_invoice', 'draft', o.operator, :month,
                   :start, :end
            FROM (SELECT DISTINCT r.operator_organisation_id AS operator {relays} {unsettled}) o
            ON CONFLICT (kind, organisation_id, month)
                WHERE month IS NOT NULL AND preceding_document_id IS NULL DO NOTHING
            RETURNING id::text"""), params).scalars().all()
        if not drafts:
            return {"month": month.isoformat()[:7], "settlements_issued": 0}
        # The settlements are new: every line they settle is in ``source``, so
        # the gross per relay is summed from it, not from the claims joined
        # back to the lines. Claimed in key order, without ON CONFLICT, as
        # invoicing.run_month does.
        gross = uow.session.execute(text(f"""
            WITH source AS MATERIALIZED (
                SELECT u.id, d.id AS settlement_id, u.relay_id, r.name, u.vat_rate_bp,
                       u.amount_excl_vat_cents {relays}
                JOIN documents d ON d.id = ANY(CAST(:drafts AS uuid[]))
                    AND d.organisation_id = r.operator_organisation_id
                {unsettled}),
            claimed AS (
                INSERT INTO settled_usage (usage_line_id, settlement_id)
                SELECT id, settlement_id FROM source ORDER BY id)
            SELECT settlement_id::text AS settlement_id, relay_id::text AS relay_id, name,
                   vat_rate_bp, sum(amount_excl_vat_cents) AS gross, count(*) AS bookings
            FROM source GROUP BY settlement_id, relay_id, name, vat_rate_bp
            ORDER BY settlement_id, name, vat_rate_bp"""), dict(params, drafts=drafts)).all()
    per_settlement = defaultdict(list)
    for row in gross:
        per_settlement[row.settlement_id].append(row)
    issued = 0
    for settlement_id, relays in per_settlement.items():
        settlement = uow.session.get(BillingDocument, settlement_id)
        commission = commission_in_force(uow.session, settlement.organisation_id, month)
        settlement.commission_bp = commission.commission_bp if commission else 0
        uow.session.execute(insert(DocumentLine), settlement_lines(
            settlement, relays, settlement.commission_bp, month))
        issuing.finalize(uow, settlement, now, settings)
        issued += 1
    return {"month": month.isoformat()[:7], "settlements_issued": issued}


def settlement_lines(settlement, relays, commission_bp, month):
    """A line per relay and VAT rate (gross sold there), then the commission
    per VAT rate as a line of quantity -1 (a net price is never negative,
    EN 16931 BR-27): the net is what the network pays."""
    lines, per_rate = [], defaultdict(int)
    for row in relays:
        lines.append({"description": f"Accueil au {row.name} — {row.bookings} réservation(s)",
                      "relay_id": row.relay_id, "quantity": Decimal(1), "unit_code": "C62",
                      "unit_price_cents": int(row.gross), "vat_rate_bp": row.vat_rate_bp,
                      "net_cents": int(row.gross)})
        per_rate[row.vat_rate_bp] += int(row.gross)
    for rate, gross in sorted(per_rate.items()):
        commission = pricing.share_of(gross, commission_bp)
        if commission:
            lines.append({"description": f"Commission du réseau ({commission_bp / 100:.2f} %)",
                          "quantity": Decimal(-1), "unit_code": "C62",
                          "unit_price_cents": commission, "vat_rate_bp": rate,
                          "net_cents": -commission})
    return [dict(line, document_id=settlement.id, position=index, period_start=month,
                 period_end=calendar.last_day(month)) for index, line in enumerate(lines, 1)]


def corrected_statement(uow, settlement, data, now, settings):
    """The contested statement's lines, and one adjustment line at its main
    VAT rate (quantity -1 when it takes off: a net price is never negative)."""
    lines = [line_copy(line) for line in issuing.lines_of(uow.session, settlement.id)]
    adjustment = data["adjustment_excl_vat_cents"]
    rate = max(lines, key=lambda line: line["net_cents"])["vat_rate_bp"]
    lines.append({"description": f"Rectification : {data['reason']}",
                  "quantity": Decimal(1 if adjustment > 0 else -1), "unit_code": "C62",
                  "unit_price_cents": abs(adjustment), "vat_rate_bp": rate,
                  "net_cents": adjustment, "period_start": settlement.period_start,
                  "period_end": settlement.period_end})
    corrected = BillingDocument(
        kind=SELF_BILLED_INVOICE, status="draft", organisation_id=settlement.organisation_id,
        month=settlement.month, period_start=settlement.period_start,
        period_end=settlement.period_end, preceding_document_id=settlement.id,
        reason=data["reason"], commission_bp=settlement.commission_bp)
    uow.session.add(corrected)
    uow.session.flush()
    uow.session.execute(insert(DocumentLine), [
        dict(line, document_id=corrected.id, position=index)
        for index, line in enumerate(lines, 1)])
    return issuing.finalize(uow, corrected, now, settings)


def review_settlement(uow, caller, document_id, data, now, settings):
    """accept or contest, by one of the operator's relay managers, in time."""
    visible_document(uow.session, caller, document_id)  # another operator's: not found
    if caller.sees_whole_network or not caller.has("relay_manager"):
        raise errors.Forbidden("The operator's relay managers review its statements.",
                               code="relay-manager-only")
    settlement = locked_document(uow.session, document_id, kinds=(SELF_BILLED_INVOICE,))
    if calendar.paris_today(now) > settlement.issue_date + timedelta(days=settings.review_days):
        raise errors.Conflict(f"Statements are reviewed within {settings.review_days} days of "
                              "their issue.", code="review-period-over")
    if uow.session.get(SettlementReview, settlement.id) is not None:
        raise errors.Conflict("This statement was reviewed already.",
                              code="settlement-already-reviewed")
    review = SettlementReview(settlement_id=settlement.id, status=data["decision"],
                              reason=data.get("reason"), reviewed_by=caller.user_id,
                              reviewed_at=now)
    uow.session.add(review)
    uow.session.flush()
    uow.publish(f"billing.settlement_{data['decision']}", {
        "document_id": settlement.id, "number": settlement.number,
        "organisation_id": settlement.organisation_id, "reason": review.reason})
    return review


def resolve_settlement(uow, caller, document_id, data, now, settings):
    """A network admin ends a dispute: a credit note on the statement
    (partial by amount, or whole); a corrected statement (the contested one
    credited whole, and a new one: its lines and an adjustment); or the
    statement upheld as it is."""
    require_admin_over(uow.session, caller, document_id)
    settlement = locked_document(uow.session, document_id, kinds=(SELF_BILLED_INVOICE,))
    review = uow.session.get(SettlementReview, settlement.id, with_for_update=True)
    if review is None or review.status != "contested":
        raise errors.Conflict("Only a contested statement is resolved.",
                              code="settlement-not-contested")
    note = None
    if data["resolution"] == "credit_note":
        note = issue_credit_note(uow, caller, settlement.id, data, now, settings)
    elif data["resolution"] == "corrected_statement":
        if not data.get("adjustment_excl_vat_cents"):
            raise errors.InvalidInput("A corrected statement says what it changes.",
                                      code="adjustment-required",
                                      fields={"adjustment_excl_vat_cents": ["Required."]})
        issue_credit_note(uow, caller, settlement.id, {"reason": data["reason"]}, now, settings)
        note = corrected_statement(uow, settlement, data, now, settings)
    review.status, review.resolution = "resolved", data["resolution"]
    review.resolution_document_id = note.id if note else None
    review.resolved_by, review.resolved_at = caller.user_id, now
    uow.session.flush()
    return review
