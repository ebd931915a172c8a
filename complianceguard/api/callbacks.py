"""Where a webhook may go: the callback URL policy, checked when a job is submitted and again, with a
fresh DNS lookup, at every delivery attempt (so a name that resolves to a public address at
submission and to 127.0.0.1 later, DNS rebinding, is refused at the attempt).

By default a callback must be http(s), carry no user name or password, and every address its host
resolves to must be public: loopback, link-local (169.254/16, fe80::/10, where cloud metadata
lives), private (RFC 1918, fc00::/7, 100.64/10), multicast, reserved and unspecified addresses are
refused, as are IPv4 addresses hidden inside IPv6 ones (::ffff:127.0.0.1, 6to4, Teredo, NAT64) and
legacy spellings such as http://2130706433/ (the resolver reads them as 127.0.0.1, and that is what
is checked). `--callback-host PATTERN` is an explicit allow-list: only matching hosts are accepted,
and they may be anywhere, loopback included (an operator's own receiver). This server's own
address and port are refused whatever the allow-list says.

A delivery connects to the address it checked (the URL's host is kept for the Host header, SNI and
certificate checks), so the check and the connection cannot see two different DNS answers.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from typing import Any

import httpx

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_BAD_URL_CHARS = frozenset("\\ \t\r\n")


class CallbackRefused(ValueError):
    """The callback URL may not be used; the message says why (one line)."""


def why_not_public(address: IpAddress) -> str | None:
    """None for a public unicast address; otherwise what kind of address it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (address.sixtofour) or (address.teredo[1] if address.teredo else None)
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = why_not_public(embedded)
            if reason:
                return f"{reason}, inside an IPv6 address"
        if address.is_site_local:
            return "site-local"
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (carrier-grade NAT)"
    if not address.is_global:
        return "not public"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (as the HTTP client would resolve it), in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked callback: where to connect, and the URL as the receiver sees it."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IpAddress, ...]
    allow_listed: bool

    def pinned(self, address: IpAddress) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
        """The URL to one checked address, the Host header and TLS name that keep the original host."""
        host_header = self.url.netloc.decode("ascii")
        extensions: dict[str, Any] = {"sni_hostname": self.host} if self.url.scheme == "https" else {}
        return self.url.copy_with(host=str(address)), {"Host": host_header}, extensions


class CallbackPolicy:
    def __init__(self, allowed_hosts: Iterable[str] = (), own_port: int | None = None,
                 own_addresses: Iterable[str] = (), resolver: Resolver = system_resolver):
        self.allowed_hosts = tuple(p.lower() for p in allowed_hosts)
        self.own_port = own_port
        self.own_addresses = frozenset(ipaddress.ip_address(a) for a in own_addresses)
        self.resolver = resolver

    @classmethod
    def for_server(cls, allowed_hosts: Iterable[str], host: str, port: int) -> CallbackPolicy:
        return cls(allowed_hosts, port, own_addresses(host))

    def check(self, url: str) -> Target:
        """The checked target, or CallbackRefused. Resolves the host now (a DNS lookup)."""
        if any(c in _BAD_URL_CHARS or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in url):
            raise CallbackRefused("expected an http:// or https:// URL without spaces, backslashes or "
                                  "control characters")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, UnicodeError, ValueError):
            raise CallbackRefused("expected an http:// or https:// URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise CallbackRefused("expected an http:// or https:// URL")
        if parsed.userinfo:
            raise CallbackRefused("a user name or password in the URL is not accepted (receivers check the "
                                  "X-ComplianceGuard-Signature header instead)")
        host = parsed.host.lower().rstrip(".")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        allow_listed = bool(self.allowed_hosts) and any(fnmatch(host, p) for p in self.allowed_hosts)
        if self.allowed_hosts and not allow_listed:
            raise CallbackRefused(f"host {host} is not allowed on this server (see --callback-host)")
        try:
            literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses: tuple[IpAddress, ...] = (literal,)
        else:
            try:
                addresses = tuple(ipaddress.ip_address(a.split("%", 1)[0]) for a in self.resolver(host, port))
            except (OSError, UnicodeError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise CallbackRefused(f"host {host} does not resolve ({reason})") from None
            if not addresses:
                raise CallbackRefused(f"host {host} does not resolve")
        for address in addresses:
            if port == self.own_port and (address.is_loopback or address in self.own_addresses
                                          or address.is_unspecified):
                raise CallbackRefused(f"{host}:{port} is this server itself")
            if not allow_listed:
                reason = why_not_public(address)
                if reason:
                    shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
                    raise CallbackRefused(f"host {shown} is not a public address ({reason}); callbacks go "
                                          "to public addresses only, unless --callback-host allows the host")
        return Target(parsed, host, port, addresses, allow_listed)


def own_addresses(host: str) -> list[str]:
    """The addresses this server answers on: its listening address, or every interface's for 0.0.0.0/::."""
    try:
        listening = ipaddress.ip_address(host)
    except ValueError:
        try:
            return system_resolver(host, 0)
        except OSError:
            return []
    if not listening.is_unspecified:
        return [str(listening)]
    try:
        import psutil

        return [a.address.split("%", 1)[0] for nic in psutil.net_if_addrs().values() for a in nic
                if a.family in (socket.AF_INET, socket.AF_INET6)]
    except Exception:  # noqa: BLE001 - best effort: loopback is refused on our port anyway
        return []
