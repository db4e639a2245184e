"""The browser is not a way in: checks every request passes before any route sees it.

Why each check (docs/api.md, "Security model"):
- `Host`: a page on attacker.example can re-point its own name at 127.0.0.1 (DNS
  rebinding) and then reads the loopback server as same-origin; only loopback names (and
  names the operator allows) are served, so the rebound name is refused.
- `Origin` on WebSocket upgrades and state-changing requests: browsers send any site's
  forms and sockets to loopback; only the server's own origin (or configured ones) may
  change state or stream the picture. A request without `Origin` is not from a browser
  page (browsers send it on every cross-origin POST and on WebSockets).
- `Content-Type: application/json` on state-changing requests: a cross-site form or a
  `text/plain` fetch needs no CORS pre-flight; JSON does, and CORS is closed.
- Headers on every response: a CSP the page works under (no inline script, no framing),
  `nosniff`, `X-Frame-Options: DENY` (clickjacking of the triage buttons), no referrer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
       "child-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")  # fmt: skip
DETAILS = {
    "host_not_allowed": "this server does not answer to that Host name",
    "origin_not_allowed": "requests from that origin are refused",
    "content_type_not_json": "send Content-Type: application/json",
}
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def host_name(host_header: str) -> str:
    """The name of a `Host` header without its port, lower case (`[::1]:8642` -> `::1`)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


class BrowserGuard:
    """ASGI middleware: `Host`, `Origin` and `Content-Type` checks, security headers.

    `allowed_hosts`: host names served besides loopback's; None with tokens configured
    means any (a token is needed for every API call then); `allowed_origins`: origins
    besides the server's own that may change state and open the track channel.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] | None = None,
                 allowed_origins: Iterable[str] = (), check_host: bool = True,
                 on_refuse: Any = None) -> None:  # fmt: skip
        self.app = app
        self.hosts = set(LOOPBACK_NAMES) | {host_name(h) for h in (allowed_hosts or ())}
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}
        self.check_host = check_host
        self.on_refuse = on_refuse  # called with the reason of every refusal (counted)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when the request must be refused, else None."""
        h = Headers(scope=scope)
        if self.check_host and host_name(h.get("host", "")) not in self.hosts:
            return 400, "host_not_allowed"
        ws = scope["type"] == "websocket"
        method = scope.get("method", "GET")
        if ws or method in STATE_CHANGING:
            origin = h.get("origin")
            if origin is not None and not self.same_origin(origin, scope, h):
                return 403, "origin_not_allowed"
            if origin is None and h.get("sec-fetch-site", "") in ("cross-site", "same-site"):
                return 403, "origin_not_allowed"
        if not ws and method in STATE_CHANGING and _has_body(h):
            ctype = h.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype != "application/json":
                return 415, "content_type_not_json"
        return None

    def same_origin(self, origin: str, scope: Scope, h: Headers) -> bool:
        o = origin.rstrip("/").lower()
        if o in self.origins:
            return True
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"),
                                                    scope.get("scheme", "http"))  # fmt: skip
        return o == f"{scheme}://{h.get('host', '').lower()}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is not None:
            status, reason = refused
            log.info("refused %s %s: %s", scope["type"], scope.get("path"), reason)
            if self.on_refuse is not None:
                self.on_refuse(reason)
            await self._refuse(scope, receive, send, status, reason)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, with_headers(send))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      reason: str) -> None:  # fmt: skip
        detail = DETAILS[reason]
        resp = JSONResponse({"detail": detail}, status_code=status)
        if scope["type"] == "websocket":
            msg = await receive()  # websocket.connect
            if msg.get("type") != "websocket.connect":
                return
            if "websocket.http.response" in scope.get("extensions", {}):
                # Starlette sends a response in a websocket scope as the denial response
                await resp(scope, receive, with_headers(send))
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        await resp(scope, receive, with_headers(send))


def _has_body(h: Headers) -> bool:
    cl = h.get("content-length")
    return bool(h.get("transfer-encoding")) or (cl is not None and cl.strip() not in ("", "0"))


def with_headers(send: Send) -> Send:
    """`send` that adds the security headers to every HTTP response start."""

    async def wrapped(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.http.response.start"):
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
