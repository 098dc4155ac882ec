"""Invoices, credit notes and settlement statements to download, for whoever
the API lets see them (a company's admin, the operator's relay managers)."""
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from web.routing import page

# What a visitor may download, by the name of the file in the API.
FILES = ("factur-x.pdf", "factur-x.xml", "lines.csv")


@page("/documents/<document_id>/<file>", audience="member")
def download(visit, document_id, file):
    if file not in FILES:
        raise NotFound()
    content, content_type = visit.api.download(f"/v1/documents/{document_id}/{file}")
    name = f"relais-{document_id[:8]}-{file}"
    return Response(content, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
