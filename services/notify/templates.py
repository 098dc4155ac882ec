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


def _what_and_when(booking):
    """"un poste de travail (Bureau 1) au relais X, le 03/12/2026, matin (08:30–12:30)"."""
    starts = datetime.fromisoformat(booking["local_starts_at"])
    ends = datetime.fromisoformat(booking["local_ends_at"])
    period = SLOT_LABELS.get(booking["slot"], "créneau")
    when = f"{starts:%d/%m/%Y}, {period} ({starts:%H:%M}–{ends:%H:%M})"
    return (f"{SPACE_LABELS.get(booking['space_kind'], 'un espace')} ({booking['space_name']}) "
            f"au relais {booking['relay_name']}, le {when}, heure locale du relais "
            f"({booking['timezone']})"), starts


def booking_confirmed(contact, booking):
    what, starts = _what_and_when(booking)
    subject = f"Réservation confirmée : {booking['relay_name']}, {starts:%d/%m/%Y}"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre réservation est confirmée : {what}.\n\n"
        f"Référence : {booking['booking_id']}\n\n"
        "À bientôt au relais,\nRelais des Possibles\n"
    )
    return Mail(contact.email, subject, body)


CANCELLED_BY = {
    "member": "à votre demande",
    "corporate_admin": "par l'administrateur de votre entreprise",
    "relay_manager": "par le relais",
    "network_admin": "par le réseau Relais des Possibles",
    "system": "par le réseau Relais des Possibles",
}


def booking_cancelled(contact, booking):
    what, starts = _what_and_when(booking)
    subject = f"Réservation annulée : {booking['relay_name']}, {starts:%d/%m/%Y}"
    reason = f" Motif : {booking['reason']}." if booking.get("reason") else ""
    late = ("\n\nCette annulation intervient moins de 24 heures avant le début : "
            "elle reste facturée à votre entreprise." if booking["late"] else "")
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre réservation a été annulée {CANCELLED_BY.get(booking['cancelled_by'], '')} : "
        f"{what}.{reason}{late}\n\n"
        f"Référence : {booking['booking_id']}\n\n"
        "Relais des Possibles\n"
    )
    return Mail(contact.email, subject, body)


def booking_no_show(contact, booking):
    what, starts = _what_and_when(booking)
    subject = f"Absence constatée : {booking['relay_name']}, {starts:%d/%m/%Y}"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Faute d'enregistrement de votre arrivée, votre place a été libérée : {what}. "
        "La réservation reste due.\n\n"
        "Si vous étiez bien au relais, répondez à ce message avec la référence ci-dessous.\n\n"
        f"Référence : {booking['booking_id']}\n\n"
        "Relais des Possibles\n"
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
    when = data["deactivated_at"]
    subject = "Votre accès au réseau Relais des Possibles est fermé"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre accès au réseau Relais des Possibles a été fermé le {when:%d/%m/%Y} "
        "par votre employeur. Vos réservations à venir sont annulées.\n\n"
        "Si c'est une erreur, adressez-vous au service qui gère vos accès.\n\n"
        "Relais des Possibles\n"
    )
    return Mail(contact.email, subject, body)
