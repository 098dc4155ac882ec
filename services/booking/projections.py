"""What booking keeps from identity's events: members (name, home, whether
they are active) and their organisations' policies. Each event is applied
only if it is newer than what is kept (events may arrive out of order)."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from services.booking.bookings import BOOKING_LOADS, cancel_booking
from services.booking.models import Booking, Member, OrganisationPolicy

DEACTIVATION_REASON = "member deactivated"


def remember_user(uow, data):
    values = {"organisation_id": data["organisation_id"], "email": data["email"],
              "full_name": data["full_name"]}
    uow.session.execute(insert(Member).values(user_id=data["user_id"], **values)
                        .on_conflict_do_update(index_elements=[Member.user_id], set_=values))


def remember_profile(uow, data, as_of):
    values = {"organisation_id": data["organisation_id"], "home_commune": data["home_commune"],
              "home_latitude": data["home_latitude"], "home_longitude": data["home_longitude"],
              "profile_as_of": as_of}
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], **values)
        .on_conflict_do_update(index_elements=[Member.user_id], set_=values,
                               where=(Member.profile_as_of.is_(None)) | (Member.profile_as_of < as_of)))


def remember_policy(uow, data, as_of):
    values = {key: data[key] for key in ("allowed_relays", "radius_km", "max_days_per_month",
                                         "booking_horizon_days", "space_kinds")}
    values.update(relay_ids=list(data["relay_ids"] or []), as_of=as_of)
    uow.session.execute(
        insert(OrganisationPolicy).values(organisation_id=data["organisation_id"], **values)
        .on_conflict_do_update(index_elements=[OrganisationPolicy.organisation_id], set_=values,
                               where=OrganisationPolicy.as_of < as_of))


def deactivate_member(uow, data, now):
    """A deactivated member books no more, and their bookings to come are
    cancelled by the platform (never late-billed), each with its event."""
    uow.session.execute(
        insert(Member).values(user_id=data["user_id"], organisation_id=data["organisation_id"],
                              deactivated_at=data["deactivated_at"])
        .on_conflict_do_update(index_elements=[Member.user_id],
                               set_={"deactivated_at": data["deactivated_at"]}))
    to_come = uow.session.execute(
        select(Booking).options(*BOOKING_LOADS)
        .where(Booking.member_id == data["user_id"], Booking.status == "confirmed",
               Booking.starts_at >= data["deactivated_at"], Booking.ends_at > now)
        .order_by(Booking.starts_at).with_for_update(of=Booking)
    ).unique().scalars().all()
    for booking in to_come:
        cancel_booking(uow, booking, "system", DEACTIVATION_REASON, now)
    return len(to_come)
