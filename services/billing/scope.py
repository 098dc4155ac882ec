"""Who sees which document: network staff every one; a corporate admin their
company's invoices and credit notes (a programme admin their programme's); a relay manager their operator's
settlements. Anything else is "not found", writes included: a caller learns
nothing of another tenant's documents, not even that they exist."""
from sqlalchemy import select

from common import errors
from common.validation import is_uuid
from services.billing.models import BillingDocument, KnownRelay


def visible(statement, caller, session):
    """Network staff see every document; a corporate admin their company's
    invoices and credit notes; a relay manager their operator's statements."""
    if caller.sees_whole_network:
        return statement
    owners = []
    # A company's admins, and a programme's (it pays for what its residents book).
    if caller.has("corporate_admin", "programme_admin") and caller.organisation_id:
        owners.append(caller.organisation_id)
    if caller.has("relay_manager"):
        if caller.organisation_id:
            owners.append(caller.organisation_id)
        relay_ids = [r for r in caller.relay_ids if is_uuid(r)]
        if relay_ids:
            owners += session.execute(select(KnownRelay.operator_organisation_id).where(
                KnownRelay.relay_id.in_(relay_ids),
                KnownRelay.operator_organisation_id.is_not(None))).scalars().all()
    return statement.where(BillingDocument.organisation_id.in_(owners or [None]))


def visible_document(session, caller, document_id):
    row = session.execute(visible(select(BillingDocument), caller, session).where(
        BillingDocument.id == document_id)).scalar_one_or_none() if is_uuid(document_id) else None
    if row is None:
        raise errors.NotFound(f"No document {document_id}.")
    return row


def require_admin_over(session, caller, document_id):
    """A network admin's action on a document: for anyone else, "not found"
    unless they can see it, then "forbidden"."""
    if not caller.is_network_admin:
        visible_document(session, caller, document_id)
        caller.require("network_admin")


def require_admin_for_organisation(caller, organisation_id):
    """A network admin's action on an organisation's terms: another
    organisation's are "not found" to anyone else."""
    if not caller.is_network_admin:
        if caller.organisation_id != organisation_id and not caller.sees_whole_network:
            raise errors.NotFound(f"No organisation {organisation_id}.")
        caller.require("network_admin")
