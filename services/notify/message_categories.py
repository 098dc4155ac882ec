"""Which mails people may turn off, and the signed links that turn them off. Pure.

Every mail belongs to one category. ``account`` (invitations, access closed,
a webhook disabled), ``invoicing`` (invoices, credit notes, reminders,
payments, settlements) and ``booking_changes`` (a booking cancelled by someone
else than the member, a no-show: a desk they counted on is gone) cannot be
turned off. The others are on until the person turns them off, in the API or
with the one-click link (RFC 8058) every such mail carries.

The link works without logging in: its token is the user and the category,
signed with HMAC-SHA256 under notify's key (``RELAIS_UNSUBSCRIBE_KEY``). It
says nothing secret and does nothing but turn that one category off for that
one person, so it does not expire.
"""
import base64
import hashlib
import hmac


from contracts.vocabulary import (
    MAIL_CATEGORIES as CATEGORIES, MANDATORY_MAIL_CATEGORIES as MANDATORY,
    OPTIONAL_MAIL_CATEGORIES as OPTIONAL,
)

# The words of the footer and the confirmation page, per locale.
LABELS = {
    "fr": {"account": "votre accès", "invoicing": "facturation",
           "booking_changes": "changements de vos réservations",
           "booking_receipts": "confirmations de réservation",
           "reminders": "rappels la veille", "arrivals_digest": "arrivées du lendemain"},
    "en": {"account": "your access", "invoicing": "invoicing",
           "booking_changes": "changes to your bookings",
           "booking_receipts": "booking confirmations",
           "reminders": "reminders the day before", "arrivals_digest": "tomorrow's arrivals"},
}


def booking_category(event_type, booking):
    """A member's own confirmation or cancellation is a receipt they may turn
    off; what someone else did to their booking is news they must get."""
    if event_type == "booking.confirmed":
        return "booking_receipts"
    if event_type == "booking.cancelled" and booking.get("cancelled_by") == "member":
        return "booking_receipts"
    return "booking_changes"


class BadToken(Exception):
    """An unsubscribe token that was not signed by notify, or is not one."""


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key, payload):
    return hmac.new(key.encode(), payload, hashlib.sha256).digest()[:18]


def sign(key, user_id, category):
    payload = f"{user_id}:{category}".encode()
    return f"{_b64(payload)}.{_b64(_signature(key, payload))}"


def verify(key, token):
    """``(user_id, category)`` of a token notify signed; raises BadToken."""
    try:
        encoded_payload, encoded_signature = token.split(".")
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
        user_id, category = payload.decode().split(":")
    except (ValueError, UnicodeDecodeError):
        raise BadToken("not an unsubscribe token") from None
    if not hmac.compare_digest(signature, _signature(key, payload)) or category not in OPTIONAL:
        raise BadToken("not an unsubscribe token")
    return user_id, category


def link(public_url, key, user_id, category):
    """The https URL of the mail's List-Unsubscribe header and footer link."""
    return f"{public_url}/v1/unsubscribe/{sign(key, user_id, category)}"
