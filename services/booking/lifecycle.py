"""What can happen to a booking after it is made. Pure domain code.

    confirmed --check-in--> checked_in --end of slot--> completed
    confirmed --no check-in N min after start, or after booking if booked
               later (desks)--> no_show   (the desk is free again)
    confirmed --end of slot, no release configured--> completed
    confirmed --cancel--> cancelled  (late if less than 24 h before the start)

A booking holds its space while it is confirmed, checked in or completed; a
cancelled or no-show booking does not (the exclusion constraints say the same).
"""
from datetime import timedelta

ACTIVE_STATUSES = ("confirmed", "checked_in", "completed")
STATUSES = ACTIVE_STATUSES + ("cancelled", "no_show")
LATE_CANCELLATION_NOTICE = timedelta(hours=24)
CHECK_IN_OPENS_BEFORE_START = timedelta(minutes=30)
DEFAULT_NO_SHOW_AFTER_MINUTES = 30
# Who cancelled; only the customer's side can be billed for a late cancellation.
CUSTOMER_SIDE = ("member", "corporate_admin")


class TransitionRefused(Exception):
    def __init__(self, rule, detail):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def is_late_cancellation(starts_at, cancelled_at, cancelled_by):
    """Late: by the member or their company, less than 24 real hours before
    the start. A relay or the platform cancelling is never the member's fault."""
    return cancelled_by in CUSTOMER_SIDE and starts_at - cancelled_at < LATE_CANCELLATION_NOTICE


def check_cancellable(status, ends_at, now):
    if status == "cancelled":
        return False  # already: cancelling again changes nothing
    if status != "confirmed":
        raise TransitionRefused("not-cancellable",
                                f"A booking that is {status.replace('_', ' ')} cannot be cancelled.")
    if ends_at <= now:
        raise TransitionRefused("booking-over", "This booking is over; it cannot be cancelled.")
    return True


def check_check_in(status, starts_at, ends_at, now):
    if status == "checked_in":
        return False  # already checked in: nothing to do
    if status != "confirmed":
        raise TransitionRefused("not-checkable",
                                f"A booking that is {status.replace('_', ' ')} cannot be checked in.")
    if now < starts_at - CHECK_IN_OPENS_BEFORE_START:
        raise TransitionRefused("check-in-too-early",
                                "Check-in opens 30 minutes before the start.")
    if now >= ends_at:
        raise TransitionRefused("booking-over", "This booking is over.")
    return True


def no_show_due_at(space_kind, starts_at, booked_at, no_show_after_minutes):
    """When a desk nobody checked in to is released; None when never (rooms,
    or relays that turned the release off).

    The delay counts from the start, or from the booking when it is made
    later: a walk-in who books this morning's desk at 10:00 has until 10:30
    to check in, like anyone else, not a booking already due for release.
    (Rounded up to the minute: the member is told a time such as 10:31.)"""
    if space_kind != "desk" or no_show_after_minutes is None:
        return None
    due = max(starts_at, booked_at) + timedelta(minutes=no_show_after_minutes)
    if due.second or due.microsecond:
        due = due.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return due
