"""A fault-injecting HTTP proxy in front of the sandbox emulator.

Why a proxy and not botocore event hooks: the faults must reach every client the wizard
can have, the same way a flaky network or an overloaded AWS would reach it. A proxy does
that for the wizard's own in-process clients, for ``python -m screens.cli`` in a child
process (the Ctrl-C tests: hooks cannot be installed in another process without changing
its code), and for the AWS CLI. It also exercises the real stack: botocore parses the
injected error bodies, its retry handler decides on the status code and error code, urllib3
sees a real closed socket. A ``before-send`` hook would short-circuit all of that.

What it can do (all of it deterministic for a given seed):

* :meth:`FaultProxy.fail`: answer the nth matching request (``cloudtrail:CreateTrail``,
  ``s3:*``, ``*``) with any AWS error code and HTTP status, in the service's wire format
  (JSON, query XML or S3 XML), either instead of forwarding it or after forwarding it
  (the server acted, the client never hears about it).
* :meth:`FaultProxy.drop`: close the connection without a response, before or after
  forwarding the request.
* :meth:`FaultProxy.throttle`: answer a fraction of requests with the service's throttling
  error (S3: ``503 SlowDown``; query services: ``400 Throttling``; JSON services:
  ``400 ThrottlingException``). Whether a request is throttled is decided by a random number
  seeded from ``(seed, service, operation, occurrence)``, so the same run throttles the same
  requests even when threads interleave differently.
* :meth:`FaultProxy.delay`: add latency to every (matching) request.
* :attr:`FaultProxy.log`: every request seen, with what the proxy did to it;
  :meth:`FaultProxy.wait_for` blocks until the log satisfies a condition (the Ctrl-C tests
  wait for the kth mutating request instead of sleeping blindly).

Requests are identified the way AWS routes them: the service from the SigV4 credential
scope, the operation from ``X-Amz-Target`` (JSON protocols), the ``Action`` parameter
(query protocols) or, for S3 (REST), the method, path and query matched against botocore's
own S3 model.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import http.client
import json
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

__all__ = ["FaultProxy", "Rule", "Seen", "is_mutating", "throttle_error_for"]

Action = Literal["arrived", "forwarded", "failed", "throttled", "dropped"]

_READ_PREFIXES = ("Get", "Describe", "List", "Head", "Lookup")
_READS = frozenset({"GetCallerIdentity", "SimulatePrincipalPolicy", "SimulateCustomPolicy"})
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_QUERY_SERVICES = frozenset({"iam", "sts", "sns", "sqs", "ec2", "cloudformation"})


def is_mutating(operation: str) -> bool:
    """True unless the operation is a read by AWS's naming convention.

    Written out here independently of :func:`wizard.model.readonly.is_read_only`, so a mistake
    there cannot hide a mutating request from these tests.
    """
    return not (operation in _READS or operation.startswith(_READ_PREFIXES))


def throttle_error_for(service: str) -> tuple[str, int]:
    """The (code, HTTP status) AWS uses for "slow down" in this service."""
    if service == "s3":
        return "SlowDown", 503
    if service in _QUERY_SERVICES:
        return "Throttling", 400
    return "ThrottlingException", 400


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it, and what it did with it."""

    service: str
    operation: str
    mutating: bool
    action: Action
    detail: str = ""
    at: float = 0.0

    @property
    def target(self) -> str:
        """``service:Operation``."""
        return f"{self.service}:{self.operation}"


@dataclass
class Rule:
    """An injected fault: what it matches and what it does.

    ``nth`` counts matching requests from the moment the rule is added (1 = the first);
    the rule fires for ``times`` consecutive matching requests from there (None: forever).
    """

    pattern: str
    """``service:Operation`` with shell wildcards (``s3:Put*``, ``*``)."""
    kind: Literal["error", "drop", "hook"]
    code: str = ""
    status: int = 0
    message: str = ""
    nth: int = 1
    times: int | None = 1
    after_forward: bool = False
    """Forward the request first (the server acts), then fail or drop the response."""
    seen: int = 0
    """Matching requests so far."""
    fired: int = 0
    """How many times the fault was injected."""
    callback: Callable[[], None] | None = None
    """For hooks: run before the request is forwarded (someone else acting meanwhile)."""

    def matches(self, target: str) -> bool:
        return fnmatch.fnmatchcase(target, self.pattern)

    def take(self) -> bool:
        """Count one matching request; True when the fault applies to it."""
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times is not None and self.seen >= self.nth + self.times:
            return False
        self.fired += 1
        return True


@dataclass
class _Latency:
    seconds: float
    pattern: str = "*"
    mutating_only: bool = False
    jitter: float = 0.0


@dataclass
class _Throttle:
    fraction: float
    pattern: str = "*"
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------ identifying requests


@functools.cache
def _s3_routes() -> list[tuple[str, int, dict[str, str | None], str]]:
    """(method, path depth, literal query params, operation) for every S3 operation."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http["requestUri"])
        path, _, query = uri.partition("?")
        depth = 0 if path == "/" else (2 if "{Key+}" in path else 1)
        literals: dict[str, str | None] = {}
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            if key != "x-id":  # botocore does not send x-id
                literals[key] = value if eq else None
        routes.append((str(http["method"]), depth, literals, name))
    return routes


def _s3_operation(method: str, path: str, query: dict[str, list[str]]) -> str:
    segments = [s for s in path.split("/") if s]
    depth = min(len(segments), 2)
    best: tuple[int, str] | None = None
    for route_method, route_depth, literals, name in _s3_routes():
        if route_method != method or route_depth != depth:
            continue
        if any(
            key not in query or (value is not None and value not in query[key])
            for key, value in literals.items()
        ):
            continue
        if best is None or len(literals) > best[0]:
            best = (len(literals), name)
    return best[1] if best else f"{method} {path}"


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def identify(method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
    """(service, operation) of a signed AWS request."""
    scope = _SCOPE.search(str(headers.get("Authorization", "")))
    service = scope.group(1) if scope else "unknown"
    target = str(headers.get("X-Amz-Target", ""))
    if target:
        return service, target.rsplit(".", 1)[-1]
    split = urlsplit(path)
    query = parse_qs(split.query, keep_blank_values=True)
    if service == "s3":
        return service, _s3_operation(method, split.path, query)
    action = (query.get("Action") or [""])[0]
    if not action and body:
        form = parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or [""])[0]
    return service, action or f"{method} {split.path}"


def error_response(
    service: str, headers: Any, code: str, status: int, message: str
) -> tuple[int, dict[str, str], bytes]:
    """An AWS error response in the wire format the client expects."""
    request_id = str(uuid.uuid4())
    content_type = str(headers.get("Content-Type", ""))
    if content_type.startswith("application/x-amz-json") or headers.get("X-Amz-Target"):
        body = json.dumps({"__type": code, "message": message}).encode()
        return (
            status,
            {
                "Content-Type": content_type or "application/x-amz-json-1.1",
                "x-amzn-ErrorType": code,
                "x-amzn-RequestId": request_id,
            },
            body,
        )
    if service == "s3":
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
            f"{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
        return status, headers, text.encode()
    text = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, text.encode()


# ------------------------------------------------------------------------------ the proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write, the body in another: with Nagle's
    # algorithm on, the body waits for the client's delayed ACK (about 40 ms on Linux), which
    # would add that much to every request on top of any latency asked for.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        return None

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        self.server.proxy.handle(self)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle

    # -- used by FaultProxy.handle

    def drop(self) -> None:
        """Close the connection at once, without a response (an RST, as a dead peer sends)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def respond(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", headers.get("Content-Length", "0"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: when more connections open at once (a
    # health check or a picker has 16-32 requests in flight), the kernel drops the extra
    # SYNs and each such client retries after 1 s, a wait AWS's endpoints never add.
    request_queue_size = 128
    proxy: FaultProxy


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 that forwards to ``upstream`` and injects faults.

    Point clients at :attr:`url` as their endpoint. Use as a context manager, or call
    :meth:`start` and :meth:`stop`. :meth:`reset` removes every fault and forgets the log.
    """

    def __init__(self, upstream: str, *, seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.seed = seed
        self._lock = threading.Condition()
        self._rules: list[Rule] = []
        self._latency: list[_Latency] = []
        self._throttle: _Throttle | None = None
        self._log: list[Seen] = []
        self._arrivals: list[Seen] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle

    def start(self) -> FaultProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        _s3_routes()  # load the S3 model now, not during the first timed request
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuring faults

    def reset(self) -> None:
        """No faults, no latency, an empty log."""
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._throttle = None
            self._log.clear()
            self._arrivals.clear()

    def fail(
        self,
        pattern: str,
        *,
        code: str,
        status: int,
        message: str | None = None,
        nth: int = 1,
        times: int | None = 1,
        after_forward: bool = False,
    ) -> Rule:
        """Answer matching requests with an AWS error (see :class:`Rule` for nth/times)."""
        rule = Rule(
            pattern,
            "error",
            code=code,
            status=status,
            message=message or f"Injected fault: {code}",
            nth=nth,
            times=times,
            after_forward=after_forward,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def drop(
        self, pattern: str, *, nth: int = 1, times: int | None = 1, after_forward: bool = False
    ) -> Rule:
        """Close the connection of matching requests without answering."""
        rule = Rule(pattern, "drop", nth=nth, times=times, after_forward=after_forward)
        with self._lock:
            self._rules.append(rule)
        return rule

    def before(
        self, pattern: str, callback: Callable[[], None], *, nth: int = 1, times: int | None = 1
    ) -> Rule:
        """Run ``callback`` just before matching requests are forwarded.

        The request waits for it: "someone else changed the account between the two reads".
        """
        rule = Rule(pattern, "hook", nth=nth, times=times, callback=callback)
        with self._lock:
            self._rules.append(rule)
        return rule

    def throttle(self, fraction: float, *, pattern: str = "*", seed: int | None = None) -> None:
        """Throttle ``fraction`` of matching requests (deterministically, see the module)."""
        with self._lock:
            self._throttle = _Throttle(
                fraction, pattern, self.seed if seed is None else seed, counts={}
            )

    def delay(
        self,
        seconds: float,
        *,
        pattern: str = "*",
        mutating_only: bool = False,
        jitter: float = 0.0,
    ) -> None:
        """Hold matching requests ``seconds`` (plus up to ``jitter``) before forwarding."""
        with self._lock:
            self._latency.append(_Latency(seconds, pattern, mutating_only, jitter))

    # -- the log

    @property
    def log(self) -> list[Seen]:
        """Every request answered so far (in the order the proxy was done with them)."""
        with self._lock:
            return list(self._log)

    @property
    def arrivals(self) -> list[Seen]:
        """Every request received so far, in arrival order (action ``arrived``).

        A request is here as soon as it arrives, before its latency and before the server
        acts on it; it is in :attr:`log` once the proxy has answered it.
        """
        with self._lock:
            return list(self._arrivals)

    def requests(self, *, mutating: bool | None = None, action: Action | None = None) -> list[Seen]:
        """The log, filtered."""
        return [
            s
            for s in self.log
            if (mutating is None or s.mutating is mutating)
            and (action is None or s.action == action)
        ]

    def wait_for(
        self, condition: Callable[[list[Seen]], bool], timeout: float, *, arrivals: bool = False
    ) -> bool:
        """Block until ``condition(log)`` is true (True) or ``timeout`` seconds pass (False).

        With ``arrivals``, the condition is evaluated on :attr:`arrivals` instead.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self._arrivals if arrivals else self._log):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def settle(self, timeout: float = 30.0) -> bool:
        """Block until every request that arrived has been answered (or ``timeout`` passes).

        A process killed with requests in flight leaves them to the server, which acts on
        them a moment later (AWS as much as the sandbox): what happens after the kill is
        judged once they have landed, as it would be by anyone looking even a second later.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._log) < len(self._arrivals):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._arrivals.clear()

    # -- handling one request

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._log.append(seen)
            self._lock.notify_all()

    def _decide(self, target: str, mutating: bool) -> tuple[float, Rule | None, bool, list[Rule]]:
        """(latency, fault that fires, throttled, hooks to run) for one request."""
        with self._lock:
            service, _, operation = target.partition(":")
            self._arrivals.append(
                Seen(service, operation, mutating, "arrived", "", time.monotonic())
            )
            self._lock.notify_all()
            latency = 0.0
            for lat in self._latency:
                if fnmatch.fnmatchcase(target, lat.pattern) and (mutating or not lat.mutating_only):
                    extra = 0.0
                    if lat.jitter:
                        extra = random.Random(f"{self.seed}|lat|{target}|{len(self._log)}").uniform(
                            0, lat.jitter
                        )
                    latency += lat.seconds + extra
            fired = None
            hooks = []
            for rule in self._rules:
                if not rule.matches(target) or not rule.take():
                    continue
                if rule.kind == "hook":
                    hooks.append(rule)
                elif fired is None:
                    fired = rule
            throttled = False
            throttle = self._throttle
            if (
                fired is None
                and throttle is not None
                and fnmatch.fnmatchcase(target, throttle.pattern)
            ):
                n = throttle.counts.get(target, 0) + 1
                throttle.counts[target] = n
                draw = random.Random(f"{throttle.seed}|{target}|{n}").random()
                throttled = draw < throttle.fraction
            return latency, fired, throttled, hooks

    def _forward(self, handler: _Handler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            if handler.command == "HEAD":
                out["Content-Length"] = response.getheader("Content-Length") or "0"
            return response.status, out, data
        finally:
            connection.close()

    def handle(self, handler: _Handler) -> None:
        body = handler._read_body()
        service, operation = identify(handler.command, handler.path, handler.headers, body)
        target = f"{service}:{operation}"
        mutating = is_mutating(operation)
        latency, rule, throttled, hooks = self._decide(target, mutating)
        if latency:
            time.sleep(latency)
        for hook in hooks:
            assert hook.callback is not None
            hook.callback()

        def seen(action: Action, detail: str = "") -> None:
            self._record(Seen(service, operation, mutating, action, detail, time.monotonic()))

        if rule is not None and rule.after_forward:
            self._forward(handler, body)
        if rule is not None and rule.kind == "drop":
            seen("dropped", "after forwarding" if rule.after_forward else "")
            handler.drop()
            return
        if rule is not None:
            seen("failed", f"{rule.status} {rule.code}")
            handler.respond(
                *error_response(service, handler.headers, rule.code, rule.status, rule.message)
            )
            return
        if throttled:
            code, status = throttle_error_for(service)
            seen("throttled", f"{status} {code}")
            handler.respond(
                *error_response(service, handler.headers, code, status, "Rate exceeded")
            )
            return
        try:
            status, headers, data = self._forward(handler, body)
        except OSError as exc:
            seen("dropped", f"upstream: {exc}")
            handler.drop()
            return
        seen("forwarded", str(status))
        handler.respond(status, headers, data)


def targets(log: list[Seen]) -> Iterator[str]:
    """``service:Operation`` of each entry."""
    return (s.target for s in log)
