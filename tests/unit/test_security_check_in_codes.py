"""Security: the check-in code of the day (services/booking/check_in_codes.py)."""
from datetime import date, timedelta

from services.booking import check_in_codes


def test_a_code_has_six_digits_and_changes_every_day():
    secret = check_in_codes.new_secret()
    first = date(2027, 1, 1)
    codes = [check_in_codes.code_of_day(secret, first + timedelta(days=n)) for n in range(366)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(set(codes)) > 360  # a million values: a few clashes a year at most


def test_a_code_depends_on_the_relays_secret():
    day = date(2027, 3, 1)
    secrets = [check_in_codes.new_secret() for _ in range(50)]
    assert len({check_in_codes.code_of_day(secret, day) for secret in secrets}) > 45
    assert len(secrets[0]) == 64  # 256 bits


def test_matching_is_exact():
    secret, day = check_in_codes.new_secret(), date(2027, 3, 1)
    code = check_in_codes.code_of_day(secret, day)
    assert check_in_codes.matches(code, secret, day)
    assert not check_in_codes.matches(code, secret, day + timedelta(days=1)) or \
        check_in_codes.code_of_day(secret, day + timedelta(days=1)) == code
    assert not check_in_codes.matches(None, secret, day)
    assert not check_in_codes.matches("", secret, day)
    assert not check_in_codes.matches(code + "0", secret, day)


def test_five_wrong_codes_a_day_then_only_the_manager():
    assert check_in_codes.may_try(check_in_codes.MAX_WRONG_CODES_A_DAY - 1)
    assert not check_in_codes.may_try(check_in_codes.MAX_WRONG_CODES_A_DAY)
