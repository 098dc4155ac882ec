"""What booking keeps from identity's events: members (name, home, whether
they are active, their groups' policies), their organisations' kinds and policies. Each event is applied
only if it is newer than what is kept (events may arrive out of order)."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.booking.bookings import BOOKING_LOADS, cancel_booking, lock_member
from services.booking.calendar_feed import revoke_feeds_of
from services.booking.models import Booking, Member, OrganisationKind, OrganisationPolicy

DEACTIVATION_REASON = "member deactivated"


def remember_user(uow, data, as_of):
    """Name, e-mail and organisation from ``identity.user_provisioned`` or
    ``identity.user_updated``; an older event than the one kept changes nothing."""
    values = {"organisation_id": data["organisation_id"], "email": data["email"],
              "full_name": data["full_name"], "contact_as_of": as_of}
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Member.user_id], set_=values,
                               where=(Member.contact_as_of.is_(None)) | (Member.contact_as_of < as_of)))


def remember_profile(uow, data, as_of):
    """The home a radius policy measures from (and impact counts the trip from):
    the one the organisation's admin set (``policy_home_*``), never the one the
    employee declares; the declared commute is the trip a booking avoids."""
    values = {"organisation_id": data["organisation_id"],
              "home_commune": data["policy_home_commune"],
              "home_latitude": data["policy_home_latitude"],
              "home_longitude": data["policy_home_longitude"],
              "commute_km": data["commute_km"], "commute_mode": data["commute_mode"],
              "profile_as_of": as_of}
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Member.user_id], set_=values,
                               where=(Member.profile_as_of.is_(None)) | (Member.profile_as_of < as_of)))


def remember_organisation_kind(uow, data):
    """``identity.organisation_created``: kinds never change, so a redelivery
    changes nothing."""
    uow.session.execute(
        insert(OrganisationKind).values(organisation_id=data["organisation_id"], kind=data["kind"])
        .on_conflict_do_nothing(index_elements=[OrganisationKind.organisation_id]))


def remember_policy(uow, data, as_of):
    values = {key: data[key] for key in ("allowed_relays", "radius_km", "max_days_per_month",
                                         "booking_horizon_days", "space_kinds",
                                         "monthly_budget_cents", "budget_per")}
    values.update(relay_ids=list(data["relay_ids"] or []), as_of=as_of)
    uow.session.execute(
        insert(OrganisationPolicy).values(organisation_id=data["organisation_id"], **values)
        .on_conflict_do_update(index_elements=[OrganisationPolicy.organisation_id], set_=values,
                               where=OrganisationPolicy.as_of < as_of))


def remember_member_policies(uow, data, as_of):
    """The policies of the groups holding a member, whole, from
    ``identity.member_policies_changed``; an older event changes nothing."""
    values = {"organisation_id": data["organisation_id"],
              "group_policies": [dict(policy) for policy in data["policies"]],
              "group_policies_as_of": as_of}
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Member.user_id], set_=values,
                               where=(Member.group_policies_as_of.is_(None))
                               | (Member.group_policies_as_of < as_of)))


def remember_member_programmes(uow, data, as_of):
    """A resident's programmes, whole, and where they live, from
    ``identity.member_programmes_changed``; an older event changes nothing."""
    values = {"organisation_id": data["organisation_id"],
              "programmes": [dict(programme) for programme in data["programmes"]],
              "resident_commune": data["home_commune"],
              "resident_postcode": data["home_postcode"], "programmes_as_of": as_of}
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Member.user_id], set_=values,
                               where=(Member.programmes_as_of.is_(None))
                               | (Member.programmes_as_of < as_of)))


def deactivate_member(uow, data, now):
    """A deactivated member books no more, their bookings to come are
    cancelled by the platform (never late-billed), each with its event, and
    their calendar feed is revoked. Under the member's lock, so a booking
    being made meanwhile either commits first (and is cancelled here) or sees
    the deactivation. A deactivation older than a reactivation already
    applied (events out of order) changes nothing. Returns how many bookings
    were cancelled."""
    user_id, deactivated_at = data["user_id"], data["deactivated_at"]
    lock_member(uow.session, user_id)
    applied = uow.session.execute(
        insert(Member).values(user_id=user_id, organisation_id=data["organisation_id"],
                              deactivated_at=deactivated_at)
        .on_conflict_do_update(index_elements=[Member.user_id],
                               set_={"deactivated_at": deactivated_at},
                               where=(Member.reactivated_at.is_(None))
                               | (Member.reactivated_at < deactivated_at))
        .returning(Member.user_id)).first()
    if applied is None:
        return 0
    revoke_feeds_of(uow.session, user_id)
    to_come = uow.session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.member_id == user_id, Booking.status == "confirmed",
               Booking.starts_at >= deactivated_at, Booking.ends_at > now)
        .order_by(Booking.starts_at).with_for_update(of=Booking)
    ).unique().scalars().all()
    for booking in to_come:
        cancel_booking(uow, booking, "system", DEACTIVATION_REASON, now)
    return len(to_come)


def reactivate_member(uow, data, as_of):
    """``identity.user_reactivated`` (``as_of`` is when it happened): the
    member may book again, unless a deactivation newer than it was already
    applied (events out of order). Bookings cancelled at deactivation stay
    cancelled."""
    lock_member(uow.session, data["user_id"])
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], organisation_id=data["organisation_id"],
                              reactivated_at=as_of)
        .on_conflict_do_update(
            index_elements=[Member.user_id],
            set_={"deactivated_at": None, "reactivated_at": as_of},
            where=((Member.deactivated_at.is_(None)) | (Member.deactivated_at < as_of))
            & ((Member.reactivated_at.is_(None)) | (Member.reactivated_at < as_of))))
