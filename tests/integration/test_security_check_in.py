"""Security: the check-in code is a proof of presence that cannot be guessed
(issue 13). The window is checked before the code, every wrong code gets one
answer, wrong codes count per member, relay and day (cancelling and booking
again does not reset them), and the code changes every day by itself."""
from sqlalchemy import text

from services.booking.check_in_codes import MAX_WRONG_CODES_A_DAY
from tests.integration.booking_helpers import (
    booked_for_now, manager_of, next_open_day, refusal, relay_with,
)
from tests.integration.conftest import member


def wrong_codes(code, count):
    return [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, count + 1)]


def test_outside_the_window_a_right_and_a_wrong_code_get_the_same_answer(booking, databases):
    relay, (desk,) = relay_with(booking)
    day = next_open_day(7)
    made = booking.book(caller=member(1), payload={"space_id": desk["id"], "date": day,
                                                   "slot": "morning"})
    right = booking.relay_day(caller=manager_of(relay["id"]), relay_id=relay["id"],
                              query={"date": day})["check_in_code"]
    answers = {refusal(booking.check_in, caller=member(1), booking_id=made["id"],
                       payload={"code": code}) for code in [right, *wrong_codes(right, 3)]}
    assert len(answers) == 1 and "check-in-too-early" in answers.pop()[1]
    with databases["booking"].connect() as conn:  # nothing was counted: no code was compared
        assert conn.execute(text("SELECT count(*) FROM check_in_failures")).scalar() == 0


def test_every_wrong_code_gets_one_answer(booking, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    answers = {refusal(booking.check_in, caller=member(1), booking_id=made["id"], **kwargs)
               for kwargs in ({}, {"payload": {"code": None}},
                              {"payload": {"code": wrong_codes(code, 1)[0]}},
                              {"payload": {"code": "x"}})}
    assert len(answers) == 1
    kind, detail = answers.pop()
    assert kind == "InvalidInput" and "wrong-check-in-code" in detail


def test_cancelling_and_booking_again_does_not_reset_the_guesses(booking, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    for guess in wrong_codes(code, MAX_WRONG_CODES_A_DAY):
        refusal(booking.check_in, caller=member(1), booking_id=made["id"],
                payload={"code": guess})
    booking.cancel_booking(caller=member(1), booking_id=made["id"])
    again = booking.book(caller=member(1), payload={
        "space_id": made["space_id"], "date": made["date"], "slot": made["slot"]})
    kind, detail = refusal(booking.check_in, caller=member(1), booking_id=again["id"],
                           payload={"code": code})
    assert kind == "TooManyAttempts" and "check-in-attempts-exhausted" in detail
    # The relay's manager still checks them in.
    assert booking.check_in(caller=manager_of(relay["id"]), booking_id=again["id"]
                            )["status"] == "checked_in"


def test_the_code_changes_every_day_and_yesterdays_does_not_work(booking, daytime):
    relay, made, code = booked_for_now(booking, member(1))
    days = [next_open_day(n) for n in (7, 8, 9)]
    codes = {booking.relay_day(caller=manager_of(relay["id"]), relay_id=relay["id"],
                               query={"date": day})["check_in_code"] for day in days}
    assert len(codes | {code}) == 4  # four days, four codes (a clash is 1 in ~10^5)
    for other_day_code in codes:
        kind, _ = refusal(booking.check_in, caller=member(1), booking_id=made["id"],
                          payload={"code": other_day_code})
        assert kind == "InvalidInput"
    assert booking.check_in(caller=member(1), booking_id=made["id"],
                            payload={"code": code})["status"] == "checked_in"
