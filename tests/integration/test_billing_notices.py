"""What notify tells people of billing's events: the company's billing
contact of its payments and overdue invoices, each mail once. A document's
own events mail nobody: it is mailed with its PDF once rendered
(``billing.document_rendered``, tests/integration/test_billing_files.py)."""
import email
import email.policy
import uuid

import eventlet

from services.notify.service import NotifyService
from tests.integration.conftest import rows, wait_for
from tests.integration.test_reliable_events import smtp_sink  # noqa: F401 (fixture)

COMPANY, OPERATOR = str(uuid.uuid4()), str(uuid.uuid4())


def issued(kind, number, organisation_id, **extra):
    return dict({
        "document_id": str(uuid.uuid4()), "kind": kind, "number": number,
        "organisation_id": organisation_id, "month": "2026-10-01", "issue_date": "2026-11-04",
        "due_date": "2026-12-04", "total_net_cents": 123456, "total_vat_cents": 24691,
        "total_gross_cents": 148147, "sha256": "0" * 64, "preceding_document_id": None,
        "buyer_email": "compta@entreprise.example",
        "seller_email": "gestion@scic.example"}, **extra)


def test_billing_events_mail_the_billing_contact_once_and_issued_documents_wait_for_their_pdf(
        start_service, publish_event, smtp_sink, databases):  # noqa: F811
    sink, port = smtp_sink()
    start_service(NotifyService, SMTP_PORT=port)
    publish_event("identity", "identity.user_provisioned", {
        "user_id": str(uuid.uuid4()), "organisation_id": OPERATOR,
        "email": "personne1@scic.example", "full_name": "Personne 1", "roles": ["relay_manager"]})
    assert wait_for(lambda: len(rows(databases["notify"], "SELECT 1 FROM contacts")) == 1)

    publish_event("billing", "billing.invoice_finalized",
                  issued("invoice", "F2026-000001", COMPANY))
    overdue = publish_event("billing", "billing.invoice_overdue",
                            issued("invoice", "F2026-000001", COMPANY, balance_cents=100))
    publish_event("billing", "billing.invoice_overdue", overdue["data"], envelope=overdue)
    publish_event("billing", "billing.payment_recorded", {
        "payment_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4()),
        "number": "F2026-000001", "organisation_id": COMPANY, "amount_cents": 148047,
        "paid_on": "2026-12-01", "balance_cents": 100,
        "buyer_email": "compta@entreprise.example"})
    publish_event("billing", "billing.settlement_issued",
                  issued("self_billed_invoice", "AF2026-ABCDEF12-000001", OPERATOR))

    assert wait_for(lambda: len(sink.received) == 2, timeout=10)
    eventlet.sleep(0.5)  # room for a duplicate, or a mail of an issued document, to show up
    mails = [email.message_from_bytes(m.content, policy=email.policy.default)
             for m in sink.received]
    assert sorted((m["To"], m["Subject"]) for m in mails) == [
        ("compta@entreprise.example", "Paiement reçu : facture F2026-000001"),
        ("compta@entreprise.example", "Relance : facture F2026-000001 échue le 04/12/2026")]
