"""A member's bookings as an iCalendar feed (RFC 5545). Pure.

Outlook and Google Calendar poll the feed URL; each booking is one VEVENT
whose UID never changes, so a change or a cancellation updates the event in
place (a cancelled booking stays in the feed with STATUS:CANCELLED and a higher
SEQUENCE, which clients show as removed). Times are UTC (``...Z``), so no
VTIMEZONE is needed; the relay's local times are in the description.
"""
import re
from dataclasses import dataclass
from datetime import datetime, timezone

PRODID = "-//Relais des Possibles//Reservations//FR"
UID_DOMAIN = "relais-des-possibles.fr"
SEQUENCE = {"confirmed": 0, "checked_in": 1, "completed": 2, "no_show": 2, "cancelled": 3}
# A no-show released the desk: the member's calendar shows it as not taking place.
STATUS = {"cancelled": "CANCELLED", "no_show": "CANCELLED"}
SPACE_LABELS = {"desk": "Poste de travail", "meeting_room": "Salle"}


@dataclass(frozen=True)
class FeedEntry:
    booking_id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    updated_at: datetime
    relay_name: str
    relay_address: str
    space_name: str
    space_kind: str
    local_times: str  # "03/12/2026 08:30–12:30 (Europe/Paris)"


# Control characters have no place in a TEXT value (RFC 5545 3.3.11): a bare CR
# or a NUL would let a space's or relay's name start a property of its own.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(text):
    """A TEXT value: line breaks become ``\\n``, other control characters
    (bare CR included) are dropped, and ``\\ ; ,`` are escaped."""
    text = CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n"))
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def fold(line):
    """Lines longer than 75 octets continue on the next line after a space,
    never splitting a UTF-8 character."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode() for part in out)


def stamp(instant):
    return instant.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def render(entries, calendar_name, now):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(calendar_name)}",
             "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"]
    for entry in entries:
        label = SPACE_LABELS.get(entry.space_kind, "Espace")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.booking_id}@{UID_DOMAIN}",
            f"DTSTAMP:{stamp(now)}",
            f"LAST-MODIFIED:{stamp(entry.updated_at)}",
            f"SEQUENCE:{SEQUENCE.get(entry.status, 0)}",
            f"DTSTART:{stamp(entry.starts_at)}",
            f"DTEND:{stamp(entry.ends_at)}",
            f"SUMMARY:{escape(f'{label} {entry.space_name} – {entry.relay_name}')}",
            f"LOCATION:{escape(f'{entry.relay_name}, {entry.relay_address}')}",
            f"DESCRIPTION:{escape(f'Réservation {entry.booking_id}, {entry.local_times}.')}",
            f"STATUS:{STATUS.get(entry.status, 'CONFIRMED')}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
