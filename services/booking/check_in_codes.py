"""A relay's check-in code: six digits that change every day by themselves.

Members prove they are at the relay with the code shown at its reception. The
code of a day is HMAC-SHA256(relay's secret, the relay's local date), read as
a number modulo 10^6: nobody who saw yesterday's code learns today's, and no
manager has to rotate anything. The secret (256 random bits) never leaves
booking's database; a manager who suspects it leaked rotates it
(``rotate_check_in_code``), which changes today's code at once.

Guessing is bounded per member and relay and day (``MAX_WRONG_CODES_A_DAY``,
counted in ``check_in_failures``), not per booking: cancelling and booking
again does not reset it, and the code changes before the count does. Pure:
the standard library only.
"""
import hashlib
import hmac
import secrets

MAX_WRONG_CODES_A_DAY = 5
# Failure counts older than this are pruned (a code lives a day).
KEEP_FAILURES_DAYS = 7


def new_secret():
    return secrets.token_hex(32)


def code_of_day(secret, day):
    digest = hmac.new(secret.encode(), day.isoformat().encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def matches(given, secret, day):
    """Constant-time comparison with the code of ``day``."""
    return bool(given) and hmac.compare_digest(given.encode(), code_of_day(secret, day).encode())


def may_try(wrong_codes_today):
    return wrong_codes_today < MAX_WRONG_CODES_A_DAY
