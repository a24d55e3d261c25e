"""The workbench's actions: review findings, add a missed one, appeal, rule on an appeal, manage users.

Every action is a POST form with the session's CSRF token, checks the role and that the call is
visible to the actor, writes the change with its audit entry (``store.reviews``), and updates the
call's reviewed score. After the action the browser is sent back to the call page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from qa_pipeline.errors import QAError
from qa_pipeline.review.assign import parse_share, pick_for_review
from qa_pipeline.review.rescore import reviewed_score
from qa_pipeline.server.auth import Denied, Workbench, check_csrf, read_form, require
from qa_pipeline.server.workbench_pages import render, visible_call
from qa_pipeline.store.call_index import stored_report
from qa_pipeline.store.reviews import (
    add_finding, appeal_row, assign_calls, log_action, open_appeal, people_audit, review_state, rule_appeal, set_reviewed_score,
    set_verdict,
)
from qa_pipeline.store.users import Role, Session, add_user, list_users

REVIEWERS = frozenset({Role.REVIEWER, Role.SUPERVISOR})
AGENTS = frozenset({Role.AGENT})
SUPERVISORS = frozenset({Role.SUPERVISOR})
ASSIGNERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


def add_review_routes(app: FastAPI, wb: Workbench) -> None:
    """Verdicts, missed findings, appeals and rulings on calls; the admin's user page."""
    _add_call_actions(app, wb)
    _add_user_routes(app, wb)
    _add_assign_route(app, wb)


def _add_call_actions(app: FastAPI, wb: Workbench) -> None:
    async def action(request: Request, roles: frozenset[Role], work: Callable[[Any, Session, dict[str, str]], int]) -> Response:
        session = await run_in_threadpool(require, wb, request, roles)
        form = await read_form(request)
        check_csrf(session, form)
        row_id = await run_in_threadpool(_run, wb, session, form, work)
        return RedirectResponse(f"/calls/{row_id}", status_code=303)

    @app.post("/calls/{row_id}/findings/{finding}")
    async def verdict(row_id: int, finding: int, request: Request) -> Response:
        def work(db: Any, session: Session, form: dict[str, str]) -> int:
            report = _report(db, row_id, session)
            findings = report.get("findings", [])
            if not 0 <= finding < len(findings):
                raise Denied(404, "no such finding")
            set_verdict(db, session.user, row_id, finding, str(findings[finding].get("rule_id")),
                        form.get("verdict", ""), form.get("reason", ""))
            return row_id
        return await action(request, REVIEWERS, work)

    @app.post("/calls/{row_id}/added")
    async def added(row_id: int, request: Request) -> Response:
        def work(db: Any, session: Session, form: dict[str, str]) -> int:
            report = _report(db, row_id, session)
            check = form.get("check", "")
            if check not in report.get("checks", {}):
                raise Denied(400, f"unknown check {check!r}")
            add_finding(db, session.user, row_id, check, _seconds(form.get("at_s", "")), form.get("note", ""))
            return row_id
        return await action(request, REVIEWERS, work)

    @app.post("/calls/{row_id}/appeal")
    async def appeal(row_id: int, request: Request) -> Response:
        def work(db: Any, session: Session, form: dict[str, str]) -> int:
            report = _report(db, row_id, session)
            finding = int(form["finding"]) if form.get("finding", "").isdigit() else None
            if finding is not None and finding >= len(report.get("findings", [])):
                raise Denied(404, "no such finding")
            open_appeal(db, session.user, row_id, finding, form.get("text", ""))
            return row_id
        return await action(request, AGENTS, work)

    @app.post("/appeals/{appeal_id}/rule")
    async def rule(appeal_id: int, request: Request) -> Response:
        def work(db: Any, session: Session, form: dict[str, str]) -> int:
            row_id = appeal_row(db, appeal_id)
            if row_id is None:
                raise Denied(404, "no such appeal")
            report = _report(db, row_id, session)
            appeal = rule_appeal(db, session.user, appeal_id, form.get("ruling", ""), form.get("note", ""))
            if form.get("ruling") == "upheld" and appeal.finding is not None:
                set_verdict(db, session.user, row_id, appeal.finding,
                            str(report["findings"][appeal.finding].get("rule_id")), "overturned",
                            f"appeal {appeal_id} upheld: {form.get('note', '').strip()}")
            return row_id
        return await action(request, SUPERVISORS, work)


def _add_user_routes(app: FastAPI, wb: Workbench) -> None:
    @app.get("/admin/users")
    async def users_page(request: Request) -> Response:
        session = await run_in_threadpool(require, wb, request, ADMINS)
        users, audit = await run_in_threadpool(_users, wb)
        return render("users.html", session, users=users, audit=audit, roles=_PERSON_ROLES)

    @app.post("/admin/users")
    async def create_user(request: Request) -> Response:
        session = await run_in_threadpool(require, wb, request, ADMINS)
        form = await read_form(request)
        check_csrf(session, form)
        try:
            await run_in_threadpool(_add_user, wb, session, form)
        except QAError as error:
            users, audit = await run_in_threadpool(_users, wb)
            return render("users.html", session, status=400, users=users, audit=audit,
                          error=error.one_line(), roles=_PERSON_ROLES)
        return RedirectResponse("/admin/users", status_code=303)


def _add_assign_route(app: FastAPI, wb: Workbench) -> None:
    @app.post("/assign")
    async def assign(request: Request) -> Response:
        session = await run_in_threadpool(require, wb, request, ASSIGNERS)
        form = await read_form(request)
        check_csrf(session, form)
        day = await run_in_threadpool(_assign, wb, session, form)
        return RedirectResponse(f"/calls?date_from={day}&date_to={day}&assigned={form.get('reviewer', '')}", status_code=303)


def _assign(wb: Workbench, session: Session, form: dict[str, str]) -> str:
    """The same as ``qa review assign``, from the call list's form."""
    day, reviewer = form.get("date", ""), form.get("reviewer", "")
    try:
        datetime.strptime(day, "%Y-%m-%d")
        share = parse_share(form.get("sample", "0%") or "0%")
    except ValueError as exc:
        raise Denied(400, f"bad assignment: {exc}") from None
    with wb.db() as db:
        if reviewer not in {u.name for u in list_users(db) if u.role in REVIEWERS}:
            raise Denied(400, f"{reviewer!r} is not a reviewer or supervisor")
        assign_calls(db, session.user, pick_for_review(db, day, share, form.get("failed") == "1"), reviewer)
    return day


_PERSON_ROLES = [r for r in Role if r is not Role.CONSOLE]


def _run(wb: Workbench, session: Session, form: dict[str, str], work: Callable[..., int]) -> int:
    with wb.db() as db:
        try:
            row_id = work(db, session, form)
        except QAError as error:
            raise Denied(400, error.one_line()) from None
        report, _ = stored_report(db, row_id)
        state = review_state(db, row_id)
        set_reviewed_score(db, row_id, round(reviewed_score(report, state.verdicts, state.added, wb.policy).score, 1))
        return row_id


def _report(db: Any, row_id: int, session: Session) -> dict[str, Any]:
    visible_call(db, row_id, session)
    report, _ = stored_report(db, row_id)
    return report


def _seconds(value: str) -> float:
    try:
        if ":" in value:
            minutes, seconds = value.split(":", 1)
            return int(minutes) * 60 + float(seconds)
        return float(value)
    except ValueError:
        raise Denied(400, f"bad time {value!r}: use seconds or mm:ss") from None


def _users(wb: Workbench) -> tuple[list[Any], list[Any]]:
    with wb.db() as db:
        return list_users(db), people_audit(db)


def _add_user(wb: Workbench, session: Session, form: dict[str, str]) -> None:
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        raise QAError(f"unknown role {form.get('role')!r}") from None
    with wb.db() as db:
        user = add_user(db, form.get("username", "").strip(), role, form.get("password", ""),
                        form.get("agent_id", "").strip() or None)
        log_action(db, session.user, None, "add_user", user.name, None, {"role": user.role.value, "agent_id": user.agent_id})
