"""A final document's Factur-X files: rendered once, after it is issued, and
served from the database ever after.

Finalizing stays a short transaction: it publishes the document's event
(``billing.invoice_finalized``, ``billing.credit_note_issued``,
``billing.settlement_issued``), and billing consumes its own event to render
the files in another transaction (in a child process: documents/process.py),
store them, and announce ``billing.document_rendered``. notify mails the
document on that event, with the stored PDF attached (``billing.document_file``).
The consumer's inbox makes it once per document; a consumer killed while
rendering commits nothing, and the redelivered event renders again.
Downloads serve the stored files only: a download never renders (it would
wait behind a month end's queue of documents).
"""
from sqlalchemy.dialects.postgresql import insert

from common import errors
from common.validation import is_uuid
from services.billing import issuing
from services.billing.models import FINAL, BillingDocument, DocumentFile

PDF_MEDIA_TYPE = "application/pdf"
RETRY_AFTER_SECONDS = 30


def render_issued_document(uow, render, document_id):
    """The consumer's use case: the files rendered and stored, then
    ``billing.document_rendered``."""
    row = uow.session.get(BillingDocument, document_id)
    files = render(issuing.final_document_of(uow.session, row))
    uow.session.execute(insert(DocumentFile).values(
        document_id=row.id, sha256=row.sha256, xml=files.xml, pdf=files.pdf)
        .on_conflict_do_nothing())
    uow.publish("billing.document_rendered", dict(
        issuing.document_event(row), pdf_filename=pdf_filename(row), pdf_size=len(files.pdf)))


def stored_files(session, row):
    """A final document's files, for a download. Rendering takes a moment
    after finalization (longer at a month end): until then, try again."""
    stored = session.get(DocumentFile, row.id)
    if stored is None:
        raise errors.Unavailable(
            f"{row.number}'s Factur-X files are being rendered: try again in a minute.",
            code="document-not-rendered", fields={"retry_after_seconds": [RETRY_AFTER_SECONDS]})
    return stored


def pdf_filename(row):
    return f"{row.number}.pdf"


def file_for_mail(session, document_id):
    """``billing.document_file``: what notify attaches to a document's mail.
    Only a rendered final document has one (``document-not-rendered``)."""
    row = session.get(BillingDocument, document_id) if is_uuid(document_id) else None
    stored = session.get(DocumentFile, document_id) if row is not None else None
    if row is None or row.status != FINAL or stored is None:
        raise errors.NotFound(f"No rendered document {document_id}.")
    return {"document_id": row.id, "number": row.number, "sha256": stored.sha256,
            "filename": pdf_filename(row), "media_type": PDF_MEDIA_TYPE, "pdf": stored.pdf}
