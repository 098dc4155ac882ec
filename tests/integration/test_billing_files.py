"""A final document's Factur-X files are rendered once, after it is issued,
stored, served as stored, and mailed attached: once per document and
recipient, even when the consumer is killed while rendering."""
import base64
import email
import email.policy
import uuid

import eventlet
from facturx import get_facturx_xml_from_pdf
from sqlalchemy import text

from services.billing.service import BillingService, Renderer
from services.notify.service import NotifyService
from tests.integration.booking_helpers import refusal
from tests.integration.conftest import ADMIN, rows, wait_for
from tests.integration.test_billing_invoices import (  # noqa: F401 (fixture)
    COMPANY_A, NOW, OPERATOR_ID, billing, billing_container, booking_of, confirm,
    finalized_invoice,
)
from tests.integration.test_reliable_events import smtp_sink  # noqa: F401 (fixture)


def stored_files(databases):
    return rows(databases["billing"], "SELECT document_id::text, sha256, pdf FROM document_files")


def test_an_invoice_is_rendered_once_after_finalization_and_downloads_serve_the_stored_bytes(
        billing, publish_event, databases, listen, rpc):
    rendered = listen("billing", "billing.document_rendered")
    invoice = finalized_invoice(billing, publish_event, databases)
    (announced,) = rendered(1, timeout=180)
    assert announced["data"]["document_id"] == invoice["id"]
    assert announced["data"]["pdf_filename"] == f"{invoice['number']}.pdf"
    (stored,) = stored_files(databases)
    assert (stored["document_id"], stored["sha256"]) == (invoice["id"], invoice["sha256"])
    assert announced["data"]["pdf_size"] == len(stored["pdf"])

    pdf = base64.b64decode(billing.document_pdf(caller=ADMIN, document_id=invoice["id"]))
    assert pdf == bytes(stored["pdf"])    # served as stored, not rendered again
    assert get_facturx_xml_from_pdf(pdf, check_xsd=False)[1] == billing.document_xml(
        caller=ADMIN, document_id=invoice["id"]).encode()
    for_mail = rpc("billing", as_component="notify").document_file(document_id=invoice["id"])
    assert base64.b64decode(for_mail["pdf"]) == pdf
    assert for_mail["filename"] == f"{invoice['number']}.pdf"
    assert rendered(1, timeout=1) == []   # once per document


def test_a_document_not_rendered_yet_cannot_be_downloaded_nor_mailed(
        billing, publish_event, databases, rpc):
    as_notify = rpc("billing", as_component="notify")
    confirm(publish_event, databases, booking_of(COMPANY_A))
    billing.run_month(caller=ADMIN, payload={"month": "2026-10"})
    (draft,) = billing.list_documents(caller=ADMIN, query={"kind": "invoice"})
    for document_id in (draft["id"], str(uuid.uuid4()), "not-an-id"):
        assert refusal(as_notify.document_file, document_id=document_id)[0] == "NotFound"
    billing.finalize_invoice(caller=ADMIN, document_id=draft["id"])
    assert wait_for(lambda: stored_files(databases), timeout=180)
    with databases["billing"].begin() as conn:   # as if its rendering were still to come
        conn.execute(text("DELETE FROM document_files"))
    kind, detail = refusal(billing.document_pdf, caller=ADMIN, document_id=draft["id"])
    assert (kind, "document-not-rendered" in detail) == ("Unavailable", True)
    assert refusal(as_notify.document_file, document_id=draft["id"])[0] == "NotFound"


def renderer_of(container):
    (renderer,) = [d for d in container.dependencies if isinstance(d, Renderer)]
    return renderer.process


def test_a_consumer_killed_while_rendering_leaves_nothing_and_the_next_one_renders_once(
        billing, billing_container, start_service, publish_event, databases, listen):
    rendered = listen("billing", "billing.document_rendered")
    first = billing_container
    invoice = finalized_invoice(billing, publish_event, databases)
    assert wait_for(lambda: renderer_of(first)._child is not None, timeout=30)
    first.kill()   # as a crash would: the event is unacked, nothing committed
    assert stored_files(databases) == []

    start_service(BillingService, FIXED_NOW=NOW)
    (announced,) = rendered(1, timeout=180)
    assert announced["data"]["document_id"] == invoice["id"]
    assert len(stored_files(databases)) == 1
    assert rendered(1, timeout=1) == []


def test_a_rendering_process_that_dies_is_replaced_and_the_event_retried(
        billing, billing_container, publish_event, databases, listen):
    rendered = listen("billing", "billing.document_rendered")
    invoice = finalized_invoice(billing, publish_event, databases)
    renderer = renderer_of(billing_container)
    assert wait_for(lambda: renderer._child is not None, timeout=30)
    renderer._child.kill()   # the handler fails, rolls back, and the event is retried
    (announced,) = rendered(1, timeout=180)
    assert announced["data"]["document_id"] == invoice["id"]
    assert len(stored_files(databases)) == 1
    assert rendered(1, timeout=1) == []


def test_the_invoice_and_the_settlement_are_mailed_with_their_pdf_once_per_recipient(
        billing, start_service, publish_event, databases, listen, smtp_sink):  # noqa: F811
    sink, port = smtp_sink()
    start_service(NotifyService, SMTP_PORT=port)
    for number in (1, 2):
        publish_event("identity", "identity.user_provisioned", {
            "user_id": str(uuid.uuid4()), "organisation_id": OPERATOR_ID,
            "email": f"gestion{number}@scic.example", "full_name": f"Gestion {number}",
            "roles": ["relay_manager"]})
    assert wait_for(lambda: len(rows(databases["notify"], "SELECT 1 FROM contacts")) == 2)
    rendered = listen("billing", "billing.document_rendered")
    invoice = finalized_invoice(billing, publish_event, databases)
    billing.run_settlements(caller=ADMIN, payload={"month": "2026-10"})
    (settlement,) = billing.list_documents(caller=ADMIN, query={"kind": "self_billed_invoice"})

    assert wait_for(lambda: len(sink.received) == 3, timeout=180)
    for envelope in rendered(2):   # a redelivered event mails nobody twice
        publish_event("billing", envelope["type"], envelope["data"], envelope=envelope)
    eventlet.sleep(1)
    mails = [email.message_from_bytes(m.content, policy=email.policy.default)
             for m in sink.received]
    assert sorted(m["To"] for m in mails) == [
        "compta@example.org", "gestion1@scic.example", "gestion2@scic.example"]
    for mail in mails:
        document = invoice if mail["To"] == "compta@example.org" else settlement
        assert document["number"] in mail["Subject"]
        (attachment,) = list(mail.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == f"{document['number']}.pdf"
        assert attachment.get_content() == base64.b64decode(
            billing.document_pdf(caller=ADMIN, document_id=document["id"]))
        assert "Bonjour" in mail.get_body(("plain",)).get_content()
