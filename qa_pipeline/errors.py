"""One exception hierarchy for everything the product reports to a user.

Every error carries the file (or stream) it concerns, so the CLI can print one line
``<source>: <problem>`` and exit with a non-zero code without a traceback.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class: an expected failure caused by outside data or environment."""

    exit_code = 2

    def __init__(self, problem: str, source: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.source = source

    def one_line(self) -> str:
        text = " ".join(self.problem.split())
        return f"{self.source}: {text}" if self.source else text

    def __str__(self) -> str:
        return self.one_line()


class AudioFormatError(QAError):
    """The audio is missing, empty, corrupt, or in a format we do not read."""


class MetaError(QAError):
    """A call's metadata sidecar or manifest row is unreadable or invalid."""


class PolicyError(QAError):
    """A policy file is invalid; ``source`` names ``file:line`` where known."""


class ModelUnavailableError(QAError):
    """The speech model cannot be found, joined, verified or loaded."""


class StoreError(QAError):
    """The results store cannot be opened or written."""


class StreamProtocolError(QAError):
    """A live stream sent a message that breaks the ingest protocol."""


class TranscriptFormatError(QAError):
    """A transcript JSON given as input (instead of audio) is unreadable or breaks its contract."""
