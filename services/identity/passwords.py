"""The password policy. Pure: no database, no clock of its own, so the unit
tests can state the rules exactly. (Log-in limits live at the gateway, which
knows the client: gateway/limits.py.)

Policy (NIST SP 800-63B's advice rather than composition rules): 12 to 256
characters, at least 5 different characters, not a well-known password, and not
the account's own e-mail address or its local part.
"""
from contracts.vocabulary import PASSWORD_MAX_LENGTH as MAX_LENGTH
from contracts.vocabulary import PASSWORD_MIN_DISTINCT_CHARACTERS as MIN_DISTINCT_CHARACTERS
from contracts.vocabulary import PASSWORD_MIN_LENGTH as MIN_LENGTH

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
