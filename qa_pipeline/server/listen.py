"""The server's socket: bind it, serve the app on it with uvicorn, close what idles.

``bind_socket`` binds before the model loads, so a port in use is one clear line at once.
``run_server`` runs uvicorn on that socket with TLS when asked and with the limits of
``ListenOptions``: a request must arrive whole within ``request_timeout_s`` of the connection (or of
the previous response), idle keep-alive connections close after ``keep_alive_s``, WebSocket peers
that stop answering pings are dropped, and past ``max_connections`` open connections a new one gets
503 and is closed. These limits live in a small subclass of uvicorn's h11 protocol, because uvicorn
itself has no timeout for a request that never finishes arriving.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa_pipeline.errors import QAError

#: Longest request target (path and query) passed on to the WebSocket handshake.
MAX_TARGET_BYTES = 4096
#: Longest header line the WebSocket handshake parser accepts (websockets refuses longer silently).
MAX_HEADER_LINE_BYTES = 8000


class ServerStartError(QAError):
    """The server cannot listen: address in use, no permission, unreadable TLS files."""


@dataclass(frozen=True)
class ListenOptions:
    """Where and how ``qa serve`` listens."""

    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_connections: int = 100
    request_timeout_s: float = 10.0
    keep_alive_s: int = 5
    max_header_bytes: int = 16 * 1024
    ws_max_message_bytes: int = 256 * 1024 + 1024
    ws_ping_interval_s: float = 20.0
    ws_ping_timeout_s: float = 20.0

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if self.max_connections < 1 or self.request_timeout_s <= 0 or self.keep_alive_s < 1:
            raise ValueError("max_connections, request_timeout_s and keep_alive_s must be positive")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def check_tls(options: ListenOptions) -> None:
    """ServerStartError in one line when the certificate and key cannot be loaded (checked before the model)."""
    if not options.tls:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(options.tls_cert, options.tls_key)
    except (ssl.SSLError, OSError) as exc:
        raise ServerStartError(f"cannot use the TLS certificate and key: {exc}", str(options.tls_cert)) from None


def bind_socket(options: ListenOptions) -> socket.socket:
    """A listening socket on host:port; ServerStartError in one line when that is impossible."""
    try:
        infos = socket.getaddrinfo(options.host, options.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ServerStartError(f"cannot listen on {options.host}: {exc.strerror or exc}", "qa serve") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServerStartError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}", "qa serve") from None
    sock.set_inheritable(True)
    return sock


def run_server(app: Any, options: ListenOptions, sock: socket.socket, log_level: str = "warning") -> bool:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM; False when the app failed to start."""
    config = uvicorn.Config(
        app, log_level=log_level, http=_protocol_class(options), ws="websockets-sansio",
        timeout_keep_alive=options.keep_alive_s, h11_max_incomplete_event_size=options.max_header_bytes,
        ws_max_size=options.ws_max_message_bytes, ws_ping_interval=options.ws_ping_interval_s,
        ws_ping_timeout=options.ws_ping_timeout_s, server_header=False,
        ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
        ssl_keyfile=str(options.tls_key) if options.tls_key else None,
    )
    try:
        config.load()  # the TLS context is built here: a bad certificate or key is one line
    except (ssl.SSLError, OSError) as exc:
        raise ServerStartError(f"cannot use the TLS certificate and key: {exc}", str(options.tls_cert)) from None
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its graceful shutdown; nothing is left to report
    return server.started


def _protocol_class(options: ListenOptions) -> type[H11Protocol]:
    class Protocol(_TimedH11Protocol):
        request_timeout_s = options.request_timeout_s
        max_connections = options.max_connections

    return Protocol


class _TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request and a cap on open connections."""

    request_timeout_s = 10.0
    max_connections = 100
    _deadline: Any = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        full = len(self.connections) >= self.max_connections
        super().connection_made(transport)
        if full:
            transport.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
                            b"content-length: 29\r\nconnection: close\r\n\r\nserver busy, try again later\n")
            transport.close()
            return
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_deadline()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm_deadline()
        if len(event.target) > MAX_TARGET_BYTES or any(
            len(name) + len(value) + 2 > MAX_HEADER_LINE_BYTES for name, value in event.headers
        ):
            self.send_400_response("request target or header too long")
            return
        super().handle_websocket_upgrade(event)

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._deadline_passed)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        """Close unless a whole request arrived (its answer may still be in the making)."""
        self._deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return
        if self.conn.their_state is not h11.DONE:
            transport.close()
