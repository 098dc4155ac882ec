"""iCalendar (RFC 5545) text, shared by booking's feed and notify's mailed
invitations: both speak of one booking as one event with the same UID, so a
calendar that holds it from either updates it in place."""
import re
from datetime import timezone

PRODID = "-//Relais des Possibles//Reservations//FR"
UID_DOMAIN = "relais-des-possibles.fr"

# Control characters have no place in a TEXT value (RFC 5545 3.3.11): a bare CR
# or a NUL would let a space's or relay's name start a property of its own.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def uid_of(booking_id):
    return f"{booking_id}@{UID_DOMAIN}"


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


def lines_to_text(lines):
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
