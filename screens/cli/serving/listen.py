"""The listening sockets of ``serve``, bound before the web server starts."""

from __future__ import annotations

import errno
import os
import socket

from screens.cli.serving.hosts import bare, url_host
from screens.common.errors import UsageError


class ListenError(Exception):
    """The port could not be opened; the message says why and what to do."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` names, all on one port.

    Binding here, before the web server starts, turns a busy port into a clear message and
    makes port 0 usable: the printed address is the one really bound.

    Raises:
        UsageError: the host cannot be resolved.
        ListenError: the port is in use or not allowed.
    """
    addresses = _addresses(host, port)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in addresses:
            chosen = sockets[0].getsockname()[1] if sockets else port
            sock = socket.socket(family, kind, proto)
            try:
                if os.name == "posix":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6 and len(addresses) > 1:
                    # Beside an IPv4 socket on the same port, this one takes IPv6 only.
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address[0], chosen, *address[2:]))
                sock.listen(128)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRNOTAVAIL and sockets:
                    continue  # e.g. "localhost" also names ::1 but IPv6 is off: IPv4 will do
                raise _listen_error(host, chosen, exc) from None
            sockets.append(sock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise ListenError(f"cannot listen on {host!r}: it names no IPv4 or IPv6 address.")
    return sockets


_Address = tuple[socket.AddressFamily, socket.SocketKind, int, tuple[object, ...]]
"""``(family, kind, protocol, socket address)`` of one address to listen on."""


def _addresses(host: str, port: int) -> list[_Address]:
    """The distinct IPv4 and IPv6 addresses ``host`` names, for listening on ``port``.

    Raises:
        UsageError: the host cannot be resolved.
    """
    try:
        infos = socket.getaddrinfo(
            bare(host), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host!r}: {exc.strerror}. Check --host.") from None
    addresses: list[_Address] = []
    for family, kind, proto, _name, address in infos:
        entry = (family, kind, proto, address)
        if family in (socket.AF_INET, socket.AF_INET6) and entry not in addresses:
            addresses.append(entry)
    return addresses


def _listen_error(host: str, port: int, exc: OSError) -> ListenError:
    where = f"{url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return ListenError(
            f"port {port} is already in use on {host}. Stop whatever uses it, or choose "
            "another port with --port (0 picks a free one)."
        )
    if exc.errno == errno.EACCES:
        return ListenError(
            f"not allowed to listen on {where} (ports below 1024 need privileges). Choose a "
            "port from 1024 up with --port."
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(
            f"cannot listen on {host}: it is not an address of this machine. Check --host."
        )
    return ListenError(f"cannot listen on {where}: {exc.strerror or exc}.")
