"""The words of each message. Pure functions from event data to a mail."""
from dataclasses import dataclass
from datetime import datetime

SLOT_LABELS = {"morning": "matin", "afternoon": "après-midi", "day": "journée"}
SPACE_LABELS = {"desk": "un poste de travail", "meeting_room": "une salle"}


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def booking_confirmed(contact, booking):
    starts = datetime.fromisoformat(booking["local_starts_at"])
    ends = datetime.fromisoformat(booking["local_ends_at"])
    when = f"{starts:%d/%m/%Y}, {SLOT_LABELS[booking['slot']]} ({starts:%H:%M}–{ends:%H:%M})"
    subject = f"Réservation confirmée : {booking['relay_name']}, {starts:%d/%m/%Y}"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre réservation est confirmée : {SPACE_LABELS.get(booking['space_kind'], 'un espace')} "
        f"({booking['space_name']}) au relais {booking['relay_name']}, le {when}, "
        f"heure locale du relais ({booking['timezone']}).\n\n"
        f"Référence : {booking['booking_id']}\n\n"
        "À bientôt au relais,\nRelais des Possibles\n"
    )
    return Mail(contact.email, subject, body)
