"""The review workbench's pages: login, the call list, the call page with its audio, calibration.

Every page and the audio check the session and the role (``server.auth``); an agent sees only
calls with their own ``agent_id``. Pages are Jinja2 templates in ``server/pages`` (autoescaped).
Store work runs in the thread pool so the live server's event loop never waits on SQLite.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any, Callable
from urllib.parse import quote, urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from qa_pipeline.server.audio import range_response, served_audio
from qa_pipeline.server.auth import (
    LOGIN_CSRF_COOKIE, SESSION_COOKIE, Denied, Workbench, check_csrf, check_login_csrf, login_csrf, read_form,
    require, start_session,
)
from qa_pipeline.server.call_view import build_call_view
from qa_pipeline.store.call_index import CallFilter, get_indexed, list_calls, may_see, stored_report, sync_index
from qa_pipeline.store.recordings import recording_path
from qa_pipeline.store.reviews import calibration, review_state
from qa_pipeline.store.users import Role, Session, authenticate, end_session, list_users
from qa_pipeline.text.pii import mask_text

STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.REVIEWER})
PEOPLE = STAFF | {Role.AGENT}
_STATIC = {"workbench.css": "text/css", "workbench.js": "text/javascript"}
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
}
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("qa_pipeline.server", "pages"), autoescape=True,
                          undefined=jinja2.StrictUndefined)
_ENV.filters["mmss"] = lambda s: "—" if s is None else f"{int(float(s)) // 60:02d}:{float(s) % 60:04.1f}"


def render(name: str, session: Session | None, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("error", None)
    page = _ENV.get_template(name).render(session=session, **context)
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def denied_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, Denied):
        raise exc
    path = request.url.path
    if exc.status == 401 and request.method == "GET" and not path.startswith("/api/") and not path.endswith("/audio"):
        return RedirectResponse("/login?" + urlencode({"next": path}), status_code=303)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


def call_filter(request: Request) -> CallFilter:
    q = request.query_params

    def number(key: str) -> float | None:
        return float(q[key]) if q.get(key) else None

    try:
        return CallFilter(
            date_from=q.get("date_from") or None, date_to=q.get("date_to") or None, agent_id=q.get("agent") or None,
            queue=q.get("queue") or None, direction=q.get("direction") or None, failed_check=q.get("failed") or None,
            score_min=number("score_min"), score_max=number("score_max"), review_status=q.get("status") or None,
            assigned_to=q.get("assigned") or None, query=q.get("q") or None, sort=q.get("sort") or "date",
            descending=q.get("order", "desc") != "asc", page=int(q.get("page") or 1),
            page_size=int(q.get("size") or 50))
    except ValueError as exc:
        raise Denied(400, f"bad filter: {exc}") from None


async def in_pool(fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)


def add_workbench_pages(app: FastAPI, wb: Workbench) -> None:
    """Login and logout, the call list (page and JSON), the call page, its audio, calibration, assets."""
    app.add_exception_handler(Denied, denied_handler)
    _add_login_routes(app, wb)
    _add_call_routes(app, wb)


def _add_login_routes(app: FastAPI, wb: Workbench) -> None:
    @app.get("/login")
    async def login_page(request: Request) -> Response:
        csrf = login_csrf(request)
        response = render("login.html", None, csrf=csrf, next=request.query_params.get("next", "/calls"), error=None)
        response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", max_age=3600,
                            secure=request.url.scheme == "https")
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        check_login_csrf(request, form)
        name, target = form.get("username", "").strip(), _safe_next(form.get("next", ""))
        outcome = await in_pool(_authenticate, wb, name, form.get("password", ""))
        if outcome.user is None:
            await asyncio.sleep(min(2.0, 0.2 * outcome.failures))  # slows guessing before the lock
            locked = outcome.locked_until > 0
            error = "尝试次数过多，账户已暂时锁定 · too many attempts: account locked, try later" if locked else \
                "用户名或密码错误 · wrong user name or password"
            return render("login.html", None, status=429 if locked else 401, csrf=form.get("csrf", ""),
                          next=target, error=error)
        response = RedirectResponse(target, status_code=303)
        await in_pool(start_session, wb, request, response, outcome.user)
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        session = await in_pool(require, wb, request)
        check_csrf(session, await read_form(request))
        await in_pool(_end, wb, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _add_call_routes(app: FastAPI, wb: Workbench) -> None:
    @app.get("/calls")
    async def calls_page(request: Request) -> Response:
        session = await in_pool(require, wb, request, PEOPLE)
        wanted = call_filter(request)
        page, checks = await in_pool(_list, wb, wanted, session)
        shown = {**request.query_params, "q": mask_text(request.query_params.get("q", ""))}  # never echo a number
        reviewers = await in_pool(_reviewers, wb, session)
        return render("calls.html", session, page=page, checks=checks, query=shown, reviewers=reviewers,
                      page_link=lambda n: "/calls?" + urlencode({**shown, "page": n}))

    @app.get("/api/calls")
    async def calls_api(request: Request) -> Response:
        session = await in_pool(require, wb, request, PEOPLE)
        page, _ = await in_pool(_list, wb, call_filter(request), session)
        return JSONResponse({"total": page.total, "calls": [
            {**c.__dict__, "failed_checks": list(c.failed_checks)} for c in page.calls]}, headers={"Cache-Control": "no-store"})

    @app.get("/calls/{row_id}")
    async def call_page(row_id: int, request: Request) -> Response:
        session = await in_pool(require, wb, request, PEOPLE)
        context = await in_pool(_call_context, wb, row_id, session)
        return render("call.html", session, **context)

    @app.get("/calls/{row_id}/audio")
    async def call_audio(row_id: int, request: Request) -> Response:
        session = await in_pool(require, wb, request, PEOPLE)
        audio = await in_pool(_audio, wb, row_id, session)
        return range_response(audio, request.headers.get("range"))

    @app.get("/calibration")
    async def calibration_page(request: Request) -> Response:
        session = await in_pool(require, wb, request, STAFF)
        rows = await in_pool(_calibration, wb)
        return render("calibration.html", session, rows=rows)

    @app.get("/wb/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            return JSONResponse({"detail": "not found"}, status_code=404)
        body = resources.files("qa_pipeline.server").joinpath("pages", name).read_text(encoding="utf-8")
        return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})


def _safe_next(target: str) -> str:
    """Only a local path: never redirect to another site after login."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/calls"
    return quote(target, safe="/?=&%-_.")


def _authenticate(wb: Workbench, name: str, password: str) -> Any:
    with wb.db() as db:
        return authenticate(db, name, password, wb.login)


def _end(wb: Workbench, session_id: str | None) -> None:
    with wb.db() as db:
        end_session(db, session_id)


def _list(wb: Workbench, wanted: CallFilter, session: Session) -> tuple[Any, list[str]]:
    with wb.db() as db:
        sync_index(db)
        checks = [r[0] for r in db.execute("SELECT DISTINCT name FROM checks ORDER BY name")]
        return list_calls(db, wanted, session.user), checks


def _reviewers(wb: Workbench, session: Session) -> list[str]:
    """Who calls can be assigned to (only supervisors and admins see the assignment form)."""
    if session.user.role not in (Role.SUPERVISOR, Role.ADMIN):
        return []
    with wb.db() as db:
        return [u.name for u in list_users(db) if u.role in (Role.REVIEWER, Role.SUPERVISOR)]


def visible_call(db: Any, row_id: int, session: Session) -> Any:
    """The indexed call if ``session`` may see it; 404 otherwise (another agent's call does not exist for them)."""
    sync_index(db)
    call = get_indexed(db, row_id)
    if call is None or not may_see(session.user, call):
        raise Denied(404, "no such call")
    return call


def _call_context(wb: Workbench, row_id: int, session: Session) -> dict[str, Any]:
    with wb.db() as db:
        call = visible_call(db, row_id, session)
        report, source = stored_report(db, row_id)
        state = review_state(db, row_id)
        sha = db.execute("SELECT audio_sha256 FROM calls WHERE id=?", (row_id,)).fetchone()[0]
    view = build_call_view(report, state, wb.policy)
    has_audio = recording_path(wb.db_path, source, sha) is not None
    return {"call": call, "view": view, "state": state, "has_audio": has_audio, "error": None,
            "policy_id": str(report.get("policy_id") or ""), "current_policy": wb.policy.policy_id}


def _audio(wb: Workbench, row_id: int, session: Session) -> Any:
    with wb.db() as db:
        visible_call(db, row_id, session)
        report, source = stored_report(db, row_id)
        sha = db.execute("SELECT audio_sha256 FROM calls WHERE id=?", (row_id,)).fetchone()[0]
    recording = recording_path(wb.db_path, source, sha)
    if recording is None:
        raise Denied(404, "the recording of this call is not available")
    return served_audio(recording, report)


def _calibration(wb: Workbench) -> list[Any]:
    with wb.db() as db:
        return calibration(db)
