"""A ``Document`` as the UN/CEFACT CII D16B XML of the Factur-X EN 16931 profile.

Element order follows the Factur-X EN 16931 XSD; identifiers follow the French
CTC rules: SIREN as the legal organisation id (ISO 6523 scheme 0002), SIRET as a
global id (0009), the electronic address as a 0225 URI (by default the SIREN,
the reform's directory key), the VAT number with scheme VA. Amounts are written
from integer cents by integer arithmetic; a credit note carries positive amounts,
its type code (381) says it is a credit.
"""
from decimal import Decimal

from lxml import etree

from .mentions import BUSINESS_PROCESS, TYPE_CODES, legal_mentions
from .model import CREDIT_NOTE

GUIDELINE = "urn:cen.eu:en16931:2017"
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
ELECTRONIC_ADDRESS_SCHEME = "0225"
VAT_CATEGORY = "S"  # standard rate: every rate Relais applies is a standard French rate


def cii_xml(document):
    """The CII XML (UTF-8 bytes) of a finalized document."""
    root = etree.Element(_q("rsm", "CrossIndustryInvoice"), nsmap=NS)
    context = _sub(root, "rsm", "ExchangedDocumentContext")
    _sub(_sub(context, "ram", "BusinessProcessSpecifiedDocumentContextParameter"), "ram", "ID", BUSINESS_PROCESS)
    _sub(_sub(context, "ram", "GuidelineSpecifiedDocumentContextParameter"), "ram", "ID", GUIDELINE)

    header = _sub(root, "rsm", "ExchangedDocument")
    _sub(header, "ram", "ID", document.number)
    _sub(header, "ram", "TypeCode", TYPE_CODES[document.kind])
    _date(_sub(header, "ram", "IssueDateTime"), document.issue_date)
    for subject, text in legal_mentions(document):
        note = _sub(header, "ram", "IncludedNote")
        _sub(note, "ram", "Content", text)
        _sub(note, "ram", "SubjectCode", subject)

    transaction = _sub(root, "rsm", "SupplyChainTradeTransaction")
    for line in document.lines:
        _line(transaction, line)
    agreement = _sub(transaction, "ram", "ApplicableHeaderTradeAgreement")
    if document.buyer_reference:
        _sub(agreement, "ram", "BuyerReference", document.buyer_reference)
    _party(_sub(agreement, "ram", "SellerTradeParty"), document.seller)
    _party(_sub(agreement, "ram", "BuyerTradeParty"), document.buyer)
    # The last day of service as the delivery date (BT-72): the element may not
    # stay empty, and the period alone already tells the whole span.
    delivery = _sub(_sub(transaction, "ram", "ApplicableHeaderTradeDelivery"), "ram", "ActualDeliverySupplyChainEvent")
    _date(_sub(delivery, "ram", "OccurrenceDateTime"), document.period_end)
    _settlement(_sub(transaction, "ram", "ApplicableHeaderTradeSettlement"), document)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def amount(cents):
    """Integer cents as a CII amount: -1234 -> "-12.34"."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def percent(basis_points):
    """2000 -> "20", 550 -> "5.5", 210 -> "2.1"."""
    return _plain(Decimal(basis_points) / 100)


def quantity(value):
    """A Decimal quantity without exponent or trailing zeros: 2.50 -> "2.5"."""
    return _plain(Decimal(value))


def _plain(value):
    return format(value.normalize(), "f")


def _line(transaction, line):
    item = _sub(transaction, "ram", "IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram", "AssociatedDocumentLineDocument"), "ram", "LineID", line.line_id)
    _sub(_sub(item, "ram", "SpecifiedTradeProduct"), "ram", "Name", line.description)
    price = _sub(_sub(item, "ram", "SpecifiedLineTradeAgreement"), "ram", "NetPriceProductTradePrice")
    _sub(price, "ram", "ChargeAmount", amount(line.unit_price_cents))
    billed = _sub(_sub(item, "ram", "SpecifiedLineTradeDelivery"), "ram", "BilledQuantity", quantity(line.quantity))
    billed.set("unitCode", line.unit_code)
    settlement = _sub(item, "ram", "SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram", "ApplicableTradeTax")
    _sub(tax, "ram", "TypeCode", "VAT")
    _sub(tax, "ram", "CategoryCode", VAT_CATEGORY)
    _sub(tax, "ram", "RateApplicablePercent", percent(line.vat_rate_bp))
    if line.period_start and line.period_end:
        _period(settlement, line.period_start, line.period_end)
    summation = _sub(settlement, "ram", "SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram", "LineTotalAmount", amount(line.net_cents))


def _party(element, party):
    if party.siret:
        _sub(element, "ram", "GlobalID", party.siret).set("schemeID", SIRET_SCHEME)
    _sub(element, "ram", "Name", party.legal_name)
    if party.siren:
        legal = _sub(element, "ram", "SpecifiedLegalOrganization")
        _sub(legal, "ram", "ID", party.siren).set("schemeID", SIREN_SCHEME)
    address = _sub(element, "ram", "PostalTradeAddress")
    _sub(address, "ram", "PostcodeCode", party.postcode)
    _sub(address, "ram", "LineOne", party.address_line)
    _sub(address, "ram", "CityName", party.city)
    _sub(address, "ram", "CountryID", party.country_code)
    electronic_address = party.electronic_address or party.siren
    if electronic_address:
        uri = _sub(_sub(element, "ram", "URIUniversalCommunication"), "ram", "URIID", electronic_address)
        uri.set("schemeID", ELECTRONIC_ADDRESS_SCHEME)
    if party.vat_number:
        registration = _sub(element, "ram", "SpecifiedTaxRegistration")
        _sub(registration, "ram", "ID", party.vat_number).set("schemeID", "VA")


def _settlement(settlement, document):
    _sub(settlement, "ram", "InvoiceCurrencyCode", document.currency)
    for vat in document.vat_breakdown:
        tax = _sub(settlement, "ram", "ApplicableTradeTax")
        _sub(tax, "ram", "CalculatedAmount", amount(vat.vat_cents))
        _sub(tax, "ram", "TypeCode", "VAT")
        _sub(tax, "ram", "BasisAmount", amount(vat.base_cents))
        _sub(tax, "ram", "CategoryCode", VAT_CATEGORY)
        _sub(tax, "ram", "RateApplicablePercent", percent(vat.vat_rate_bp))
    _period(settlement, document.period_start, document.period_end)
    terms = _sub(settlement, "ram", "SpecifiedTradePaymentTerms")
    _sub(terms, "ram", "Description", f"À payer au plus tard le {document.due_date:%d/%m/%Y}.")
    _date(_sub(terms, "ram", "DueDateDateTime"), document.due_date)
    totals = _sub(settlement, "ram", "SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, "ram", "LineTotalAmount", amount(document.total_net_cents))
    _sub(totals, "ram", "TaxBasisTotalAmount", amount(document.total_net_cents))
    _sub(totals, "ram", "TaxTotalAmount", amount(document.total_vat_cents)).set("currencyID", document.currency)
    _sub(totals, "ram", "GrandTotalAmount", amount(document.total_gross_cents))
    _sub(totals, "ram", "DuePayableAmount", amount(document.total_gross_cents))
    if document.kind == CREDIT_NOTE and document.preceding_number:
        preceding = _sub(settlement, "ram", "InvoiceReferencedDocument")
        _sub(preceding, "ram", "IssuerAssignedID", document.preceding_number)
        if document.preceding_issue_date:
            issued = _sub(preceding, "ram", "FormattedIssueDateTime")
            _sub(issued, "qdt", "DateTimeString", f"{document.preceding_issue_date:%Y%m%d}").set("format", "102")


def _period(parent, start, end):
    period = _sub(parent, "ram", "BillingSpecifiedPeriod")
    _date(_sub(period, "ram", "StartDateTime"), start)
    _date(_sub(period, "ram", "EndDateTime"), end)


def _date(parent, day):
    _sub(parent, "udt", "DateTimeString", f"{day:%Y%m%d}").set("format", "102")


def _sub(parent, prefix, name, text=None):
    element = etree.SubElement(parent, _q(prefix, name))
    if text is not None:
        element.text = text
    return element


def _q(prefix, name):
    return f"{{{NS[prefix]}}}{name}"
