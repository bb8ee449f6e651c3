"""Where the server may POST a push message: public addresses only, checked when it connects.

A subscription's endpoint is a URL a browser handed us, so it is untrusted: without these checks
the server could be made to POST to itself or the private network (SSRF). Every address a host
name resolves to must be public (`ipaddress`'s `is_global`, and not multicast); the connection is
then made to that vetted address — the URL keeps its host name for the Host header, TLS SNI and
certificate check — so a DNS answer that changes between the check and the connect (rebinding)
cannot redirect it. Numeric hosts in any spelling (`127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`)
resolve to what they mean first. Redirects are never followed.

`PUSH_ALLOW_INSECURE_ENDPOINTS` (tests and local runs only) also lets loopback through.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class RefusedAddress(Exception):
    """The endpoint's host is, or resolves to, an address the server must not connect to."""


def _unmapped(address: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """::ffff:a.b.c.d is the IPv4 address a.b.c.d."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    address = _unmapped(address)
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (numeric spellings included), in the resolver's order.
    `localhost` and names under it are loopback whatever the resolver says (RFC 6761)."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return ["127.0.0.1", "::1"]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def vetted_addresses(host: str, port: int, *, allow_loopback: bool) -> list[str]:
    """The addresses to connect to for `host`; RefusedAddress when any of them is not public
    (one private answer is enough to refuse: the resolver may hand it out next time).
    A name that does not resolve raises socket.gaierror."""
    addresses = resolve(host, port)
    refused = [a for a in addresses if not _allowed(ipaddress.ip_address(a), allow_loopback)]
    if refused or not addresses:
        raise RefusedAddress(f"{host} resolves to {', '.join(refused) or 'nothing'}: not a public address")
    return addresses


def looks_private(host: str, *, allow_loopback: bool) -> bool:
    """For the subscribe check: the host is (or resolves to) a non-public address now. A name
    that does not resolve at the moment passes here; the send checks it again anyway."""
    try:
        vetted_addresses(host, 443, allow_loopback=allow_loopback)
    except RefusedAddress:
        return True
    except (socket.gaierror, UnicodeError):
        return False
    return False


def is_loopback(host: str) -> bool:
    """The host is, or resolves only to, this machine (allowed over http when the setting says so)."""
    try:
        found = resolve(host, 80)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(found) and all(_unmapped(ipaddress.ip_address(a)).is_loopback for a in found)


class PinnedAdapter(HTTPAdapter):
    """Connects to a vetted address of the URL's host, never to what a later lookup says."""

    def __init__(self, *, allow_loopback: bool):
        self.allow_loopback = allow_loopback
        super().__init__(max_retries=0)

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = vetted_addresses(host, port, allow_loopback=self.allow_loopback)[0]
        except socket.gaierror as exc:  # no answer now: the push service may come back
            raise requests.ConnectionError(f"{host}: {exc}", request=request) from exc
        literal = f"[{address}]" if ":" in address else address
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        request.url = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
        request._pinned_host = host  # for the TLS pool below: SNI and the certificate name
        return super().send(request, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host = getattr(request, "_pinned_host", None)
        if host and host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs


class NoRedirectSession(requests.Session):
    """A session whose requests never follow a redirect (a 3xx is the push service's answer)."""

    def request(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, **kwargs)


def pinned_session(*, allow_loopback: bool) -> requests.Session:
    session = NoRedirectSession()
    session.trust_env = False  # no proxy from the environment: the checked address is the one used
    adapter = PinnedAdapter(allow_loopback=allow_loopback)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
