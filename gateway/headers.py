"""Security headers on every response the gateway gives, API, SCIM and /docs.

- ``Cache-Control: no-store`` unless a response says otherwise (only Swagger
  UI's static files do): answers hold tokens (RFC 6749 5.1 asks it of the
  token response, with ``Pragma: no-cache``) and personal data.
- ``X-Content-Type-Options: nosniff``: a JSON answer is never run as a script.
- A Content-Security-Policy: the API's answers load nothing and may be framed
  by nobody; /docs loads only the gateway's own scripts and styles (Swagger UI
  sets inline styles, so styles allow them; no inline script anywhere).
- ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``,
  ``Referrer-Policy: no-referrer``, and HSTS when the public URL is https.
"""
from common import config

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def secure(response, docs=False):
    headers = response.headers
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = DOCS_POLICY if docs else API_POLICY
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    if config.api_public_url().startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
