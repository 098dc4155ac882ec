"""Factur-X: the CII XML passes the XSD and both schematrons, broken documents
are caught with their rule id, and the PDF/A-3 carries the XML and every
mention French law requires on a B2B invoice. Fixed dates throughout."""
import dataclasses
from decimal import Decimal

import pytest
from lxml import etree

from services.billing.documents import examples, facturx, validation

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
