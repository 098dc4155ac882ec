"""The legal mentions of a French B2B document, written once for the XML and the PDF.

Each mention is a (subject code, text) pair: the code is the UNTDID 4451 note
subject the French CTC rules (BR-FR-05) look for in the Factur-X XML, the text
is what both the XML note and the printed page say. Pure: standard library only.
"""
from .model import CREDIT_NOTE, INVOICE, SELF_BILLED_INVOICE

TYPE_CODES = {INVOICE: "380", CREDIT_NOTE: "381", SELF_BILLED_INVOICE: "389"}
TITLES = {INVOICE: "Facture", CREDIT_NOTE: "Avoir", SELF_BILLED_INVOICE: "Facture (autofacturation)"}

# BT-23, the reform's "cadre de facturation": S1 = a services invoice to be paid.
# Relais only sells and settles services (desks, rooms), so it is fixed here.
BUSINESS_PROCESS = "S1"
OPERATION_CATEGORY = "Catégorie d'opération : prestation de services"
SELF_BILLING = "Autofacturation"
NO_EARLY_PAYMENT_DISCOUNT = "Pas d'escompte pour paiement anticipé."


def euros(cents):
    """French display of an amount: 1 234,56 € (plain spaces, so that text extracted from the PDF reads back the same)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", " ") + f",{rest:02d} €"


def legal_mentions(document):
    """(subject code, text) for every mention the law requires on this document, then its own notes."""
    mentions = [
        # BAR = B2B tells the French rules this is an invoice between businesses,
        # which makes the buyer's SIREN mandatory (BR-FR-11).
        ("BAR", "B2B"),
        ("PMD", f"Pénalités de retard : {document.late_penalty_rate}, exigibles le jour "
                "suivant la date d'échéance."),
        ("PMT", "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
                f"{euros(document.recovery_indemnity_cents)}."),
        ("AAB", NO_EARLY_PAYMENT_DISCOUNT),
        ("AAI", OPERATION_CATEGORY),
    ]
    if document.kind == SELF_BILLED_INVOICE:
        mentions.append(("REG", SELF_BILLING))
    mentions.extend(("AAI", note) for note in document.notes)
    return mentions
