"""The live server's HTTP and WebSocket routes, and who may use them.

Ingest needs the ingest token; the console page, its assets, the call list, stored reports
and the console event socket need the console token as a Bearer header, or a session
(``server.auth``): ``/?token=…`` exchanges the token once for a session cookie and redirects to
``/``, so the token leaves the address bar; a logged-in supervisor, reviewer or admin may use
the console too. ``server.create_app`` adds these routes to its app.
"""

from __future__ import annotations

import hmac
from importlib import resources
from typing import Any, Iterable, Protocol

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from qa_pipeline.live.protocol import CLOSE_POLICY
from qa_pipeline.server.auth import CONSOLE_USER, Workbench, console_allowed, start_session
from qa_pipeline.server.calls import ConsoleHub, LiveCall


class Served(Protocol):
    """What the routes need of the server (``app.LiveServer``), so this module never imports it."""

    config: Any
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


def token_ok(given: str | None, expected: str) -> bool:
    """Constant-time comparison; no token is never ok."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def add_routes(app: FastAPI, server: Served, workbench: Workbench) -> None:
    """Health, ingest, console page and assets, live calls, stored reports, console events."""
    token = server.config.console_token
    unauthorized = JSONResponse({"detail": "unauthorized: console token required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})

    def allowed(request: Request | WebSocket) -> bool:
        return console_allowed(workbench, request, token_ok(bearer_token(request.headers.get("authorization")), token))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        ok = server.accepting
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    @app.websocket("/v1/calls/{call_id}/stream")
    async def ingest(ws: WebSocket, call_id: str) -> None:
        await server.ingest(ws, call_id)

    @app.get("/")
    async def console(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:  # the one-time exchange: token in, session cookie out, token off the URL
            if not token_ok(given, token):
                return unauthorized
            response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
            start_session(workbench, request, response, CONSOLE_USER)
            return response
        if not allowed(request):
            return unauthorized
        page = resources.files("qa_pipeline.server").joinpath("console", "index.html").read_text(encoding="utf-8")
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.post("/console/session")
    async def console_session(request: Request) -> Response:
        if not token_ok(bearer_token(request.headers.get("authorization")), token):
            return unauthorized
        response = JSONResponse({"status": "ok"})
        start_session(workbench, request, response, CONSOLE_USER)
        return response

    @app.get("/console/{name}")
    async def console_file(name: str, request: Request) -> Response:
        if not allowed(request):
            return unauthorized
        if name not in _CONSOLE_FILES:
            return JSONResponse({"detail": "not found"}, status_code=404)
        body = resources.files("qa_pipeline.server").joinpath("console", name).read_text(encoding="utf-8")
        return Response(body, media_type=_CONSOLE_FILES[name])

    @app.get("/v1/calls")
    async def calls(request: Request) -> JSONResponse:
        if not allowed(request):
            return unauthorized
        return JSONResponse(server.hub.snapshot(server.calls.values(), server.recent))

    @app.get("/v1/reports/{row_id}")
    async def report(row_id: int, request: Request) -> Response:
        if not allowed(request):
            return unauthorized
        page = await server.report_html(row_id)
        if page is None:
            return JSONResponse({"detail": "no such report"}, status_code=404)
        return HTMLResponse(page)

    @app.websocket("/v1/console/events")
    async def console_events(ws: WebSocket) -> None:
        await ws.accept()
        if not allowed(ws):
            await ws.close(CLOSE_POLICY, "unauthorized: console token required")
            return
        await server.hub.serve(ws, server.calls.values(), server.recent)
