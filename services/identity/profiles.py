"""Employee profiles: home commune and coarse coordinates, usual office, commute,
for the impact figures (kilometres and CO2 avoided). Visible only to the
employee and their organisation's corporate admins, not even to network staff.
Coordinates are rounded to 2 decimals (about 1 km) before they are stored.

A radius policy ("relays within 30 km of home") must not trust a home the
employee edits: they could "move" next to any relay. So the profile keeps two
homes. The one the employee declares serves the impact figures; the *policy
home* is set only when the organisation's admin (a person or the company's
HR key) saves the profile, and keeps who and when. Booking measures from the
policy home alone (``policy_home_*`` in ``identity.profile_changed``).
"""
from datetime import datetime, timezone

from common import errors
from common.validation import is_uuid
from services.identity import audit, programmes
from services.identity.models import EmployeeProfile, User

PROFILE_FIELDS = ("home_commune", "home_postcode", "home_latitude", "home_longitude",
                  "usual_office", "commute_km", "commute_mode")
HOME_FIELDS = ("home_commune", "home_latitude", "home_longitude")
POLICY_HOME_FIELDS = tuple("policy_" + name for name in HOME_FIELDS)


def _profile_owner(session, caller, user_id, lock=False):
    user = session.get(User, user_id, with_for_update=lock) if is_uuid(user_id) else None
    if user is None or user.deleted_at is not None or not (
            caller.user_id == user.id or (caller.has("corporate_admin")
                                          and caller.organisation_id == user.organisation_id)):
        raise errors.NotFound(f"No profile for user {user_id}.")
    return user


def get_profile(session, caller, user_id):
    user = _profile_owner(session, caller, user_id)
    return user, session.get(EmployeeProfile, user.id) or EmployeeProfile(user_id=user.id)


def set_profile(uow, caller, user_id, data):
    """Replace the profile; publishes ``identity.profile_changed`` if it changed.
    Saved by the organisation's admin, the home also becomes the policy home."""
    user = _profile_owner(uow.session, caller, user_id, lock=True)
    values = coarse(data)
    by_admin = caller.has("corporate_admin") and caller.organisation_id == user.organisation_id
    if by_admin:
        values.update({"policy_" + name: values[name] for name in HOME_FIELDS})
    profile = uow.session.get(EmployeeProfile, user.id)
    if profile is not None and all(getattr(profile, k) == v for k, v in values.items()):
        return user, profile
    if profile is None:
        profile = EmployeeProfile(user_id=user.id)
        uow.session.add(profile)
    if by_admin:
        values.update(policy_home_set_by=caller.user_id, policy_home_set_at=now())
    for name, value in values.items():
        setattr(profile, name, value)
    uow.session.flush()
    uow.publish("identity.profile_changed", event_data(user, profile))
    # A resident's programmes may be limited to communes or départements.
    programmes.publish_for(uow, user)
    audit.record(uow, caller, user.organisation_id, "profile.changed", "user", user.id,
                 {"fields": sorted(name for name in PROFILE_FIELDS if values[name] is not None),
                  "policy_home_set": by_admin})
    return user, profile


def event_data(user, profile):
    data = {name: getattr(profile, name) for name in PROFILE_FIELDS + POLICY_HOME_FIELDS}
    return dict(data, user_id=user.id, organisation_id=user.organisation_id)


def now():
    return datetime.now(timezone.utc)


def coarse(data):
    """The profile as stored and published: coordinates to 2 decimals, commute
    to 0.1 km."""
    values = {name: data.get(name) for name in PROFILE_FIELDS}
    for name in ("home_latitude", "home_longitude"):
        if values[name] is not None:
            values[name] = round(values[name], 2)
    if values["commute_km"] is not None:
        values["commute_km"] = round(values["commute_km"], 1)
    return values
