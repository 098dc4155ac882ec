"""Factur-X: the CII XML passes the XSD and both schematrons, broken documents
are caught with their rule id, and the PDF/A-3 carries the XML and every
mention French law requires on a B2B invoice. Fixed dates throughout."""
import dataclasses
import io
import subprocess
import sys
from decimal import Decimal

import pypdf
import pytest
from facturx import get_facturx_xml_from_pdf
from lxml import etree

from services.billing.documents import examples, facturx, pdf, render, validation
from services.billing.documents.mentions import euros

EXAMPLES = {
    "invoice": examples.invoice,
    "credit_note": examples.credit_note,
    "self_billed_invoice": examples.settlement,
}
RAM = "{%s}" % facturx.NS["ram"]


def xpath(xml, path):
    return etree.fromstring(xml).xpath(path, namespaces=facturx.NS)


@pytest.mark.parametrize("kind", EXAMPLES)
def test_every_example_passes_the_xsd_and_both_schematrons(kind):
    assert validation.validate(facturx.cii_xml(EXAMPLES[kind]())) == []


@pytest.mark.parametrize("kind, type_code", [
    ("invoice", "380"), ("credit_note", "381"), ("self_billed_invoice", "389")])
def test_the_type_code_says_what_the_document_is(kind, type_code):
    xml = facturx.cii_xml(EXAMPLES[kind]())

    assert xpath(xml, "string(/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode)") == type_code
    assert xpath(xml, "string(//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID)") == \
        "urn:cen.eu:en16931:2017"


def test_a_credit_note_cites_the_invoice_it_corrects():
    xml = facturx.cii_xml(examples.credit_note())

    cited = xpath(xml, "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument")[0]
    assert cited.findtext(RAM + "IssuerAssignedID") == "F2026-000123"
    assert xpath(xml, "string(//ram:InvoiceReferencedDocument//qdt:DateTimeString)") == "20261201"


def test_the_notes_carry_the_subject_codes_the_french_rules_look_for():
    invoice_notes = dict(
        (note.findtext(RAM + "SubjectCode"), note.findtext(RAM + "Content"))
        for note in xpath(facturx.cii_xml(examples.invoice()), "//rsm:ExchangedDocument/ram:IncludedNote"))
    settlement_xml = facturx.cii_xml(examples.settlement())

    assert "40,00 €" in invoice_notes["PMT"]
    assert "trois fois le taux d'intérêt légal" in invoice_notes["PMD"]
    assert invoice_notes["AAB"] == "Pas d'escompte pour paiement anticipé."
    assert invoice_notes["BAR"] == "B2B"
    assert "REG" not in invoice_notes
    assert xpath(settlement_xml, "string(//ram:IncludedNote[ram:SubjectCode='REG']/ram:Content)") == "Autofacturation"


def test_parties_carry_siren_siret_vat_number_and_electronic_address():
    xml = facturx.cii_xml(examples.invoice())
    buyer = xpath(xml, "//ram:BuyerTradeParty")[0]

    assert buyer.xpath("string(ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002'])", namespaces=facturx.NS) == "908765431"
    assert buyer.xpath("string(ram:GlobalID[@schemeID='0009'])", namespaces=facturx.NS) == "90876543100022"
    assert buyer.xpath("string(ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA'])", namespaces=facturx.NS) == "FR46908765431"
    assert buyer.xpath("string(ram:URIUniversalCommunication/ram:URIID[@schemeID='0225'])", namespaces=facturx.NS) == "908765431"


def test_amounts_rates_and_quantities_are_written_exactly():
    assert [facturx.amount(c) for c in (0, 5, -5, 100, 123456, -123456)] == \
        ["0.00", "0.05", "-0.05", "1.00", "1234.56", "-1234.56"]
    assert [facturx.percent(bp) for bp in (2000, 1000, 550, 210, 85)] == ["20", "10", "5.5", "2.1", "0.85"]
    assert [facturx.quantity(Decimal(q)) for q in ("0.5", "2.50", "10", "3.0")] == ["0.5", "2.5", "10", "3"]


def test_user_text_is_escaped_by_the_xml_writer_not_pasted_in():
    hostile = 'Café <b>"Le Relais"</b> & Fils </ram:Name><ram:ID>x</ram:ID>'
    invoice = examples.invoice()
    document = dataclasses.replace(invoice, buyer=dataclasses.replace(invoice.buyer, legal_name=hostile))

    xml = facturx.cii_xml(document)

    assert xpath(xml, "string(//ram:BuyerTradeParty/ram:Name)") == hostile
    assert validation.validate(xml) == []


def test_totals_that_do_not_add_up_are_reported_with_their_rule():
    invoice = examples.invoice()
    broken = dataclasses.replace(invoice, total_gross_cents=invoice.total_gross_cents + 100)

    errors = validation.validate(facturx.cii_xml(broken))

    assert any(error.startswith("en16931 BR-CO-15:") for error in errors), errors


def test_a_missing_buyer_siren_is_reported_by_the_french_rules():
    invoice = examples.invoice()
    buyer = dataclasses.replace(invoice.buyer, siren=None, siret=None)

    errors = validation.validate(facturx.cii_xml(dataclasses.replace(invoice, buyer=buyer)))

    assert any(error.startswith("fr-ctc BR-FR-11/BT-47:") for error in errors), errors


def test_a_vat_rate_france_does_not_have_is_reported():
    invoice = examples.invoice()
    line = dataclasses.replace(invoice.lines[0], vat_rate_bp=1900)

    errors = validation.validate(facturx.cii_xml(dataclasses.replace(invoice, lines=(line,) + invoice.lines[1:])))

    assert any(error.startswith("fr-ctc BR-FR-16/BT-152:") for error in errors), errors


def test_a_structural_error_is_reported_by_the_xsd():
    root = etree.fromstring(facturx.cii_xml(examples.invoice()))
    currency = root.find(".//" + RAM + "InvoiceCurrencyCode")
    currency.getparent().remove(currency)

    errors = validation.validate(etree.tostring(root))

    assert any(error.startswith("xsd ") and "is not expected" in error for error in errors), errors
    assert any(error.startswith("en16931 BR-05:") for error in errors), errors


def test_what_is_not_xml_is_reported_not_raised():
    assert validation.validate(b"<not-closed>")[0].startswith("xml:")


@pytest.fixture(scope="module")
def rendered():
    """kind -> (document, xml, pdf): rendering takes a fraction of a second, once per kind."""
    out = {}
    for kind, build in EXAMPLES.items():
        document = build()
        xml = facturx.cii_xml(document)
        out[kind] = (document, xml, pdf.pdf_a3(document, xml))
    return out


@pytest.mark.parametrize("kind", EXAMPLES)
def test_the_pdf_is_pdf_a3_and_carries_the_xml_as_factur_x(rendered, kind):
    _, xml, document_pdf = rendered[kind]
    reader = pypdf.PdfReader(io.BytesIO(document_pdf))
    xmp = reader.xmp_metadata.stream.get_data().decode("utf-8")
    filespec = reader.trailer["/Root"]["/AF"][0].get_object()

    assert document_pdf.startswith(b"%PDF")
    assert "<pdfaid:part>3</pdfaid:part>" in xmp
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]      # PDF/A's colour profile
    assert filespec["/AFRelationship"] == "/Alternative"
    assert get_facturx_xml_from_pdf(document_pdf, check_xsd=False) == ("factur-x.xml", xml)


def _text(document_pdf):
    reader = pypdf.PdfReader(io.BytesIO(document_pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.parametrize("kind", EXAMPLES)
def test_the_pdf_shows_every_mention_french_law_requires(rendered, kind):
    document, _, document_pdf = rendered[kind]
    text = _text(document_pdf)
    required = [
        document.number, f"Date d'émission : {document.issue_date:%d/%m/%Y}",
        "Période de la prestation : du 01/11/2026 au 30/11/2026",
        f"Date d'échéance : {document.due_date:%d/%m/%Y}",
        "Prix unitaire HT", "Total HT", "Total TVA", "Total TTC",
        "Pénalités de retard : trois fois le taux d'intérêt légal",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40,00 €",
        "Pas d'escompte pour paiement anticipé.",
        "Catégorie d'opération : prestation de services",
    ]
    for party in (document.seller, document.buyer):
        required += [party.legal_name, party.address_line, f"{party.postcode} {party.city}",
                     f"SIREN : {party.siren}", f"SIRET : {party.siret}",
                     f"N° TVA intracommunautaire : {party.vat_number}"]
    for line in document.lines:
        required += [line.description]
    for vat in document.vat_breakdown:
        # "20 % 163,20 € 32,64 €": the rate, its base and its VAT on one row
        required += [f"{vat.vat_rate_bp // 100} % {euros(vat.base_cents)} {euros(vat.vat_cents)}"]
    required += [f"Total HT {euros(document.total_net_cents)}", f"Total TVA {euros(document.total_vat_cents)}",
                 f"Total TTC {euros(document.total_gross_cents)}"]

    missing = [mention for mention in required if mention not in text]

    assert missing == [], text


def test_the_invoice_lines_show_quantity_unit_price_rate_and_amount(rendered):
    text = _text(rendered["invoice"][2])

    assert "Camille Nomade — bureau (11 demi-journées) 5,5 jour 24,00 € 20 % 132,00 €" in text
    assert "Plateaux-repas servis au relais 4 unité 13,50 € 10 % 54,00 €" in text


def test_the_self_billed_invoice_says_autofacturation_and_who_issued_it(rendered):
    text = _text(rendered["self_billed_invoice"][2])

    assert "Autofacturation — facture émise par Relais des Possibles SAS au nom et pour le compte de " \
           "Coopérative Le Bourg Partagé SCIC" in text
    assert "Autofacturation" not in _text(rendered["invoice"][2])


def test_the_credit_note_names_the_invoice_it_corrects(rendered):
    assert "Avoir sur la facture n° F2026-000123 du 01/12/2026" in _text(rendered["credit_note"][2])


def test_the_page_escapes_every_value():
    invoice = examples.invoice()
    hostile = dataclasses.replace(invoice.buyer, legal_name='<script>alert("x")</script> & Cie')

    page = pdf.html(dataclasses.replace(invoice, buyer=hostile))

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Cie" in page


def test_rendering_refuses_a_document_that_breaks_a_rule():
    invoice = examples.invoice()
    broken = dataclasses.replace(invoice, total_vat_cents=invoice.total_vat_cents - 1)

    with pytest.raises(render.InvalidDocument) as refused:
        render.factur_x(broken)

    assert refused.value.number == "F2026-000123"
    assert any(error.startswith("en16931 BR-CO-14:") for error in refused.value.errors), refused.value.errors


def test_rendering_a_valid_document_gives_its_xml_and_its_pdf():
    files = render.factur_x(examples.settlement())

    assert files.xml == facturx.cii_xml(examples.settlement())
    assert get_facturx_xml_from_pdf(files.pdf, check_xsd=False)[1] == files.xml


FIRST_USE_ON_THREADS = """
from concurrent.futures import ThreadPoolExecutor
from services.billing.documents import examples, facturx, validation
xml = [facturx.cii_xml(build()) for build in (examples.invoice, examples.credit_note, examples.settlement)]
with ThreadPoolExecutor(3) as pool:
    print(sum(map(len, pool.map(lambda n: validation.validate(xml[n % 3]), range(6)))))
"""


def test_validation_is_safe_when_the_first_documents_arrive_on_several_threads():
    # A fresh process, so that the stylesheets are compiled under contention
    # (a service under eventlet.tpool renders on threads).
    finished = subprocess.run([sys.executable, "-c", FIRST_USE_ON_THREADS],
                              capture_output=True, text=True, timeout=120)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "0", finished.stdout


FIRST_XSD_ON_THREADS = """
import threading
from services.billing.documents import validation
start = threading.Barrier(8)
failures = []
def first_use():
    start.wait()
    try:
        validation._schema()
    except Exception as error:
        failures.append(error)
threads = [threading.Thread(target=first_use) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(failures)
"""


def test_the_xsd_is_built_once_when_eight_threads_ask_for_it_at_the_same_moment():
    # Eight threads released together on a fresh process: without the lock,
    # libxml2 parsed the XSD on several at once and about one process in ten
    # failed ("Document is not valid XML Schema"); five processes, so a
    # regression shows in most runs.
    for _ in range(5):
        finished = subprocess.run([sys.executable, "-c", FIRST_XSD_ON_THREADS],
                                  capture_output=True, text=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout.strip() == "[]", finished.stdout
