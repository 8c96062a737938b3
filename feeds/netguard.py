"""Which addresses a feed's redirects may lead to (server-side request forgery guard).

A feed publisher controls the redirects the bot follows. Without a check a
``302 Location: http://169.254.169.254/latest/meta-data/`` (cloud metadata),
``http://127.0.0.1:6379/`` or ``http://10.0.0.5/admin`` would make the bot
fetch inside the network it runs in. :func:`check_redirect` refuses a
redirect target whose address — the literal, or every address its host name
resolves to — is loopback, link-local, private (incl. site-local and
carrier-grade NAT), unspecified, multicast or otherwise reserved, for IPv4
and IPv6 alike; IPv4 addresses embedded in IPv6 (``::ffff:127.0.0.1``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) count as the IPv4 address.

Exception, the admin's choice: the classes of the addresses the catalog URL
itself names are allowed (a feed on ``127.0.0.1`` may redirect within
loopback; it still may not redirect to link-local or private space).

A host name that does not resolve is let through: the connection then fails
with the same resolution error. Residual risk: a name that resolves to a
public address here and to a private one when httpx connects a moment later
(DNS rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["RedirectRefused", "address_class", "check_redirect", "host_classes"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class RedirectRefused(Exception):
    """A redirect led to a non-public address; ``str(e)`` says where and why."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_class(ip: IPAddress) -> str | None:
    """The non-public class of ``ip`` ("loopback", "link-local", …), or None if public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_class(embedded)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    """Addresses ``host`` resolves to; empty if it does not resolve."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = _literal(str(sockaddr[0]))
        if address is not None:
            found.append(address)
    return found


def _host_port(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def host_classes(url: str) -> frozenset[str]:
    """Non-public classes of the addresses ``url``'s host names (empty if all public)."""
    where = _host_port(url)
    if where is None:
        return frozenset()
    classes = {address_class(ip) for ip in await _resolve(*where)}
    return frozenset(c for c in classes if c is not None)


def _describe(classes: Iterable[str]) -> str:
    return " and ".join(sorted(classes))


async def check_redirect(target: str, allowed: frozenset[str]) -> None:
    """Raise :class:`RedirectRefused` unless every address of ``target`` is public or allowed."""
    where = _host_port(target)
    if where is None:
        return  # httpx refuses it as a bad URL
    host, port = where
    bad: dict[str, set[str]] = {}
    for ip in await _resolve(host, port):
        kind = address_class(ip)
        if kind is not None and kind not in allowed:
            bad.setdefault(kind, set()).add(str(ip))
    if bad:
        addresses = ", ".join(sorted(a for group in bad.values() for a in group))
        shown = host if _literal(host) is not None else f"{host} ({addresses})"
        raise RedirectRefused(
            f"redirect to a private address refused: {target[:200]} — {shown} is "
            f"{_describe(bad)}, and the feed's own URL is not"
        )
