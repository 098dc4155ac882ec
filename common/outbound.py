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
import ipaddress
import socket
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

    def __init__(self, address, hostname):
        super().__init__(max_retries=0)
        self.address, self.hostname = address, hostname

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        return host_params, pool_kwargs


def pinned_session(parts, address):
    session = requests.Session()
    session.trust_env = False      # no proxy from the environment: it would resolve the name
    session.mount(f"{parts.scheme}://", PinnedAdapter(address, parts.hostname))
    return session


def read_bounded(answer, max_bytes):
    """At most ``max_bytes`` of a streamed answer (a 10 MB answer is cut, not loaded)."""
    read = b""
    for chunk in answer.iter_content(8192):
        read += chunk
        if len(read) >= max_bytes:
            break
    return read[:max_bytes]
