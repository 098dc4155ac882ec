"""Programmes: a funder (a département, a health insurer, a region, an
association) is an organisation of kind ``programme`` whose admins
(``programme_admin``) grant residents access: which kinds of space, which
relays, how many hours and days a month, from when to when, to residents of
which communes or départements. Booking enforces the grant, billing invoices
the programme for what is booked under it.

Residents are in by their e-mail address (``enrolments``): enrolled by the
programme's admins, or by themselves with the programme's invitation code. An
admin's enrolment of an address that has no account yet is kept and counts
once the address signs up: the answer is the same either way, so enrolling
tells a programme nothing of who has an account. Only residents (members of
an ``individual`` account) book under programmes.

What booking needs travels in ``identity.member_programmes_changed``: the
resident's programmes, whole, and where they live. It is published for every
resident concerned when an enrolment starts or ends, a grant changes, a
resident's account is made, or their commune or postcode changes.
"""
from datetime import datetime, timezone

from sqlalchemy import func, select

from common import errors
from common.validation import is_uuid
from services.identity import audit, tokens
from services.identity.models import EmployeeProfile, Enrolment, Organisation, Programme, User
from services.identity.scope import administered_organisation

PROGRAMME_KIND = "programme"
RESIDENT_KIND = "individual"
GRANT_FIELDS = ("funder", "space_kinds", "relay_ids", "communes", "departments",
                "max_hours_per_month", "max_days_per_month", "valid_from", "valid_until",
                "per_person_reports")


def administered_programme(session, caller, organisation_id, write=True):
    """A programme the caller runs (its programme admins, network admins; to
    read, network ops too); anyone else's is "not found"."""
    organisation = administered_organisation(session, caller, organisation_id, write)
    if organisation.kind != PROGRAMME_KIND:
        raise errors.NotFound(f"{organisation_id} is not a programme.", code="not-a-programme")
    return organisation


def get_programme(session, caller, organisation_id):
    organisation = administered_programme(session, caller, organisation_id, write=False)
    return session.get(Programme, organisation.id) or Programme(organisation_id=organisation.id)


def set_programme(uow, caller, organisation_id, data):
    """Replace a programme's grant; its residents' rules follow at once."""
    organisation = administered_programme(uow.session, caller, organisation_id)
    programme = uow.session.get(Programme, organisation.id, with_for_update=True)
    if programme is None:
        programme = Programme(organisation_id=organisation.id)
        uow.session.add(programme)
    values = dict(data, relay_ids=_strings(data.get("relay_ids")),
                  communes=_strings(data.get("communes")))
    for name in GRANT_FIELDS:
        setattr(programme, name, values.get(name))
    uow.session.flush()
    for user in _enrolled_residents(uow.session, organisation.id):
        publish_for(uow, user)
    audit.record(uow, caller, organisation.id, "programme.changed", "organisation",
                 organisation.id, {"fields": sorted(name for name in GRANT_FIELDS
                                                    if values.get(name) is not None)})
    return programme


def issue_code(uow, caller, organisation_id):
    """A new invitation code for the programme (shown once; the previous one
    stops working). 256 random bits: typed by residents, never guessed."""
    organisation = administered_programme(uow.session, caller, organisation_id)
    programme = uow.session.get(Programme, organisation.id, with_for_update=True)
    if programme is None:
        programme = Programme(organisation_id=organisation.id)
        uow.session.add(programme)
    code = tokens.new_secret("programme_code")
    programme.code_hash = tokens.secret_hash(code)
    audit.record(uow, caller, organisation.id, "programme.code_issued", "organisation",
                 organisation.id)
    return {"code": code}


def enrol(uow, caller, organisation_id, email):
    """An admin enrols an address; the same answer whether it has an account."""
    organisation = administered_programme(uow.session, caller, organisation_id)
    enrolment = _enrol(uow, organisation.id, email, "admin", caller.user_id)
    audit.record(uow, caller, organisation.id, "programme.enrolled", "enrolment", enrolment.id)
    return enrolment


def join(uow, caller, code):
    """A resident joins the programme whose code they typed. ``NotFound
    invalid-programme-code`` for any code that opens nothing (the gateway
    counts them per client)."""
    user = uow.session.get(User, caller.user_id) if is_uuid(caller.user_id) else None
    programme = uow.session.execute(select(Programme).where(
        Programme.code_hash == tokens.secret_hash(code))).scalar_one_or_none()
    if programme is None or user is None or caller.credential != "access_token":
        raise errors.NotFound("No programme has this code.", code="invalid-programme-code")
    if _kind_of(uow.session, user) != RESIDENT_KIND:
        raise errors.Forbidden("Programmes are for residents (individual accounts).",
                               code="resident-only")
    enrolment = _enrol(uow, programme.organisation_id, user.email, "code", user.id)
    audit.record(uow, caller, programme.organisation_id, "programme.joined", "enrolment",
                 enrolment.id)
    return enrolment


def _enrol(uow, programme_id, email, via, by):
    email_lower = email.strip().lower()
    live = uow.session.execute(select(Enrolment).where(
        Enrolment.programme_id == programme_id, Enrolment.email_lower == email_lower,
        Enrolment.ended_at.is_(None)).with_for_update()).scalar_one_or_none()
    if live is not None:
        return live  # enrolling twice changes nothing
    enrolment = Enrolment(programme_id=programme_id, email_lower=email_lower, via=via,
                          enrolled_by=by)
    uow.session.add(enrolment)
    uow.session.flush()
    _publish_for_address(uow, email_lower)
    return enrolment


def end_enrolment(uow, caller, organisation_id, enrolment_id):
    organisation = administered_programme(uow.session, caller, organisation_id)
    enrolment = uow.session.get(Enrolment, enrolment_id, with_for_update=True) \
        if is_uuid(enrolment_id) else None
    if enrolment is None or enrolment.programme_id != organisation.id:
        raise errors.NotFound(f"No enrolment {enrolment_id}.")
    if enrolment.ended_at is None:
        enrolment.ended_at = datetime.now(timezone.utc)
        uow.session.flush()
        _publish_for_address(uow, enrolment.email_lower)
        audit.record(uow, caller, organisation.id, "programme.enrolment_ended", "enrolment",
                     enrolment.id)
    return enrolment


def list_enrolments(session, caller, organisation_id, query):
    organisation = administered_programme(session, caller, organisation_id, write=False)
    statement = select(Enrolment).where(Enrolment.programme_id == organisation.id)
    if query.get("active") is not None:
        statement = statement.where(Enrolment.ended_at.is_(None) if query["active"]
                                    else Enrolment.ended_at.is_not(None))
    return session.execute(statement.order_by(Enrolment.created_at, Enrolment.id)
                           .limit(query["limit"]).offset(query["offset"])).scalars().all()


# What booking learns ----------------------------------------------------------

def publish_for(uow, user):
    """``identity.member_programmes_changed`` for one resident: their live
    programmes, whole, and where they live."""
    if _kind_of(uow.session, user) != RESIDENT_KIND:
        return
    rows = uow.session.execute(
        select(Programme, Organisation.name)
        .join(Organisation, Organisation.id == Programme.organisation_id)
        .join(Enrolment, Enrolment.programme_id == Programme.organisation_id)
        .where(Enrolment.email_lower == user.email.strip().lower(),
               Enrolment.ended_at.is_(None))
        .order_by(Organisation.name, Programme.organisation_id)).all()
    profile = uow.session.get(EmployeeProfile, user.id)
    uow.publish("identity.member_programmes_changed", {
        "user_id": user.id, "organisation_id": user.organisation_id,
        "home_commune": profile.home_commune if profile else None,
        "home_postcode": profile.home_postcode if profile else None,
        "programmes": [_rules(programme, name) for programme, name in rows]})


def _rules(programme, name):
    return {"programme_id": programme.organisation_id, "name": name,
            "space_kinds": programme.space_kinds, "relay_ids": programme.relay_ids,
            "communes": programme.communes, "departments": programme.departments,
            "max_hours_per_month": programme.max_hours_per_month,
            "max_days_per_month": programme.max_days_per_month,
            "valid_from": _day(programme.valid_from), "valid_until": _day(programme.valid_until),
            "per_person_reports": programme.per_person_reports}


def _publish_for_address(uow, email_lower):
    user = uow.session.execute(select(User).where(
        func.lower(User.email) == email_lower, User.deleted_at.is_(None))).scalar_one_or_none()
    if user is not None:
        publish_for(uow, user)


def _enrolled_residents(session, programme_id):
    return session.execute(select(User).join(
        Enrolment, func.lower(User.email) == Enrolment.email_lower).where(
        Enrolment.programme_id == programme_id, Enrolment.ended_at.is_(None),
        User.deleted_at.is_(None))).scalars().all()


def _kind_of(session, user):
    return session.execute(select(Organisation.kind).where(
        Organisation.id == user.organisation_id)).scalar_one()


def _strings(values):
    return [str(value) for value in values] if values is not None else None


def _day(value):
    return value.isoformat() if value is not None else None
