"""The words every side of Relais uses, defined once."""

# Spaces and slots.
SPACE_KINDS = ("desk", "meeting_room", "teleconsultation_booth", "visio_room", "study_room")
# Every kind but the desk is booked, and priced, by the hour (or by the
# sessions a relay defines for one space).
HOURLY_SPACE_KINDS = tuple(kind for kind in SPACE_KINDS if kind != "desk")
# Kinds that seat one person whatever the relay says.
ONE_SEAT_SPACE_KINDS = ("desk", "teleconsultation_booth")
# A tele-consultation booth is private: a relay manager sees that it is booked
# and by whom, never why; nothing the booker writes about it is kept.
PRIVATE_SPACE_KINDS = ("teleconsultation_booth",)
# What a space offers, and which kinds may offer what (a booth is soundproof
# by definition; only a study room is exam-suitable).
SPACE_FEATURES = ("screen", "camera", "connected_medical_devices", "wheelchair_accessible",
                  "soundproof", "exam_suitable")
SPACE_FEATURES_BY_KIND = {
    "desk": ("screen", "wheelchair_accessible"),
    "meeting_room": ("screen", "camera", "wheelchair_accessible", "soundproof"),
    "teleconsultation_booth": ("screen", "camera", "connected_medical_devices",
                               "wheelchair_accessible", "soundproof"),
    "visio_room": ("screen", "camera", "wheelchair_accessible", "soundproof"),
    "study_room": ("screen", "camera", "wheelchair_accessible", "soundproof", "exam_suitable"),
}
ALWAYS_FEATURES_BY_KIND = {"teleconsultation_booth": ("soundproof",)}
# Reserved capacity: how a block of spaces held for an organisation is billed
# (a fixed price each month, or its bookings like any other), and how long
# before each place starts its unused places are released to everyone.
BLOCK_BILLING = ("whole", "per_use")
DEFAULT_BLOCK_RELEASE_HOURS = 48
SLOTS = ("morning", "afternoon", "day")             # desks; rooms book hours
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BOOKING_STATUSES = ("confirmed", "checked_in", "completed", "cancelled", "no_show")
RELAY_SERVICES = ("coworking", "meeting_room", "visio_room", "telemedicine", "distance_learning",
                  "fablab", "repair_cafe", "cafe", "france_services", "printer", "parking",
                  "ev_charging", "bike_parking", "childcare")
ACCESSIBILITY = ("wheelchair", "step_free_access", "accessible_toilet", "hearing_loop",
                 "disabled_parking", "guide_dogs_welcome")

# People and organisations.
ROLES = ("network_admin", "network_ops", "relay_manager", "corporate_admin", "programme_admin",
         "member")
# How the caller proved who it is: a person's access token (``user_id`` is the
# user), an API key or a SCIM token (``user_id`` is then the key's id).
CREDENTIALS = ("access_token", "api_key", "scim_token")
ORGANISATION_KINDS = ("network", "relay_operator", "corporate", "individual", "programme")
# Who funds a programme (an organisation of kind ``programme`` that grants
# residents access and pays for what they book under it).
PROGRAMME_FUNDERS = ("departement", "health_insurer", "region", "association", "other")
COMMUTE_MODES = ("car", "carpool", "motorbike", "train", "bus", "bike", "walk", "other")
# A corporate policy's relays: any, a list, or those within a radius of home.
ALLOWED_RELAYS = ("all", "list", "radius")
BUDGET_PER = ("organisation", "member")  # whom a monthly budget caps
# The languages people are written to in (mails, pages); French unless they chose.
LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
# Categories of mails (services/notify/message_categories.py): the first ones
# cannot be turned off, the others are on until their recipient turns them off.
MANDATORY_MAIL_CATEGORIES = ("account", "invoicing", "booking_changes")
OPTIONAL_MAIL_CATEGORIES = ("booking_receipts", "reminders", "arrivals_digest")
MAIL_CATEGORIES = MANDATORY_MAIL_CATEGORIES + OPTIONAL_MAIL_CATEGORIES
# The password policy (services/identity/passwords.py applies it; the OpenAPI
# document states it).
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
PASSWORD_MIN_DISTINCT_CHARACTERS = 5
PASSWORD_POLICY = (f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, at least "
                   f"{PASSWORD_MIN_DISTINCT_CHARACTERS} different ones, not a well-known "
                   "password, and not the account's e-mail address or its local part.")

# Money.
STANDARD_VAT_RATE_BP = 2000  # France's standard VAT rate, in basis points (20 %)
