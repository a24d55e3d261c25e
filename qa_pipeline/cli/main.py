"""``qa`` — the command line. One small function per command; the work lives elsewhere.

Heavy modules (faster-whisper, jieba, the server) are imported inside the commands so
``qa --help`` answers at once.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from qa_pipeline import __version__
from qa_pipeline.errors import QAError
from qa_pipeline.cli.common import (
    DEVICE_HELP,
    ChannelMode,
    configure_logging,
    count_progress,
    fail,
    guarded,
    make_recognizer,
    pipeline_options,
    progress_hook,
    require_file,
)

app = typer.Typer(
    name="qa",
    help="Speech and script QA for bank customer-service calls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"qa_pipeline {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Speech and script QA for bank customer-service calls."""


policy_app = typer.Typer(help="Inspect and validate policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


class TranscriptFormat(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"


MetaOpt = typer.Option(None, "--meta", help="Telephony metadata JSON (default: NAME.meta.json beside the audio).")
ModelOpt = typer.Option(None, "--model", help="A CTranslate2 Whisper model directory (default: bundled Whisper base).")
DeviceOpt = typer.Option("cpu", "--device", help=DEVICE_HELP)
ChannelsOpt = typer.Option(
    ChannelMode.stereo, "--channels",
    help="stereo: ch0 agent, ch1 customer, a 1-channel file separated into agent and customer; "
    "mono: one mixed role; diarize: mix down and separate the two voices (also a stereo file).",
)
BeamOpt = typer.Option(None, "--beam-size", min=1, help="Beam size for decoding (default 1, greedy; 5 reads slightly better and is ~2.7x slower).")
NoMaskOpt = typer.Option(False, "--no-mask", help="Show card, ID and phone numbers unmasked (authorised use only).")
PolicyOpt = typer.Option(None, "--policy", help="Policy directory (default: the bundled bank policy).")


def _meta(call: Path, meta: Optional[Path]):
    from qa_pipeline.pipeline import find_meta
    from qa_pipeline.types import CallMeta

    return guarded(lambda: CallMeta.load(meta) if meta else find_meta(call))


@app.command()
def transcribe(
    call: Path = typer.Argument(..., help="Call recording (WAV/FLAC/OGG/MP3)."),
    meta: Optional[Path] = MetaOpt,
    format: TranscriptFormat = typer.Option(TranscriptFormat.text, "--format"),
    model: Optional[Path] = ModelOpt,
    device: str = DeviceOpt,
    channels: ChannelMode = ChannelsOpt,
    beam_size: Optional[int] = BeamOpt,
    no_mask: bool = NoMaskOpt,
) -> None:
    """Role-labelled transcript of one call."""
    from qa_pipeline.text.pii import mask_transcript
    from qa_pipeline.pipeline import transcribe_call
    from qa_pipeline.report.writers import format_transcript_text
    from qa_pipeline.text.transcript_io import transcript_to_dict

    require_file(call)
    call_meta = _meta(call, meta)
    options = pipeline_options(model, device, channels, beam_size)
    recognizer = make_recognizer(options.asr)
    with progress_hook() as hook:
        transcript = guarded(lambda: transcribe_call(call, call_meta, recognizer, options, hook))
    if format is TranscriptFormat.json:
        shown = transcript if no_mask else mask_transcript(transcript)
        typer.echo(json.dumps(transcript_to_dict(shown), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_transcript_text(transcript, mask_pii=not no_mask), nl=False)


@app.command()
def audit(
    call: Path = typer.Argument(..., help="Call recording (WAV/FLAC/OGG/MP3) or transcript JSON (NAME.json)."),
    meta: Optional[Path] = MetaOpt,
    policy: Optional[Path] = PolicyOpt,
    format: ReportFormat = typer.Option(ReportFormat.text, "--format"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the report here instead of stdout."),
    model: Optional[Path] = ModelOpt,
    device: str = DeviceOpt,
    channels: ChannelMode = ChannelsOpt,
    beam_size: Optional[int] = BeamOpt,
    no_mask: bool = NoMaskOpt,
) -> None:
    """Check one call against the service standard: evidence for every check, and a score.

    A transcript JSON (the shape `qa transcribe --format json` writes) is checked without ASR.
    """
    from qa_pipeline.pipeline import audit_call, audit_transcript
    from qa_pipeline.rules.run import load_checked_policy
    from qa_pipeline.report.output import write_report
    from qa_pipeline.text.transcript_io import is_transcript_path

    require_file(call)
    call_meta = _meta(call, meta)
    from_text = is_transcript_path(call)
    if from_text and (model is not None or beam_size is not None or channels is not ChannelMode.stereo):
        raise fail(QAError("--model, --beam-size and --channels apply to audio; no ASR runs on a transcript",
                           str(call)))
    loaded_policy = guarded(lambda: load_checked_policy(policy))
    if from_text:
        report = guarded(lambda: audit_transcript(call, call_meta, loaded_policy))
    else:
        options = pipeline_options(model, device, channels, beam_size)
        recognizer = make_recognizer(options.asr)
        with progress_hook() as hook:
            report = guarded(lambda: audit_call(call, call_meta, loaded_policy, options, recognizer, hook))
    audio_path = None if from_text else call
    data = report.to_dict()
    if out is None:
        write_report(data, format.value, sys.stdout, audio_path=audio_path, mask_pii=not no_mask)
        return
    with open(out, "w", encoding="utf-8") as handle:
        write_report(data, format.value, handle, audio_path=audio_path, mask_pii=not no_mask)
    typer.echo(f"wrote {out}", err=True)


@app.command("eval")
def eval_(
    directory: Path = typer.Argument(..., help="Directory of NAME.wav + NAME.truth.json (+ NAME.meta.json)."),
    policy: Optional[Path] = PolicyOpt,
    format: TranscriptFormat = typer.Option(TranscriptFormat.text, "--format"),
    model: Optional[Path] = ModelOpt,
    device: str = DeviceOpt,
    beam_size: Optional[int] = BeamOpt,
    hotwords: bool = typer.Option(
        False, "--hotwords", help="Bias Whisper with the policy's key phrases (measured worse on the dev calls; off by default)."
    ),
) -> None:
    """Calibrate: audit labelled calls and compare every check with the labels."""
    from dataclasses import replace

    from qa_pipeline.eval.run import run_eval
    from qa_pipeline.rules.run import load_checked_policy

    if not directory.is_dir():
        raise fail_dir(directory)
    options = pipeline_options(model, device, ChannelMode.stereo, beam_size)
    if hotwords:
        phrases = guarded(lambda: load_checked_policy(policy)).hotwords()
        options = replace(options, asr=replace(options.asr, hotwords=phrases))
    with count_progress("auditing labelled calls", "calls") as hook:
        result = guarded(lambda: run_eval(directory, policy, options, make_recognizer(options.asr), hook))
    from qa_pipeline.eval.evaluate import format_eval_text

    if format is TranscriptFormat.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_eval_text(result))


@policy_app.command("check")
def policy_check(directory: Path = typer.Argument(..., help="Policy directory to validate.")) -> None:
    """Validate a policy directory; every problem is reported as file:line."""
    from qa_pipeline.rules.run import check_policy_dir

    problems = check_policy_dir(directory)
    for problem in problems:
        typer.echo(f"error: {problem.one_line()}", err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"{directory}: policy OK")


def _register_other_commands() -> None:
    """Batch and live commands live in their own modules; their heavy imports stay inside them."""
    from qa_pipeline.cli import batch as batch_cli
    from qa_pipeline.cli import live as live_cli
    from qa_pipeline.cli import review as review_cli

    app.command("batch")(batch_cli.batch_command)
    app.command("report")(batch_cli.report_command)
    app.command("export")(batch_cli.export_command)
    app.command("serve")(live_cli.serve)
    app.command("tap")(live_cli.tap)
    app.add_typer(review_cli.user_app, name="user")
    app.add_typer(review_cli.review_app, name="review")


_register_other_commands()


def fail_dir(directory: Path) -> typer.Exit:
    return fail(QAError("not a directory", str(directory)))


#: Exit code of a bug (an unexpected exception): one line, and the traceback only with QA_DEBUG=1.
EXIT_INTERNAL_ERROR = 1


def main() -> None:
    configure_logging()
    os.umask(0o027)  # stores, reports and pages we create are never world-readable
    try:
        app()
    except QAError as error:  # a library error that escaped a command's guard
        typer.echo(f"error: {error.one_line()}", err=True)
        sys.exit(2)
    except PermissionError as exc:
        typer.echo(f"error: {exc.filename or 'file'}: permission denied", err=True)
        sys.exit(2)
    except RecursionError:
        typer.echo("error: input nested too deeply", err=True)
        sys.exit(2)
    except MemoryError:
        typer.echo("error: out of memory (is the input far larger than a call?)", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if os.environ.get("QA_DEBUG") == "1":
            raise
        typer.echo(f"error: internal error: {type(exc).__name__}: {exc} (QA_DEBUG=1 shows the traceback)",
                   err=True)
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
