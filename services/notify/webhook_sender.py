"""One webhook call over HTTP: re-check where the URL points, sign, POST with a
bounded time and a bounded answer, never follow a redirect. Returns what
happened; it never raises (a failure is an attempt to log, not an error).

The connection goes to the address that was checked, not to whatever the name
resolves to a moment later: a host whose DNS answers a public address to the
check and 127.0.0.1 to the connection (DNS rebinding) would otherwise reach
the inside. The name still travels in the ``Host`` header and, for https, in
the TLS SNI and the certificate check (``common.outbound.PinnedAdapter``).

Given ``sessions`` (``common.outbound.PinnedSessions``, the dispatcher's), a
call reuses a kept-alive connection to the same checked address; the check
still runs before every call, and a name that resolves elsewhere now gets a
connection of its own to the new address, once that address is checked."""
import contextlib
import json
import time

import eventlet
import requests

from common.outbound import checked_address, pinned_session, read_bounded, resolved_addresses
from services.notify import webhook_rules as rules
from services.notify.webhooks import utcnow


class TotalTimeout(Exception):
    """The receiver took longer than the whole budget (connect, send, read)."""


def send(delivery, settings, resolve=resolved_addresses, sessions=None):
    attempted_at = utcnow()
    started = time.monotonic()
    status_code, excerpt, error = None, "", None
    try:
        # checked at delivery too: DNS may have changed since the endpoint was made
        parts, address = checked_address(delivery["url"], settings.allow_loopback, resolve)
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
        headers["host"] = parts.netloc
        with eventlet.Timeout(settings.timeout_seconds, TotalTimeout()), \
                _session(sessions, parts, address) as http:
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


def _session(sessions, parts, address):
    """A kept session for this checked address, or one for this call only."""
    if sessions is None:
        return contextlib.closing(pinned_session(parts, address))
    return sessions.session(parts, address)


def _read_bounded(answer, max_bytes, excerpt_chars):
    """The excerpt to log; without NUL, which PostgreSQL's text refuses (the
    attempt could not be recorded, and the delivery would be sent again)."""
    read = read_bounded(answer, max_bytes)
    return read[:excerpt_chars * 4].decode("utf-8", "replace")[:excerpt_chars] \
        .replace("\x00", "\ufffd")


def _short(exc):
    return str(exc)[:300]
