"""Which hosts are this machine only, and which requests and websockets are refused.

On a loopback host, requests naming another host are refused (a web site rebinding its
name to 127.0.0.1 cannot reach the wizard); on every host a websocket opened by a page of
another origin is refused (other web sites open in the same browser cannot drive it).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def bare(host: str) -> str:
    """``[::1]`` -> ``::1``; names lower-cased."""
    return host.strip().removeprefix("[").removesuffix("]").lower()


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (also IPv4-mapped); False for the rest."""
    host = bare(host)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # another name: it could resolve to anything, now or later
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_wildcard(host: str) -> bool:
    """True for 0.0.0.0 and ::, the addresses that mean every network interface."""
    try:
        return ipaddress.ip_address(bare(host)).is_unspecified
    except ValueError:
        return False


def url_host(host: str) -> str:
    """The host as it is written in a URL (an IPv6 address in brackets)."""
    plain = bare(host)
    return f"[{plain}]" if ":" in plain else plain


def where(host: str, port: int) -> str:
    """Where visitors would connect; port 0 is the free port it would pick (none yet)."""
    if port == 0:
        if is_wildcard(host):
            return "the free port --port 0 picks, from any network"
        return f"{url_host(host)} on the free port --port 0 picks"
    if is_wildcard(host):
        return f"port {port} of this machine from any network"
    return f"http://{url_host(host)}:{port}/"


def page_urls(host: str, port: int) -> list[str]:
    """The addresses to print for people to open, the first for this machine."""
    if is_wildcard(host):
        return [
            f"http://127.0.0.1:{port}/ on this machine",
            f"http://{socket.gethostname()}:{port}/ (or this machine's address) from others",
        ]
    return [f"http://{url_host(host)}:{port}/"]


def host_refusal(loopback: bool, own_url: str, host_header: str) -> str | None:
    """Why a request naming ``host_header`` is refused, or None.

    On a loopback host only loopback names may be asked for: a web site that points its own
    name at 127.0.0.1 (DNS rebinding) cannot reach the wizard.
    """
    if not loopback:
        return None
    named = _host_and_port(f"//{host_header}")
    if named is not None and is_loopback(named[0]):
        return None
    return (
        f"This wizard only answers on this machine. Open {own_url} instead of "
        f"http://{host_header}/."
    )


def origin_refusal(origin: str | None, host_header: str) -> str | None:
    """Why a websocket opened by a page of ``origin`` is refused, or None.

    Only the wizard's own page may open a session: other web sites open in the same browser
    cannot drive a wizard. Without an Origin it is not a browser page, so no site is involved.
    """
    if origin is None:
        return None
    page = _host_and_port(origin)
    default = 443 if origin.lower().startswith("https:") else 80
    own = _host_and_port(f"//{host_header}", default)
    if page is not None and page == own:
        return None
    return f"A page from {origin} may not open a wizard session."


def _host_and_port(url: str, default: int | None = None) -> tuple[str, int] | None:
    """``(host, port)`` of ``scheme://host:port`` or ``//host:port``; None if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port or default or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.hostname or "", port)
