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


def _release(booking):
    """When a desk is released if nobody checks in (the time booking's timer
    keeps), in the relay's local time; None when it never is."""
    return datetime.fromisoformat(booking["local_release_at"]) \
        if booking.get("local_release_at") else None


def _check_in_by(booking):
    release = _release(booking)
    if release is None:
        return ""
    return (f"Enregistrez votre arrivée au relais avant {release:%H:%M} "
            f"le {release:%d/%m/%Y} : sans cela, le poste est libéré et la réservation "
            "reste due.\n\n")


def booking_confirmed(contact, booking):
    what, starts = _what_and_when(booking)
    subject = f"Réservation confirmée : {booking['relay_name']}, {starts:%d/%m/%Y}"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Votre réservation est confirmée : {what}.\n\n"
        f"{_check_in_by(booking)}"
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
    release = _release(booking)
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Faute d'enregistrement de votre arrivée{f' avant {release:%H:%M}' if release else ''}, "
        "votre place a été "
        f"libérée : {what}. "
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


# -- billing ------------------------------------------------------------------------

def euros(cents):
    """123456 -> "1 234,56 €" (French notation, a narrow no-break space for thousands)."""
    whole, rest = divmod(abs(cents), 100)
    thousands = format(whole, ",").replace(",", "\u202f")
    return f"{'-' if cents < 0 else ''}{thousands},{rest:02d} €"


def _day(iso):
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y")


def invoice_finalized(to, data):
    subject = f"Facture {data['number']} : {euros(data['total_gross_cents'])} TTC"
    body = (
        "Bonjour,\n\n"
        f"Voici la facture {data['number']} du réseau Relais des Possibles, émise le "
        f"{_day(data['issue_date'])} : {euros(data['total_net_cents'])} HT, "
        f"{euros(data['total_vat_cents'])} de TVA, {euros(data['total_gross_cents'])} TTC, "
        f"à régler avant le {_day(data['due_date'])}.\n\n"
        "Elle est disponible, avec le détail des lignes en CSV, dans votre espace "
        "entreprise.\n\nRelais des Possibles\n"
    )
    return Mail(to, subject, body)


def credit_note_issued(to, data):
    subject = f"Avoir {data['number']} : {euros(data['total_gross_cents'])} TTC"
    body = (
        "Bonjour,\n\n"
        f"Un avoir {data['number']} de {euros(data['total_gross_cents'])} TTC a été émis le "
        f"{_day(data['issue_date'])}. Il vient en déduction de la facture qu'il cite.\n\n"
        "Relais des Possibles\n"
    )
    return Mail(to, subject, body)


def invoice_overdue(to, data):
    subject = f"Relance : facture {data['number']} échue le {_day(data['due_date'])}"
    body = (
        "Bonjour,\n\n"
        f"Sauf erreur de notre part, la facture {data['number']} échue le "
        f"{_day(data['due_date'])} reste à régler : {euros(data['balance_cents'])}.\n\n"
        "En cas de retard de paiement, des pénalités au taux de trois fois le taux d'intérêt "
        "légal et une indemnité forfaitaire pour frais de recouvrement de 40 € sont dues.\n\n"
        "Si vous avez déjà payé, merci de ne pas tenir compte de ce message.\n\n"
        "Relais des Possibles\n"
    )
    return Mail(to, subject, body)


def payment_recorded(to, data):
    subject = f"Paiement reçu : facture {data['number']}"
    rest = (f"Il reste {euros(data['balance_cents'])} à régler." if data["balance_cents"]
            else "La facture est soldée.")
    body = (
        "Bonjour,\n\n"
        f"Nous avons bien reçu votre paiement de {euros(data['amount_cents'])} du "
        f"{_day(data['paid_on'])} pour la facture {data['number']}. {rest}\n\n"
        "Merci,\nRelais des Possibles\n"
    )
    return Mail(to, subject, body)


def settlement_issued(to, data):
    subject = f"Relevé de reversement {data['number']} : {euros(data['total_gross_cents'])} TTC"
    body = (
        "Bonjour,\n\n"
        f"Le relevé {data['number']} (autofacturation) de ce que le réseau vous doit pour le "
        f"mois de {data['month'][:7]} est disponible : {euros(data['total_net_cents'])} HT, "
        f"{euros(data['total_gross_cents'])} TTC, commission du réseau déduite.\n\n"
        "Vous pouvez l'accepter ou le contester dans votre espace relais, dans le délai prévu.\n\n"
        "Relais des Possibles\n"
    )
    return Mail(to, subject, body)


def webhook_disabled(contact, endpoint):
    subject = "Un webhook de Relais des Possibles a été désactivé"
    body = (
        f"Bonjour {contact.full_name},\n\n"
        f"Le webhook {endpoint['url']} ({endpoint['description'] or 'sans description'}) "
        f"ne répond plus correctement depuis le {endpoint['failing_since']:%d/%m/%Y %H:%M} UTC : "
        "nous l'avons désactivé. Les événements suivants ne lui sont plus envoyés.\n\n"
        "Une fois le problème corrigé, réactivez-le (PATCH /v1/webhook-endpoints/"
        f"{endpoint['id']} avec enabled=true) et rejouez les livraisons manquées "
        "(POST .../replay).\n\n"
        "Relais des Possibles\n"
    )
    return Mail(contact.email, subject, body)
