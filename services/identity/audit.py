"""The audit log: every administrative change, who made it and when.

``record`` is called by the use cases inside their unit of work, so an entry
commits with the change it describes, or not at all. Details never hold a
secret (no password, hash, token or key): callers pass only ids, names and the
fields that changed.
"""
from sqlalchemy import select

from services.identity.models import AuditEntry
from services.identity.scope import administered_organisation

SYSTEM = "system"


def record(uow, caller, organisation_id, action, target_type, target_id=None, details=None):
    uow.session.add(AuditEntry(
        organisation_id=organisation_id,
        actor_id=caller.user_id if caller is not None else SYSTEM,
        actor_kind=caller.credential if caller is not None else SYSTEM,
        action=action, target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        details=details or {},
    ))


def entries(session, caller, organisation_id, action=None, limit=50, offset=0):
    """Readable by the organisation's admins and network staff."""
    administered_organisation(session, caller, organisation_id, write=False)
    query = select(AuditEntry).where(AuditEntry.organisation_id == organisation_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return session.execute(
        query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).scalars().all()
