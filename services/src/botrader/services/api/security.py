"""Who may read and control, and what every response tells the browser.

One ASGI layer, outermost but for the latency metric, so it also covers answers served from the
cache before routing:
- every HTTP response carries a Content-Security-Policy (no inline script, nothing from another
  origin), `nosniff`, `no-referrer` and `frame-ancestors 'none'`;
- with `BOTRADER_API_READ_TOKEN` set, every path but the probes, the metrics and the page's own
  files needs a bearer token (the read token or the control token). Browsers cannot put headers
  on a WebSocket, so `/ws` also takes the token as a sub-protocol,
  `base64url.bearer.botrader.<token in base64url>`, as Kubernetes' API server does;
- a client that sends wrong tokens `auth_failures` times within `auth_window_s` gets 429 until
  the window has passed (a request with no token is refused but not counted). Failures are
  logged with the client's address, never with the token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import time
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botrader.services.api.settings import ApiSettings

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load their UI from a CDN with an inline script; they show the
# OpenAPI document only (no bot data), so they alone get this policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
OPEN = ("/healthz", "/readyz", "/metrics", "/", "/favicon.ico")  # probes, Prometheus, the page
OPEN_PREFIXES = ("/static/",)
WS_PROTOCOL = "botrader"
WS_TOKEN_PREFIX = "base64url.bearer.botrader."


class AuthFailures:
    """Bad tokens per client within a sliding window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if not seen:
            del self._seen[client]  # bounded: only clients failing now are kept
            return deque()
        return seen

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may try again; 0 when it may now."""
        now = time.monotonic()
        seen = self._recent(client, now)
        return 0 if len(seen) < self.limit else max(1, int(seen[0] + self.window_s - now + 1))

    def failed(self, client: str, what: str) -> None:
        now = time.monotonic()
        seen = self._recent(client, now)
        seen.append(now)
        self._seen[client] = seen
        log.warning("wrong token for %s from %s (%d in %.0f s)", what, client, len(seen), self.window_s)


def matches(given: str, tokens: list[str]) -> bool:
    """Constant time against each accepted token."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found and bool(given)


def bearer(scope: Scope) -> str:
    """The token a request carries: `Authorization: Bearer …`, or for a WebSocket the
    sub-protocol `base64url.bearer.botrader.…`. Empty when none."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    for protocol in scope.get("subprotocols", ()):
        if protocol.startswith(WS_TOKEN_PREFIX):
            encoded = protocol[len(WS_TOKEN_PREFIX) :]
            try:
                return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError):
                return ""
    return ""


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_open(path: str) -> bool:
    return path in OPEN or path.startswith(OPEN_PREFIXES)


class Security:
    """ASGI: security headers on every response; the read guard when reads are protected."""

    def __init__(self, app: ASGIApp, settings: ApiSettings, failures: AuthFailures) -> None:
        self.app, self.settings, self.failures = app, settings, failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        tokens = self.settings.tokens_that_read()
        if self.settings.read_token is not None and not is_open(scope["path"]):
            refusal = self._refusal(scope, tokens)
            if refusal is not None:
                await self._refuse(scope, receive, send, *refusal)
                return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"] in ("/docs", "/redoc") else CSP

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), *HEADERS]
                headers.append((b"content-security-policy", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)

    def _refusal(self, scope: Scope, tokens: list[str]) -> tuple[int, str, int] | None:
        client = client_of(scope)
        wait = self.failures.retry_after(client)
        if wait:
            return 429, "too many bad tokens: try again later", wait
        given = bearer(scope)
        if matches(given, tokens):
            return None
        if given:  # a guess; a request without a token (a page not yet given one) is no attack
            self.failures.failed(client, f"reading {scope['path']}")
        return 401, "this API needs a bearer token to read (BOTRADER_API_READ_TOKEN)", 0

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, why: str, wait: int
    ) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": why})
            return
        body = json.dumps({"detail": why}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [*HEADERS, (b"content-security-policy", CSP.encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if wait:
            headers.append((b"retry-after", str(wait).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
