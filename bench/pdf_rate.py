"""How many Factur-X documents one process makes per second, and where the time goes.

Each document goes the whole way a finalized invoice goes: CII XML from the
Document, the three validations (XSD, EN 16931 and French CTC schematrons),
then the PDF/A-3 page with the XML embedded. The three example documents
(services/billing/documents/examples.py) are made in turn; the stylesheets are
compiled once before timing starts, as a service does at its start.

    .venv/bin/python -m bench.pdf_rate [documents]     # default 60
"""
import statistics
import sys
import time

from services.billing.documents import examples, facturx, pdf, validation

BUILDERS = (examples.invoice, examples.credit_note, examples.settlement)


def main(count):
    started = time.perf_counter()
    validation.compile_all()
    print(f"compiling the XSD and both schematrons: {time.perf_counter() - started:.2f} s (once per process)")
    for build in BUILDERS:     # warm-up: fonts, caches, lazy imports
        document = build()
        pdf.pdf_a3(document, facturx.cii_xml(document))

    steps = {"xml": [], "validate": [], "pdf": []}
    started = time.perf_counter()
    for n in range(count):
        document = BUILDERS[n % len(BUILDERS)]()
        t0 = time.perf_counter()
        xml = facturx.cii_xml(document)
        t1 = time.perf_counter()
        errors = validation.validate(xml)
        t2 = time.perf_counter()
        assert errors == [], errors
        document_pdf = pdf.pdf_a3(document, xml)
        t3 = time.perf_counter()
        assert document_pdf.startswith(b"%PDF")
        steps["xml"].append(t1 - t0)
        steps["validate"].append(t2 - t1)
        steps["pdf"].append(t3 - t2)
    elapsed = time.perf_counter() - started

    print(f"{count} documents in {elapsed:.1f} s: {count / elapsed:.2f} documents/s on one core")
    for step, times in steps.items():
        print(f"  {step:<9} median {statistics.median(times) * 1000:7.1f} ms"
              f"   p95 {sorted(times)[int(len(times) * 0.95) - 1] * 1000:7.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
