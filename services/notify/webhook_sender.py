"""One webhook call over HTTP: re-check where the URL points, sign, POST with a
bounded time and a bounded answer, never follow a redirect. Returns what
happened; it never raises (a failure is an attempt to log, not an error)."""
import json
import time

import eventlet
import requests

from services.notify import webhook_rules as rules
from services.notify.webhooks import resolved_addresses, utcnow


class TotalTimeout(Exception):
    """The receiver took longer than the whole budget (connect, send, read)."""


def send(delivery, settings, http=requests):
    attempted_at = utcnow()
    started = time.monotonic()
    status_code, excerpt, error = None, "", None
    try:
        parts = rules.check_url_form(delivery["url"], settings.allow_loopback)
        for address in resolved_addresses(parts):  # at delivery too: DNS may have changed
            rules.check_address(address, settings.allow_loopback)
        body = json.dumps(delivery["payload"], separators=(",", ":")).encode()
        timestamp = int(attempted_at.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Relais-Webhooks/1",
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": rules.signature_header(
                delivery["secrets"], delivery["id"], timestamp, body),
        }
        with eventlet.Timeout(settings.timeout_seconds, TotalTimeout()):
            with http.post(delivery["url"], data=body, headers=headers, stream=True,
                           allow_redirects=False,
                           timeout=(settings.timeout_seconds, settings.timeout_seconds)) as answer:
                status_code = answer.status_code
                excerpt = _read_bounded(answer, settings.max_response_bytes, settings.excerpt_chars)
        if 300 <= status_code < 400:
            error = "redirect not followed"
    except rules.UnsafeUrl as exc:
        error = f"refused: {exc}"
    except TotalTimeout:
        error = f"timeout after {settings.timeout_seconds} s"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {_short(exc)}"
    return {"attempted_at": attempted_at, "status_code": status_code, "error": error,
            "latency_ms": int((time.monotonic() - started) * 1000), "excerpt": excerpt}


def _read_bounded(answer, max_bytes, excerpt_chars):
    """Read at most ``max_bytes`` of the answer (a 10 MB answer is cut, not loaded)."""
    read = b""
    for chunk in answer.iter_content(8192):
        read += chunk
        if len(read) >= max_bytes:
            break
    return read[:excerpt_chars * 4].decode("utf-8", "replace")[:excerpt_chars]


def _short(exc):
    return str(exc)[:300]
