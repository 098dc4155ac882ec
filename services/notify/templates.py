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


def invitation(contact, data):
    """The link to set a password. The link is a secret: it is in the mail body
    only, never in the delivery log (which keeps the subject)."""
    expires = datetime.fromisoformat(data["invitation_expires_at"])
    subject = "Votre accès au réseau Relais des Possibles"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        "Votre employeur vous a ouvert un accès au réseau Relais des Possibles : des "
        "tiers-lieux près de chez vous pour travailler sans les longs trajets.\n\n"
        "Choisissez votre mot de passe ici (lien personnel, utilisable une seule fois, "
        f"valable jusqu'au {expires:%d/%m/%Y} à {expires:%H:%M} UTC) :\n\n"
        f"{data['invitation_url']}\n\n"
        f"Votre identifiant : {contact.email}\n\n"
        "Relais des Possibles\n"
    )
    return Mail(contact.email, subject, body)


def deactivated(contact, data):
    when = datetime.fromisoformat(data["deactivated_at"])
    subject = "Votre accès au réseau Relais des Possibles est fermé"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre accès au réseau Relais des Possibles a été fermé le {when:%d/%m/%Y} "
        "par votre employeur. Vos réservations à venir sont annulées.\n\n"
        "Si c'est une erreur, adressez-vous au service qui gère vos accès.\n\n"
        "Relais des Possibles\n"
    )
    return Mail(contact.email, subject, body)
