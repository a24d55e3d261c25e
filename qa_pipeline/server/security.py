"""Who may talk to the server, and what every response tells the browser.

- ``token_problem``: a token too short or too repetitive to stand up to guessing (``qa serve``
  refuses to start with one).
- ``FailedAttempts``: wrong tokens from one client address lock that address out for a while,
  doubling with each further failure, so guessing a token is slow.
- ``SecurityHeaders``: one ASGI middleware that adds CSP, framing, sniffing, referrer and cache
  headers to every HTTP response (HSTS too under TLS); a route may set its own CSP.
- ``same_origin``: whether a browser's WebSocket comes from a page of this server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

#: A token needs this many characters, and this many different ones.
MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT_CHARS = 8

#: The policy of every page that sets none itself: only this server's own files, no framing.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_INLINE_SCRIPT_RE = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def token_problem(name: str, token: str) -> str | None:
    """Why ``token`` is too weak to guard the server, or None when it is strong enough."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"{name} is too short ({len(token)} characters; at least {MIN_TOKEN_CHARS} needed)"
    if len(set(token)) < MIN_TOKEN_DISTINCT_CHARS:
        return f"{name} is too repetitive (fewer than {MIN_TOKEN_DISTINCT_CHARS} different characters)"
    return None


def token_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison; no token is never ok."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def inline_script_csp(page: str) -> str:
    """A CSP for a self-contained page: its own inline scripts (by hash) and styles, nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in _INLINE_SCRIPT_RE.findall(page)
    )
    script_src = hashes or "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
        "img-src data:; media-src data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def same_origin(headers: Mapping[str, str]) -> bool:
    """True when a WebSocket's ``Origin`` names this server's own host (or is absent: not a browser)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "").strip().lower()
    return bool(host) and urlsplit(origin.strip()).netloc.lower() == host


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: 401 (wrong or missing token) or 429 (too many failed attempts)."""

    status_code: int
    reason: str
    retry_after_s: int = 0


class FailedAttempts:
    """Failed token attempts per client address; past ``free_failures`` each one locks the address out.

    The lock-out starts at ``first_lockout_s`` and doubles with each further failure up to
    ``max_lockout_s``; while locked out, even a right token is refused (else guessing would go on at
    full speed). A right token clears the address; addresses quiet for ``forget_after_s`` are dropped.
    """

    def __init__(self, free_failures: int = 5, first_lockout_s: float = 1.0, max_lockout_s: float = 60.0,
                 forget_after_s: float = 900.0, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_failures = free_failures
        self.first_lockout_s = first_lockout_s
        self.max_lockout_s = max_lockout_s
        self.forget_after_s = forget_after_s
        self.max_addresses = max_addresses
        self._clock = clock
        # address -> (failures, locked until, last failure), oldest first
        self._seen: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def retry_after_s(self, address: str) -> float:
        """Seconds this address must wait before its next attempt (0: it may try now)."""
        entry = self._seen.get(address)
        if entry is None:
            return 0.0
        now = self._clock()
        if now - entry[2] > self.forget_after_s:
            del self._seen[address]
            return 0.0
        return max(0.0, entry[1] - now)

    def failed(self, address: str) -> None:
        now = self._clock()
        failures = self._seen.pop(address, (0, 0.0, now))[0] + 1
        excess = failures - self.free_failures
        locked_until = now + min(self.max_lockout_s, self.first_lockout_s * 2 ** (excess - 1)) if excess > 0 else 0.0
        self._seen[address] = (failures, locked_until, now)
        while len(self._seen) > self.max_addresses:
            self._seen.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._seen.pop(address, None)


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response (a route's own CSP is kept)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _HEADERS + ((_HSTS,) if scope.get("scheme") == "https" else ())

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode("ascii")))
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
