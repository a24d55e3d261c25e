"""``qa user add`` and ``qa review assign|export``: the workbench's people and review queue.

Registered by ``cli.main``; heavy imports stay inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from qa_pipeline.cli.common import fail, guarded
from qa_pipeline.errors import QAError

user_app = typer.Typer(help="People of the review workbench.", no_args_is_help=True)
review_app = typer.Typer(help="Review queue and reviewed labels.", no_args_is_help=True)
DbOpt = typer.Option(Path("results.sqlite"), "--db", help="Results store (shared with qa batch and qa serve).")


def _workbench(db: Path, must_exist: bool = True):
    from qa_pipeline.store.workbench_db import open_workbench

    if must_exist and not db.is_file():
        raise fail(QAError("results store not found", str(db)))
    return guarded(lambda: open_workbench(db))


def _cli_actor():
    from qa_pipeline.store.users import Role, User

    return User("cli", Role.ADMIN, None)


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="admin, supervisor, reviewer or agent."),
    agent_id: Optional[str] = typer.Option(None, "--agent-id", help="For an agent: the agent_id their calls carry."),
    db: Path = DbOpt,
) -> None:
    """Add a user; the password is read from standard input (one line)."""
    from qa_pipeline.store.reviews import log_action
    from qa_pipeline.store.users import Role, add_user

    try:
        chosen = Role(role)
    except ValueError:
        raise fail(QAError(f"unknown role {role!r}: use admin, supervisor, reviewer or agent")) from None
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    connection = _workbench(db, must_exist=False)
    try:
        user = guarded(lambda: add_user(connection, name, chosen, password, agent_id))
        log_action(connection, _cli_actor(), None, "add_user", user.name, None,
                   {"role": user.role.value, "agent_id": user.agent_id})
    finally:
        connection.close()
    typer.echo(f"added {user.role.value} {user.name}", err=True)


@review_app.command("assign")
def review_assign(
    date: str = typer.Option(..., "--date", help="Day of the calls (YYYY-MM-DD)."),
    reviewer: str = typer.Option(..., "--reviewer", help="The reviewer (or supervisor) to queue them for."),
    sample: str = typer.Option("0%", "--sample", help="Share of the passed calls to add at random, e.g. 5%."),
    failed: bool = typer.Option(False, "--failed", help="Queue every call with a failed check."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed for a reproducible sample."),
    db: Path = DbOpt,
) -> None:
    """Queue a day's calls for a reviewer: failed calls and a random sample of passed ones."""
    from datetime import datetime

    from qa_pipeline.review.assign import parse_share, pick_for_review
    from qa_pipeline.store.reviews import assign_calls
    from qa_pipeline.store.users import list_users

    try:
        datetime.strptime(date, "%Y-%m-%d")
        share = parse_share(sample)
    except ValueError as exc:
        raise fail(QAError(f"bad option: {exc}")) from None
    connection = _workbench(db)
    try:
        roles = {u.name: u.role.value for u in list_users(connection)}
        if roles.get(reviewer) not in ("reviewer", "supervisor"):
            raise fail(QAError(f"{reviewer!r} is not a reviewer or supervisor of this store", str(db)))
        chosen = pick_for_review(connection, date, share, failed, seed)
        added = assign_calls(connection, _cli_actor(), chosen, reviewer)
    finally:
        connection.close()
    failed_count = sum(1 for _, reason in chosen if reason == "failed")
    typer.echo(f"assigned {added} calls to {reviewer} ({failed_count} failed, {len(chosen) - failed_count} sampled)", err=True)


@review_app.command("export")
def review_export(
    directory: Path = typer.Argument(..., help="Where to write NAME.truth.json (+ the recording and its meta)."),
    db: Path = DbOpt,
) -> None:
    """Reviewed calls as NAME.truth.json labels, ready for `qa eval DIR`."""
    from qa_pipeline.review.export import export_reviewed

    connection = _workbench(db)
    try:
        written = guarded(lambda: export_reviewed(connection, db, directory))
    finally:
        connection.close()
    typer.echo(f"wrote {written.labels} labels to {directory} ({written.missing_audio} without their recording)", err=True)
