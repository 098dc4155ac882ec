"""The one call billing's use cases make: a finalized Document to its Factur-X files.

A document that fails validation is never rendered: an invoice the buyer's
platform would reject is a bug to fix before anything is sent, so it raises.
"""
from dataclasses import dataclass

from .facturx import cii_xml
from .pdf import pdf_a3
from .validation import validate


class InvalidDocument(Exception):
    """The XML of a document broke the XSD or a schematron rule (a bug, not bad input)."""

    def __init__(self, number, errors):
        super().__init__(f"{number}: {len(errors)} broken rule(s): " + "; ".join(errors[:5]))
        self.number = number
        self.errors = errors


@dataclass(frozen=True)
class FacturX:
    xml: bytes     # the CII XML, also embedded in the PDF as factur-x.xml
    pdf: bytes     # the PDF/A-3 a person reads


def factur_x(document):
    xml = cii_xml(document)
    errors = validate(xml)
    if errors:
        raise InvalidDocument(document.number, errors)
    return FacturX(xml, pdf_a3(document, xml))
