"""Command functions for ``qa batch``, ``qa report`` and ``qa export`` (registered in ``cli.py``).

Only typer and the shared CLI helpers are imported here; the batch machinery, rich and Ray are
imported inside the commands so ``qa --help`` stays light.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from qa_pipeline.cli.common import DEVICE_HELP, ChannelMode, fail, guarded, pipeline_options
from qa_pipeline.errors import QAError

if TYPE_CHECKING:
    from qa_pipeline.batch.jobs import CallOutcome
    from qa_pipeline.batch.driver import BatchProgress, BatchResult
    from qa_pipeline.store.results import ResultStore


class EngineName(str, Enum):
    local = "local"
    ray = "ray"


class ExportFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"


DbOpt = typer.Option(Path("results.sqlite"), "--db", help="The results store (SQLite).")
DateOpt = typer.Option(None, "--date", help="Only calls of this day, YYYY-MM-DD (started_at, else scoring day).")


def batch_command(
    directory: Optional[Path] = typer.Argument(
        None, help="Folder of recordings and transcript JSONs (searched recursively) or a CSV manifest."),
    db: Path = DbOpt,
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="Parallel workers, one model each (default: one per core)."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="Policy directory (default: bundled)."),
    engine: EngineName = typer.Option(EngineName.local, "--engine", help="local processes or a Ray cluster."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address",
                                              help="Ray cluster to join: 'auto' or ray://host:10001."),
    model: Optional[Path] = typer.Option(None, "--model", help="A CTranslate2 Whisper model directory."),
    beam_size: Optional[int] = typer.Option(None, "--beam-size", min=1, help="Beam size for decoding (default 1: greedy)."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
    rescore: bool = typer.Option(False, "--rescore",
                                 help="Score the transcripts stored in --db under --policy anew, without ASR."),
) -> None:
    """Score every new call under DIRECTORY into the store; re-running skips what is done.

    With --rescore (and no DIRECTORY), score the calls already in the store under another policy.
    Exit code 0 when every call was scored, 3 when some failed (listed at the end).
    """
    from qa_pipeline.batch.jobs import PipelineScorerFactory, discover_calls
    from qa_pipeline.batch.driver import run_batch
    from qa_pipeline.store.results import ResultStore

    if rescore:
        asr_flags = workers is not None or engine is not EngineName.local or ray_address or model or beam_size
        if directory is not None or asr_flags:
            raise fail(QAError("--rescore reads the transcripts in --db: give no DIRECTORY and no "
                               "--workers/--engine/--ray-address/--model/--beam-size"))
        rescore_command(db, policy)
    if directory is None:
        raise fail(QAError("give a DIRECTORY (or CSV manifest) of calls, or --rescore"))
    if ray_address and engine is not EngineName.ray:
        raise fail(QAError("--ray-address needs --engine ray"))
    jobs = guarded(lambda: discover_calls(directory))
    options = pipeline_options(model, device, ChannelMode.stereo, beam_size)
    factory = PipelineScorerFactory(policy, options, needs_model=not all(j.is_transcript for j in jobs))
    store = guarded(lambda: ResultStore(db))
    try:
        with RichBatchProgress() as hook:
            result = guarded(lambda: run_batch(jobs, store, _engine(engine, workers, ray_address), factory, hook))
        print_summary(store, result)
    finally:
        store.close()
    raise typer.Exit(result.exit_code)


def rescore_command(db: Path, policy: Optional[Path]) -> None:
    """``qa batch --rescore``: every stored transcript scored under ``policy``; exits like a batch."""
    from qa_pipeline.batch.rescore import rescore_store
    from qa_pipeline.policy.policy import load_policy

    loaded = guarded(lambda: load_policy(policy))
    with _open_existing(db) as store:
        result = guarded(lambda: rescore_store(store, loaded))
        print_summary(store, result.batch)
    console_line = (f"rescored {result.batch.scored} calls under policy {result.policy_id} in "
                    f"{result.batch.elapsed_s:.2f} s ({result.calls_per_s:.1f} calls/s, no ASR); "
                    f"{result.batch.skipped} already scored under it")
    typer.echo(console_line, err=True)
    if result.from_reports:
        typer.echo(f"note: {result.from_reports} calls were stored before transcripts were kept: rescored "
                   "from their report's utterances, without hang-up tone, hold music or full metadata",
                   err=True)
    raise typer.Exit(result.batch.exit_code)


def _engine(name: EngineName, workers: int | None, ray_address: str | None) -> Any:
    if name is EngineName.ray:
        from qa_pipeline.batch.ray_engine import RayEngine

        return RayEngine(address=ray_address, workers=workers or 0)
    from qa_pipeline.batch.driver import LocalEngine, default_workers

    return LocalEngine(workers=workers or default_workers())


class RichBatchProgress:
    """The batch hook: a rich bar with calls done/total, calls per minute, ETA and failures."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("scoring"), BarColumn(), TextColumn("{task.completed}/{task.total} calls"),
            TextColumn("{task.fields[rate]} calls/min"), TextColumn("ETA {task.fields[eta]}"),
            TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._task: Any = None

    def __enter__(self) -> "RichBatchProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def __call__(self, progress: "BatchProgress", outcome: "CallOutcome | None") -> None:
        eta = progress.eta_s()
        fields = {"rate": f"{progress.calls_per_minute():.1f}", "failed": progress.failed,
                  "eta": "–" if eta is None else f"{int(eta) // 60}:{int(eta) % 60:02d}"}
        if self._task is None:
            if progress.skipped:
                self._progress.console.print(f"{progress.found} calls found, {progress.skipped} already scored")
            self._task = self._progress.add_task("batch", total=progress.to_score, **fields)
        self._progress.update(self._task, completed=progress.done, **fields)


def print_summary(store: "ResultStore", result: "BatchResult") -> None:
    """The final table: calls, pass rate per check, mean score, agents with most violations."""
    from rich.console import Console
    from rich.table import Table

    from qa_pipeline.report.daily import daily_stats
    from qa_pipeline.report.writers import check_label

    stats = daily_stats(store.iter_calls(keys=result.keys, latest_only=False), worst=0)
    console = Console(stderr=True)
    table = Table(title="batch summary", show_header=False)
    table.add_row("calls found", str(result.found))
    table.add_row("scored now / already done", f"{result.scored} / {result.skipped}")
    table.add_row("failed", str(len(result.failures)))
    table.add_row("mean score", "–" if stats.mean_score is None else f"{stats.mean_score:.1f}")
    for check in sorted(stats.checks, key=lambda c: c.name):
        rate = check.pass_rate
        table.add_row(f"pass rate {check_label(check.name)}", "–" if rate is None else f"{100 * rate:.1f}% of {check.applicable}")
    worst = [a for a in stats.agents if a.violations][:5]
    if worst:
        table.add_row("most violations", ", ".join(f"{a.agent_id} ({a.violations})" for a in worst))
    console.print(table)
    if result.audio_s and result.elapsed_s:
        console.print(f"{result.audio_s / 60:.1f} call-minutes in {result.elapsed_s / 60:.1f} min "
                      f"({result.audio_s / result.elapsed_s:.1f}x real time)")
    for failure in result.failures:
        typer.echo(f"failed: {failure.error}", err=True)


def _open_existing(db: Path) -> "ResultStore":
    from qa_pipeline.store.results import ResultStore

    if not db.is_file():
        raise fail(QAError("results store not found", str(db)))
    return guarded(lambda: ResultStore(db))


def report_command(
    db: Path = DbOpt,
    date: Optional[str] = DateOpt,
    out: Path = typer.Option(Path("daily.html"), "--out", help="Where to write the HTML page."),
    worst: int = typer.Option(20, "--worst", min=0, help="How many lowest-scoring calls to list and link."),
) -> None:
    """Self-contained HTML daily report; the worst calls get their own pages beside it."""
    from qa_pipeline.report.daily import write_daily_report

    _check_date(date)
    with _open_existing(db) as store:
        stats = write_daily_report(store, out, date, worst)
    _add_calibration(db, out)
    typer.echo(f"wrote {out} ({stats.calls} calls)", err=True)


def _add_calibration(db: Path, out: Path) -> None:
    """The reviewers' overturn rate per check, as a section of the page and a table on stderr."""
    from qa_pipeline.report.calibration import add_calibration_section, calibration_text
    from qa_pipeline.store.reviews import calibration
    from qa_pipeline.store.workbench_db import open_workbench

    connection = guarded(lambda: open_workbench(db))
    try:
        rows = calibration(connection)
    finally:
        connection.close()
    if rows:
        out.write_text(add_calibration_section(out.read_text(encoding="utf-8"), rows), encoding="utf-8")
        typer.echo("calibration (reviewers' overturn rate per check):\n" + calibration_text(rows), err=True, nl=False)


def export_command(
    db: Path = DbOpt,
    format: ExportFormat = typer.Option(ExportFormat.csv, "--format"),
    date: Optional[str] = DateOpt,
    out: Optional[Path] = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Export the stored calls for BI tools: CSV (a column per check) or JSON Lines (with the report)."""
    from qa_pipeline.report.export import export_calls

    _check_date(date)
    with _open_existing(db) as store:
        if out is None:
            export_calls(store, format.value, sys.stdout, date)
            return
        with open(out, "w", encoding="utf-8", newline="") as handle:
            count = export_calls(store, format.value, handle, date)
    typer.echo(f"wrote {out} ({count} calls)", err=True)


def _check_date(date: str | None) -> None:
    from datetime import datetime

    if date is None:
        return
    try:
        datetime.strptime(date, "%Y-%m-%d")
    except ValueError:
        raise fail(QAError(f"--date must be YYYY-MM-DD, not {date!r}")) from None
