"""A member's bookings as an iCalendar feed (RFC 5545). Pure.

Outlook and Google Calendar poll the feed URL; each booking is one VEVENT
whose UID never changes, so a change or a cancellation updates the event in
place (a cancelled booking stays in the feed with STATUS:CANCELLED and a higher
SEQUENCE, which clients show as removed). Times are UTC (``...Z``), so no
VTIMEZONE is needed; the relay's local times are in the description.
"""
from dataclasses import dataclass
from datetime import datetime

from common.ical import PRODID, escape, lines_to_text, stamp, uid_of
SEQUENCE = {"confirmed": 0, "checked_in": 1, "completed": 2, "no_show": 2, "cancelled": 3}
# A no-show released the desk: the member's calendar shows it as not taking place.
STATUS = {"cancelled": "CANCELLED", "no_show": "CANCELLED"}
SPACE_LABELS = {"desk": "Poste de travail", "meeting_room": "Salle",
                "teleconsultation_booth": "Cabine de téléconsultation",
                "visio_room": "Salle de visio", "study_room": "Salle d'étude"}


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


def render(entries, calendar_name, now):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(calendar_name)}",
             "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"]
    for entry in entries:
        label = SPACE_LABELS.get(entry.space_kind, "Espace")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid_of(entry.booking_id)}",
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
    return lines_to_text(lines)
