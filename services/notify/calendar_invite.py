"""A booking as a mailed iCalendar invitation (RFC 5545, iTIP RFC 5546). Pure.

A confirmation carries ``METHOD:REQUEST``, a cancellation ``METHOD:CANCEL``
with the same UID (the one booking's calendar feed uses) and a higher
SEQUENCE, so the client that added the event removes it. Times are the relay's
local wall-clock times with ``TZID`` set to the relay's zone, and the calendar
holds that zone's ``VTIMEZONE`` (its offsets and changes over the booking's
year, read from the tz database), so a client in another zone shows the right
instant and a relay in Guyane or Nouméa is not taken for Paris.
"""
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from common.ical import CONTROL_CHARACTERS, PRODID, escape, lines_to_text, stamp, uid_of

# A cancellation must outrank the request it cancels (RFC 5546 2.1.4).
SEQUENCE = {"REQUEST": 0, "CANCEL": 1}
CONTENT_TYPE = 'text/calendar; method={method}; charset="utf-8"'


@dataclass(frozen=True)
class Invite:
    method: str              # REQUEST or CANCEL
    booking_id: str
    summary: str
    relay_name: str
    relay_address: str | None
    timezone: str
    starts_at: datetime      # aware
    ends_at: datetime
    organizer: str           # the sender's address
    attendee: str            # the member's address
    attendee_name: str
    description: str


def render(invite, now):
    tz = ZoneInfo(invite.timezone)
    location = ", ".join(part for part in (invite.relay_name, invite.relay_address) if part)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             f"METHOD:{invite.method}"]
    lines += list(vtimezone(invite.timezone, invite.starts_at.astimezone(tz).year))
    lines += [
        "BEGIN:VEVENT",
        f"UID:{uid_of(invite.booking_id)}",
        f"DTSTAMP:{stamp(now)}",
        f"SEQUENCE:{SEQUENCE[invite.method]}",
        f"DTSTART;TZID={invite.timezone}:{_local(invite.starts_at, tz)}",
        f"DTEND;TZID={invite.timezone}:{_local(invite.ends_at, tz)}",
        f"SUMMARY:{escape(invite.summary)}",
        f"LOCATION:{escape(location)}",
        f"DESCRIPTION:{escape(invite.description)}",
        f"ORGANIZER;CN=Relais des Possibles:mailto:{invite.organizer}",
        f"ATTENDEE;CN={_param(invite.attendee_name)};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;"
        f"RSVP=FALSE:mailto:{invite.attendee}",
        f"STATUS:{'CANCELLED' if invite.method == 'CANCEL' else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return lines_to_text(lines).encode("utf-8")


def content_type(method):
    return CONTENT_TYPE.format(method=method)


def _local(instant, tz):
    return instant.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _param(text):
    """A parameter value (a name): quoted, without the quotes, line breaks and
    control characters that would end it."""
    return '"' + CONTROL_CHARACTERS.sub("", text.replace("\n", " ")).replace('"', "'") + '"'


@lru_cache(maxsize=256)
def vtimezone(name, year):
    """The zone's VTIMEZONE over ``year``: its offset on 1 January, then one
    component per change of offset during the year (none for most overseas
    zones). Kept once computed: finding the changes scans the year."""
    tz = ZoneInfo(name)
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    changes = [(start, start.astimezone(tz), start.astimezone(tz))]
    for instant in _changes(tz, start, datetime(year + 1, 1, 1, tzinfo=timezone.utc)):
        changes.append((instant, (instant - timedelta(seconds=1)).astimezone(tz),
                        instant.astimezone(tz)))
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    for instant, before, after in changes:
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        wall = (instant + before.utcoffset()).strftime("%Y%m%dT%H%M%S")
        lines += [f"BEGIN:{kind}", f"DTSTART:{wall}",
                  f"TZOFFSETFROM:{_offset(before.utcoffset())}",
                  f"TZOFFSETTO:{_offset(after.utcoffset())}",
                  f"TZNAME:{escape(after.tzname() or name)}", f"END:{kind}"]
    return tuple(lines + ["END:VTIMEZONE"])


def _changes(tz, start, end):
    """Instants (UTC, to the minute) where the zone's offset changes in [start, end)."""
    found, day = [], start
    while day < end:
        following = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = day, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        day = following
    return found


def _offset(delta):
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def from_booking(booking, method, organizer, attendee, attendee_name):
    """The invitation of a booking event's data (JSON values: ISO instants)."""
    place = f"{booking['space_name']} – {booking['relay_name']}"
    return Invite(
        method=method, booking_id=booking["booking_id"], summary=place,
        relay_name=booking["relay_name"], relay_address=booking.get("relay_address"),
        timezone=booking["timezone"],
        starts_at=datetime.fromisoformat(booking["starts_at"]),
        ends_at=datetime.fromisoformat(booking["ends_at"]),
        organizer=organizer, attendee=attendee, attendee_name=attendee_name,
        description=f"{place} ({booking['booking_id']})")
