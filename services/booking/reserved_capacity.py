"""Reserved capacity: the rules of a block of spaces a relay holds for an
organisation (a company or a programme). Pure domain code: no nameko, no SQL.

A block holds each of its spaces every ``weekday`` of its period, at the same
times (a slot for desks, hours for the other kinds): one *place* per space and
day. A place is **held** until its release, ``release_hours`` (default 48)
before it starts, and free for everyone after that. The release is computed
from the clock whenever someone books, so no job has to run at the right
moment and two replicas cannot disagree:

    held (before release_at) --time passes--> released (anyone may book it)

While a place is held, only the holder's members book that space at that
time (their booking is "in the block"); anyone else is refused
(``space-reserved``). A booking by a holder's member on a released place is
still in the block (the block pays for it when billed whole).
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta


class PlaceRefused(Exception):
    """The space is held for another organisation's block at that time."""

    rule = "space-reserved"

    def __init__(self, release_at):
        super().__init__(release_at)
        self.release_at = release_at


@dataclass(frozen=True)
class Place:
    """A held space-day as the rules read it."""
    block_id: str
    organisation_id: str
    release_at: datetime


def block_days(weekday: int, starts_on: date, ends_on: date):
    """Every ``weekday`` (0 = Monday) from ``starts_on`` to ``ends_on`` included."""
    first = starts_on + timedelta(days=(weekday - starts_on.weekday()) % 7)
    return [first + timedelta(weeks=n) for n in range(((ends_on - first).days // 7) + 1)
            if first <= ends_on]


def release_at(starts_at: datetime, release_hours: int):
    """When a place's unused capacity goes to everyone: real hours before it starts."""
    return starts_at - timedelta(hours=release_hours)


def is_held(place: Place, now: datetime):
    return now < place.release_at


def block_of_booking(places, organisation_id, now):
    """The block a booking of a space falls in, given the places of that
    space overlapping its time: None if it is outside every block;
    PlaceRefused if another organisation holds one of them still."""
    for place in places:
        if place.organisation_id != organisation_id and is_held(place, now):
            raise PlaceRefused(min(p.release_at for p in places
                                   if p.organisation_id != organisation_id and is_held(p, now)))
    return next((p.block_id for p in places if p.organisation_id == organisation_id), None)
