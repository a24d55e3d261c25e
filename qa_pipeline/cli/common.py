"""What every command line entry point shares: logging, option building, errors, progress.

Kept apart from ``cli.py`` so the commands stay one small function each, and so the
batch and live command modules build their options exactly the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import typer

from qa_pipeline.config import AsrOptions, AudioOptions, PipelineOptions
from qa_pipeline.errors import QAError
from qa_pipeline.hooks import Hook

T = TypeVar("T")

#: Exit codes: 0 ok, 2 bad input or environment (one line on stderr), 3 some calls failed.
EXIT_BAD_INPUT = 2
EXIT_SOME_FAILED = 3


DEVICE_HELP = "cpu, or cuda on a GPU machine (float16 weights there, int8 on the CPU)."


class ChannelMode(str, Enum):
    stereo = "stereo"
    mono = "mono"
    diarize = "diarize"


def configure_logging(verbose: bool = False) -> None:
    """Entry points only: our own log lines on stderr; jieba and friends kept quiet."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("jieba", "faster_whisper", "ctranslate2", "httpx", "urllib3"):
        # A filter, not only a level: jieba resets its logger to DEBUG (with its own stderr
        # handler) when it is first imported, which happens after this runs.
        logger = logging.getLogger(noisy)
        logger.setLevel(logging.ERROR)
        logger.addFilter(_errors_only)


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


def pipeline_options(
    model: Path | None = None,
    device: str = "cpu",
    channels: ChannelMode = ChannelMode.stereo,
    beam_size: int | None = None,
    cpu_threads: int = 0,
) -> PipelineOptions:
    """PipelineOptions from the flags every transcribing command takes."""
    base = PipelineOptions()
    asr = replace(
        base.asr,
        model_path=str(model) if model else os.environ.get("QA_MODEL_PATH") or None,
        device=device,
        compute_type="int8" if device == "cpu" else "float16",
        cpu_threads=cpu_threads,
        beam_size=beam_size if beam_size is not None else base.asr.beam_size,
    )
    audio: AudioOptions = replace(base.audio, channel_mode=channels.value)
    return replace(base, asr=asr, audio=audio)


def make_recognizer(options: AsrOptions):
    """The faster-whisper recognizer (imported here so ``qa --help`` stays light)."""
    from qa_pipeline.asr.factory import build_recognizer

    return build_recognizer(options)


def fail(error: QAError) -> typer.Exit:
    """Print the one-line reason and return the Exit to raise."""
    typer.echo(f"error: {error.one_line()}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; an expected failure becomes one line on stderr and exit code 2."""
    try:
        return action()
    except QAError as error:
        raise fail(error) from None


def require_file(path: Path) -> Path:
    if not path.exists():
        raise fail(QAError("file not found", str(path)))
    if path.is_dir():
        raise fail(QAError("is a directory, expected an audio file", str(path)))
    return path


class ProgressHook:
    """A rich progress bar on stderr for calls longer than a minute.

    The pipeline announces the decoded length as step "audio" (milliseconds);
    ASR progress then moves the bar. Short calls show nothing.
    """

    def __init__(self, min_duration_s: float = 60.0) -> None:
        self.min_duration_s = min_duration_s
        self._progress = None
        self._task = None

    def __call__(self, step: str, completed: int, total: int) -> None:
        if step == "audio" and total / 1000.0 > self.min_duration_s:
            self._start(total / 1000.0)
        elif step == "asr" and self._progress is not None:
            self._progress.update(self._task, completed=completed, total=max(total, 1))

    def _start(self, duration_s: float) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn(f"transcribing {duration_s:.0f} s of audio"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} utterances"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("asr", total=None)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextlib.contextmanager
def progress_hook() -> Iterator[Hook]:
    """``with progress_hook() as hook:`` — the bar is closed however the block ends."""
    hook = ProgressHook()
    try:
        yield hook
    finally:
        hook.close()


@contextlib.contextmanager
def count_progress(label: str, unit: str) -> Iterator[Hook]:
    """A rich bar on stderr counting the units of a long command (``hook(step, done, total)``).

    Shown from the first call of the hook (``done`` may be 0); closed however the block ends.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeElapsedColumn(),
        console=Console(stderr=True), transient=False,
    )
    task = progress.add_task(label, total=None)

    def hook(step: str, completed: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=completed, total=max(total, 1))

    try:
        yield hook
    finally:
        progress.stop()
