"""The live server's HTTP and WebSocket routes, and who may use them.

Ingest needs the ingest token; the console page, its assets, the call list, stored reports
and the console event socket need the console token as a Bearer header, or a session
(``server.auth``): ``/?token=…`` exchanges the token once for a session cookie and redirects to
``/``, so the token leaves the address bar; a logged-in supervisor, reviewer or admin may use
the console too. Wrong tokens lock the client's address out for a while
(``security.FailedAttempts``); the console event socket also refuses pages of other origins.
``server.create_app`` adds these routes to its app.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any, Callable, Iterable, Protocol

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from qa_pipeline.live.protocol import CLOSE_POLICY
from qa_pipeline.server.auth import CONSOLE_USER, Workbench, console_allowed, start_session
from qa_pipeline.server.calls import ConsoleHub, LiveCall
from qa_pipeline.server.security import FailedAttempts, Refusal, inline_script_csp, same_origin, token_ok


class Served(Protocol):
    """What the routes need of the server (``app.LiveServer``), so this module never imports it."""

    config: Any
    failed_attempts: FailedAttempts
    hub: ConsoleHub
    calls: dict[str, LiveCall]
    recent: Iterable[dict[str, Any]]

    @property
    def accepting(self) -> bool: ...

    async def ingest(self, ws: WebSocket, call_id: str) -> None: ...

    async def report_html(self, row_id: int) -> str | None: ...

_CONSOLE_FILES = {"console.js": "text/javascript", "console.css": "text/css"}


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def check_token(server: Served, conn: Request | WebSocket, given: str | None, expected: str,
                reason: str) -> Refusal | None:
    """None when ``given`` is the expected token and the client's address is not locked out."""
    address = conn.client.host if conn.client else "unknown"
    attempts = server.failed_attempts
    wait_s = attempts.retry_after_s(address)
    if wait_s > 0:
        wait = math.ceil(wait_s)
        return Refusal(429, f"too many failed token attempts from this address; retry in {wait} s", wait)
    if token_ok(given, expected):
        attempts.succeeded(address)
        return None
    if given is not None:
        attempts.failed(address)
    return Refusal(401, reason)


def refusal_response(refusal: Refusal) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status_code == 401 else {"Retry-After": str(refusal.retry_after_s)}
    return JSONResponse({"detail": refusal.reason}, status_code=refusal.status_code, headers=headers)


def add_routes(app: FastAPI, server: Served, workbench: Workbench) -> None:
    """Health, ingest, the console (``_add_console``), live calls, stored reports, console events."""
    token = server.config.console_token

    def refused(conn: Request | WebSocket) -> Refusal | None:
        """None for a console session (a workbench login or an exchanged token) or the Bearer token."""
        if console_allowed(workbench, conn, False):
            return None
        return check_token(server, conn, bearer_token(conn.headers.get("authorization")), token,
                           "unauthorized: console token or a console session required")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        ok = server.accepting
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    @app.websocket("/v1/calls/{call_id}/stream")
    async def ingest(ws: WebSocket, call_id: str) -> None:
        await server.ingest(ws, call_id)

    _add_console(app, server, workbench, refused)

    @app.get("/v1/calls")
    async def calls(request: Request) -> JSONResponse:
        if refusal := refused(request):
            return refusal_response(refusal)
        return JSONResponse(server.hub.snapshot(server.calls.values(), server.recent))

    @app.get("/v1/reports/{row_id}")
    async def report(row_id: int, request: Request) -> Response:
        if refusal := refused(request):
            return refusal_response(refusal)
        page = await server.report_html(row_id)
        if page is None:
            return JSONResponse({"detail": "no such report"}, status_code=404)
        return HTMLResponse(page, headers={"Content-Security-Policy": inline_script_csp(page)})

    @app.websocket("/v1/console/events")
    async def console_events(ws: WebSocket) -> None:
        await ws.accept()
        reason = "origin not allowed: open the console from this server" if not same_origin(ws.headers) else None
        if reason is None and (refusal := refused(ws)):
            reason = refusal.reason
        if reason is not None:
            try:
                await ws.close(CLOSE_POLICY, reason)
            except WebSocketDisconnect:
                pass  # the page left before hearing why
            return
        await server.hub.serve(ws, server.calls.values(), server.recent)


def _add_console(app: FastAPI, server: Served, workbench: Workbench,
                 refused: Callable[[Request | WebSocket], Refusal | None]) -> None:
    """The console page (with its one-time token exchange), its session and its files."""
    token = server.config.console_token

    @app.get("/")
    async def console(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:  # the one-time exchange: token in, session cookie out, token off the URL
            if refusal := check_token(server, request, given, token, "unauthorized: console token required"):
                return refusal_response(refusal)
            response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
            start_session(workbench, request, response, CONSOLE_USER)
            return response
        if refusal := refused(request):
            return refusal_response(refusal)
        page = resources.files("qa_pipeline.server").joinpath("console", "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.post("/console/session")
    async def console_session(request: Request) -> Response:
        if refusal := check_token(server, request, bearer_token(request.headers.get("authorization")), token,
                                  "unauthorized: console token required"):
            return refusal_response(refusal)
        response = JSONResponse({"status": "ok"})
        start_session(workbench, request, response, CONSOLE_USER)
        return response

    @app.get("/console/{name}")
    async def console_file(name: str, request: Request) -> Response:
        if refusal := refused(request):
            return refusal_response(refusal)
        if name not in _CONSOLE_FILES:
            return JSONResponse({"detail": "not found"}, status_code=404)
        body = resources.files("qa_pipeline.server").joinpath("console", name).read_text(encoding="utf-8")
        return Response(body, media_type=_CONSOLE_FILES[name])
