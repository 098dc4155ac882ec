"""The rules of webhooks, pure: which events an endpoint may receive and
with what data, how a delivery is signed (Standard Webhooks), which URLs are
safe to call, and when the next attempt is due. Standard library only.

An endpoint belongs to an organisation and has a *scope*, fixed at creation
from its creator's role:

- ``network`` (a network admin): every event;
- ``company`` (a corporate admin): events about its own organisation, its
  members' bookings (``organisation_id`` of the booking) included;
- ``relay_operator`` (a relay manager): events about the relays the manager
  ran when the endpoint was made (``relay_ids``, kept on the endpoint), and
  the operator's own settlements and commission (``OPERATOR_RULES``).

``SCOPE_RULES`` names, for every event type of the published language, the
field that decides; a new event type without a rule fails a unit test, so an
event cannot leak to a company by default.
"""
import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from fnmatch import fnmatchcase

from common import outbound

SCOPES = ("network", "company", "relay_operator")

# For each event type: (field naming the organisation a company must own,
# field naming the relay a relay operator must run). None: that kind of
# subscriber never receives the event (only the network does).
SCOPE_RULES = {
    "identity.organisation_created": ("organisation_id", None),
    "identity.user_provisioned": ("organisation_id", None),
    "identity.user_updated": ("organisation_id", None),
    "identity.user_deactivated": ("organisation_id", None),
    "identity.user_reactivated": ("organisation_id", None),
    "identity.invitation_issued": ("organisation_id", None),
    "identity.policy_changed": ("organisation_id", None),
    "identity.profile_changed": ("organisation_id", None),
    "identity.member_policies_changed": ("organisation_id", None),
    "identity.sign_up_requested": (None, None),  # nobody's organisation yet: the network's
    # A resident's programmes and commune: the network's only (a programme
    # reads its enrolments and use through its own API).
    "identity.member_programmes_changed": (None, None),
    "booking.relay_created": (None, "relay_id"),
    "booking.relay_updated": (None, "relay_id"),
    "booking.space_created": (None, "relay_id"),
    # A block is its holder's and its relay's business.
    "booking.block_created": ("organisation_id", "relay_id"),
    "booking.block_cancelled": ("organisation_id", "relay_id"),
    "booking.confirmed": ("organisation_id", "relay_id"),
    "booking.cancelled": ("organisation_id", "relay_id"),
    "booking.checked_in": ("organisation_id", "relay_id"),
    "booking.no_show": ("organisation_id", "relay_id"),
    "booking.completed": ("organisation_id", "relay_id"),
    "billing.rate_card_set": (None, "relay_id"),
    "billing.contract_set": ("organisation_id", None),
    "billing.commission_set": (None, None),
    "billing.invoice_finalized": ("organisation_id", None),
    "billing.credit_note_issued": ("organisation_id", None),
    "billing.invoice_overdue": ("organisation_id", None),
    "billing.payment_recorded": ("organisation_id", None),
    "billing.settlement_issued": (None, None),
    "billing.settlement_accepted": (None, None),
    "billing.settlement_contested": (None, None),
    "billing.document_rendered": ("organisation_id", None),
}

# Events about a relay operator as an organisation (its settlements, its
# commission), not about one of its relays: the field naming the operator.
OPERATOR_RULES = {
    "billing.commission_set": "operator_organisation_id",
    "billing.settlement_issued": "organisation_id",
    "billing.settlement_accepted": "organisation_id",
    "billing.settlement_contested": "organisation_id",
    "billing.document_rendered": "organisation_id",
}

# Fields never sent to a subscriber: a handle on something it must not use.
HIDDEN_FIELDS = {"invitation_id", "sign_up_id"}

TEST_EVENT_TYPE = "webhook.test"


def roles_scope(roles):
    """The scope an endpoint made by someone with these roles gets (the widest)."""
    for role, scope in (("network_admin", "network"), ("relay_manager", "relay_operator"),
                        ("corporate_admin", "company")):
        if role in roles:
            return scope
    return None


def valid_pattern(pattern, known_types):
    """``*``, ``booking.*`` (a known source) or a known event type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return any(t.startswith(pattern[:-1]) for t in known_types)
    return pattern in known_types


def wants(patterns, event_type):
    return any(fnmatchcase(event_type, pattern) for pattern in patterns)


def may_see(scope, organisation_id, relay_ids, event_type, data):
    """Whether an endpoint of this scope and owner may receive this event."""
    if scope == "network":
        return True
    company_field, relay_field = SCOPE_RULES.get(event_type, (None, None))
    if scope == "company":
        return company_field is not None and data.get(company_field) == organisation_id
    if scope == "relay_operator":
        if event_type in OPERATOR_RULES:
            return data.get(OPERATOR_RULES[event_type]) == organisation_id
        return relay_field is not None and data.get(relay_field) in set(relay_ids or ())
    return False


def payload(event, data):
    """The body of a delivery: the event's id, type, time and visible data."""
    return {"type": event["type"], "timestamp": event["occurred_at"],
            "event_id": event["event_id"],
            "data": {k: v for k, v in data.items() if k not in HIDDEN_FIELDS}}


# -- signing (https://www.standardwebhooks.com/) --------------------------------

SECRET_PREFIX = "whsec_"


def new_secret():
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret, message_id, timestamp, body):
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>`` keyed by the secret's
    base64 part."""
    key = base64.b64decode(secret[len(SECRET_PREFIX):])
    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_, message_id, timestamp, body):
    """One signature per valid secret, space separated (during a rotation the
    receiver may still hold the old secret)."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_)


# -- where we may send: common/outbound.py (identity's SSO calls out the same way) --

UnsafeUrl, check_url_form, check_address = (
    outbound.UnsafeUrl, outbound.check_url_form, outbound.check_address)


# -- when to try again ----------------------------------------------------------

DEFAULT_RETRY_SCHEDULE_MS = (5_000, 300_000, 1_800_000, 7_200_000, 18_000_000,
                             36_000_000, 36_000_000)


def next_attempt_delay(attempts_made, schedule_ms):
    """The wait before the next attempt after ``attempts_made`` failed ones, or
    None when the schedule is spent (the delivery has failed for good)."""
    if attempts_made - 1 < len(schedule_ms):
        return timedelta(milliseconds=schedule_ms[attempts_made - 1])
    return None


def succeeded(status_code):
    return status_code is not None and 200 <= status_code < 300
