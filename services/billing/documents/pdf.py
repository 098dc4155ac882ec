"""A ``Document`` as a Factur-X PDF/A-3: the page a person reads, the XML a machine reads.

WeasyPrint renders the French page (invoice.html, every value escaped) as
PDF/A-3b with its fonts embedded; the factur-x package then embeds the CII XML
as ``factur-x.xml`` (AFRelationship /Alternative: the XML is the whole invoice,
not an extract) and writes the XMP metadata that declares the Factur-X
EN 16931 profile beside the PDF/A-3 identification.
"""
import functools
from html import escape
from importlib import resources
from string import Template

import weasyprint
from facturx import generate_from_binary

from .facturx import percent, quantity
from .mentions import TITLES, euros, legal_mentions
from .model import CREDIT_NOTE, SELF_BILLED_INVOICE

UNITS = {"DAY": "jour", "HUR": "heure", "C62": "unité"}
# Codes whose text is for machines (BAR = B2B) stay out of the printed mentions.
_PRINTED_SUBJECTS = {"PMD", "PMT", "AAB", "AAI", "REG"}


def pdf_a3(document, xml_bytes):
    """The Factur-X PDF (bytes) of a document and its already validated CII XML."""
    page = weasyprint.HTML(string=html(document)).write_pdf(pdf_variant="pdf/a-3b")
    return generate_from_binary(
        page, xml_bytes, flavor="factur-x", level="en16931", check_xsd=True,
        afrelationship="alternative", lang="fr-FR", pdf_metadata={
            "author": document.seller.legal_name,
            "keywords": "Factur-X, EN 16931",
            "title": f"{TITLES[document.kind]} {document.number}",
            "subject": f"{TITLES[document.kind]} {document.number} du {_day(document.issue_date)}, "
                       f"{document.seller.legal_name} à {document.buyer.legal_name}",
        })


def html(document):
    """The printed page as HTML; every value from the document goes through html.escape."""
    self_billed = document.kind == SELF_BILLED_INVOICE
    return _template().substitute(
        title=escape(TITLES[document.kind]),
        number=escape(document.number),
        banner=_banner(document),
        facts=_facts(document),
        seller_role="Prestataire (vendeur)",
        buyer_role="Client, émetteur de la facture" if self_billed else "Client",
        seller=_party(document.seller),
        buyer=_party(document.buyer),
        lines="\n".join(_line(line) for line in document.lines),
        vat_rows="\n".join(
            _row(_rate(vat.vat_rate_bp), euros(vat.base_cents), euros(vat.vat_cents), numeric={1, 2})
            for vat in document.vat_breakdown),
        total_net=escape(euros(document.total_net_cents)),
        total_vat=escape(euros(document.total_vat_cents)),
        total_gross=escape(euros(document.total_gross_cents)),
        due_label="Date d'échéance",
        due_date=escape(_day(document.due_date)),
        mentions="\n".join(f"<p>{escape(text)}</p>" for subject, text in legal_mentions(document)
                           if subject in _PRINTED_SUBJECTS),
    )


@functools.cache
def _template():
    return Template((resources.files(__package__) / "invoice.html").read_text(encoding="utf-8"))


def _banner(document):
    if document.kind == SELF_BILLED_INVOICE:
        return (f'<p class="banner">Autofacturation — facture émise par {escape(document.buyer.legal_name)} '
                f'au nom et pour le compte de {escape(document.seller.legal_name)}</p>')
    if document.kind == CREDIT_NOTE and document.preceding_number:
        cited = f"la facture n° {escape(document.preceding_number)}"
        if document.preceding_issue_date:
            cited += f" du {_day(document.preceding_issue_date)}"
        return f'<p class="banner">Avoir sur {cited}</p>'
    return ""


def _facts(document):
    facts = [
        ("Date d'émission", _day(document.issue_date)),
        ("Période de la prestation", f"du {_day(document.period_start)} au {_day(document.period_end)}"),
        ("Date d'échéance", _day(document.due_date)),
    ]
    if document.buyer_reference:
        facts.append(("Référence client", document.buyer_reference))
    return "\n".join(f"<tr><td>{escape(label)} :</td><td>{escape(value)}</td></tr>" for label, value in facts)


def _party(party):
    rows = [f'<div class="name">{escape(party.legal_name)}</div>',
            f"<div>{escape(party.address_line)}</div>",
            f"<div>{escape(party.postcode)} {escape(party.city)}"
            + ("" if party.country_code == "FR" else f" ({escape(party.country_code)})") + "</div>"]
    for label, value in (("SIREN", party.siren), ("SIRET", party.siret),
                         ("N° TVA intracommunautaire", party.vat_number)):
        if value:
            rows.append(f"<div>{label} : {escape(value)}</div>")
    return "\n".join(rows)


def _line(line):
    return _row(line.description, quantity(line.quantity).replace(".", ","),
                UNITS.get(line.unit_code, line.unit_code), euros(line.unit_price_cents),
                _rate(line.vat_rate_bp), euros(line.net_cents), numeric={1, 3, 4, 5})


def _row(*cells, numeric):
    """A table row; the cells whose index is in ``numeric`` align right and never wrap."""
    return "<tr>" + "".join(
        f'<td class="num">{escape(value)}</td>' if index in numeric else f"<td>{escape(value)}</td>"
        for index, value in enumerate(cells)) + "</tr>"


def _rate(basis_points):
    return percent(basis_points).replace(".", ",") + " %"


def _day(day):
    return f"{day:%d/%m/%Y}"
