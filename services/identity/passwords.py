"""The password policy and the log-in lock-out rule. Pure: no database, no clock
of its own, so the unit tests can state the rules exactly.

Policy (NIST SP 800-63B's advice rather than composition rules): 12 to 256
characters, at least 5 different characters, not a well-known password, and not
the account's own e-mail address or its local part.

Lock-out: the first LOCK_AFTER failures in a row cost nothing; each further one
locks the address for a delay that doubles from FIRST_DELAY up to MAX_DELAY. The
count is per e-mail address, known or not, so answers never tell who has an
account. A successful log-in clears it.
"""
from datetime import timedelta

from contracts.vocabulary import PASSWORD_MAX_LENGTH as MAX_LENGTH
from contracts.vocabulary import PASSWORD_MIN_LENGTH as MIN_LENGTH
MIN_DISTINCT_CHARACTERS = 5
LOCK_AFTER = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)

# The most common passwords of at least 12 characters (public breach lists).
COMMON_PASSWORDS = frozenset({
    "123456789012", "1234567890123", "12345678901234", "qwertyuiopas", "password1234",
    "passwordpassword", "azertyuiopqs", "motdepasse123", "iloveyou1234", "administrator",
    "qwerty123456", "123456123456", "abc123abc123", "welcome12345", "changeme1234",
    "azerty123456", "soleil123456", "bonjour12345", "password123!", "000000000000",
    "111111111111", "letmein12345", "trustno1trustno1", "football1234", "superman1234",
})


def policy_violations(password, email=None):
    """The rules this password breaks, in words for the user (empty if none)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"A password has at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"A password has at most {MAX_LENGTH} characters.")
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        problems.append(f"A password uses at least {MIN_DISTINCT_CHARACTERS} different characters.")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("This password is too common.")
    if email:
        lowered = password.lower()
        email = email.strip().lower()
        local = email.split("@")[0]
        if lowered == email or (len(local) >= 4 and local in lowered):
            problems.append("A password must not contain the e-mail address.")
    return problems


def lock_delay(failures):
    """How long an address stays locked after its ``failures``-th failure in a row."""
    if failures < LOCK_AFTER:
        return timedelta(0)
    doubling = min(failures - LOCK_AFTER, 10)
    return min(FIRST_DELAY * (2 ** doubling), MAX_DELAY)
