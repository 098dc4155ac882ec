"""identity's one password hasher (argon2id, argon2-cffi's defaults). Hashing
and checking run in a real thread: argon2 is slow on purpose, and the eventlet
hub must not wait for it."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from eventlet import tpool

hasher = PasswordHasher()
# Checked against when there is no stored hash (an unknown e-mail), so that a
# wrong e-mail takes as long as a wrong password and tells nobody who has an account.
_DUMMY_HASH = hasher.hash("not a real password, only for timing")


def hash_password(password):
    return tpool.execute(hasher.hash, password)


def password_matches(stored, password):
    """Whether ``password`` matches the ``stored`` hash; as slow when there is none."""
    try:
        tpool.execute(hasher.verify, stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
    return stored is not None
