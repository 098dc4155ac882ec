"""Employee profiles: home commune and coarse coordinates, usual office, commute,
for the impact figures (kilometres and CO2 avoided). Visible only to the
employee and their organisation's corporate admins, not even to network staff.
Coordinates are rounded to 2 decimals (about 1 km) before they are stored."""
from common import errors
from common.validation import is_uuid
from services.identity import audit
from services.identity.models import EmployeeProfile, User

PROFILE_FIELDS = ("home_commune", "home_latitude", "home_longitude", "usual_office",
                  "commute_km", "commute_mode")


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
    """Replace the profile; publishes ``identity.profile_changed`` if it changed."""
    user = _profile_owner(uow.session, caller, user_id, lock=True)
    values = coarse(data)
    profile = uow.session.get(EmployeeProfile, user.id)
    if profile is not None and all(getattr(profile, k) == v for k, v in values.items()):
        return user, profile
    if profile is None:
        profile = EmployeeProfile(user_id=user.id)
        uow.session.add(profile)
    for name, value in values.items():
        setattr(profile, name, value)
    uow.session.flush()
    uow.publish("identity.profile_changed", dict(user_id=user.id,
                                              organisation_id=user.organisation_id, **values))
    audit.record(uow, caller, user.organisation_id, "profile.changed", "user", user.id,
                 {"fields": sorted(name for name, value in values.items()
                                   if value is not None)})
    return user, profile


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
