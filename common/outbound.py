"""Calls a service makes to a URL someone else chose (a webhook receiver, a
company's identity provider): where it may point, and how to connect only to
the address that was checked.

A URL is refused unless it is https with a host and no credentials (http only
to loopback, when a setting allows it: development and tests), and unless
every address its host resolves to is public: no loopback, private, link-local
(cloud metadata), multicast or reserved address.

The connection then goes to the address that was checked, not to whatever the
name resolves to a moment later: a host whose DNS answers a public address to
the check and 127.0.0.1 to the connection (DNS rebinding) would otherwise reach
the inside. The name still travels in the ``Host`` header and, for https, in
the TLS SNI and the certificate check (``PinnedAdapter``).
"""
import contextlib
import http.cookiejar
import ipaddress
import socket
import time
from collections import OrderedDict
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class UnsafeUrl(ValueError):
    """A URL we refuse to call."""


def check_url_form(url, allow_loopback):
    """https with a host; http only to 127.0.0.1/localhost when loopback is allowed."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise UnsafeUrl("The URL needs a host.")
    if parts.username or parts.password:
        raise UnsafeUrl("The URL must not carry credentials.")
    if parts.scheme == "https":
        return parts
    if parts.scheme == "http" and allow_loopback and parts.hostname in ("127.0.0.1", "localhost"):
        return parts
    raise UnsafeUrl("The URL must use https.")


def check_address(address, allow_loopback):
    """Refuse loopback, private, link-local (cloud metadata), multicast and
    reserved addresses; loopback only when allowed (development, tests)."""
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if ip.is_loopback and allow_loopback:
        return
    if not ip.is_global or ip.is_multicast:
        raise UnsafeUrl(f"The URL resolves to a non-public address ({ip}).")


def resolved_addresses(parts, resolve=socket.getaddrinfo):
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = resolve(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UnsafeUrl(f"The URL's host does not resolve ({exc}).") from None
    return sorted({info[4][0] for info in infos})


def checked_address(url, allow_loopback, resolve=resolved_addresses):
    """The URL's parts and the address to connect to, once the form and every
    address the host resolves to are checked; UnsafeUrl otherwise."""
    parts = check_url_form(url, allow_loopback)
    addresses = resolve(parts)
    for address in addresses:
        check_address(address, allow_loopback)
    return parts, preferred_address(addresses)


def preferred_address(addresses):
    """IPv4 first: most servers listen there; every address was checked."""
    return sorted(addresses, key=lambda a: ipaddress.ip_address(a).version)[0]


class PinnedAdapter(HTTPAdapter):
    """Connects to ``address`` whatever the URL's host resolves to; TLS is still
    negotiated and verified for the URL's host name."""

    def __init__(self, address, hostname, pool_maxsize=1):
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=pool_maxsize)
        self.address, self.hostname = address, hostname

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        return host_params, pool_kwargs


def pinned_session(parts, address, pool_maxsize=1):
    session = requests.Session()
    session.trust_env = False      # no proxy from the environment: it would resolve the name
    # No cookies kept: a kept session serves every endpoint on that address,
    # and one tenant's receiver must not set what another's call carries.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.mount(f"{parts.scheme}://", PinnedAdapter(address, parts.hostname, pool_maxsize))
    return session


class PinnedSessions:
    """Kept-alive pinned sessions, one per (scheme, host name, port, checked
    address), for a caller that calls the same places often (webhooks).

    The caller checks the URL at each call (``checked_address``) and asks for
    the session of what it checked: the address is part of the key, so a name
    that now resolves elsewhere gets a new session pinned to the new (checked)
    address, never a connection opened to the old one under the new check.
    A connection goes back to its session only after a whole answer was read
    (``requests`` closes it otherwise: an answer cut at the size bound, a
    timeout, an error). Sessions idle for ``max_idle_seconds`` are closed
    (servers drop idle connections after a few seconds: gunicorn after 2, Apache
    after 5; one dropped just as a call starts is a failed attempt, retried), and
    at most ``max_sessions`` are kept (the least recently used closed first).
    Each keeps at most ``connections`` idle connections; more calls at once
    each open their own, so one slow receiver holds only its own connection.
    Green threads share it without a lock: nothing in it yields."""

    def __init__(self, max_sessions=256, max_idle_seconds=1.5, connections=10,
                 clock=time.monotonic):
        self.max_sessions, self.max_idle_seconds = max_sessions, max_idle_seconds
        self.connections, self.clock = connections, clock
        self._kept = OrderedDict()   # key -> [session, last used, calls in flight]

    @contextlib.contextmanager
    def session(self, parts, address):
        key = (parts.scheme, parts.hostname, parts.port, address)
        now = self.clock()
        self._close_idle(now)
        kept = self._kept.pop(key, None)
        if kept is None:
            kept = [pinned_session(parts, address, self.connections), now, 0]
        self._kept[key] = kept                      # the most recently used last
        kept[2] += 1
        try:
            yield kept[0]
        finally:
            kept[1], kept[2] = self.clock(), kept[2] - 1
            if self._kept.get(key) is kept:         # released: used last, again
                self._kept.move_to_end(key)
            self._close_extra()

    def _close_idle(self, now):
        """From the least recently used on, until one in recent use (kept in
        order of last use, so none behind it has been idle longer)."""
        for key, (session, used, busy) in list(self._kept.items()):
            if busy:
                continue
            if now - used < self.max_idle_seconds:
                return
            del self._kept[key]
            session.close()

    def _close_extra(self):
        for key in list(self._kept):
            if len(self._kept) <= self.max_sessions:
                return
            if not self._kept[key][2]:
                self._kept.pop(key)[0].close()

    def __len__(self):
        return len(self._kept)

    def close(self):
        while self._kept:
            self._kept.popitem()[1][0].close()


def read_bounded(answer, max_bytes):
    """At most ``max_bytes`` of a streamed answer (a 10 MB answer is cut, not loaded)."""
    read = b""
    for chunk in answer.iter_content(8192):
        read += chunk
        if len(read) >= max_bytes:
            break
    return read[:max_bytes]
