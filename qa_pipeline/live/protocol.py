"""The live ingest protocol: the start message, the stream's sample layout, hang-up messages.

Pure values and validation, shared by the session (``live.session``), the server and the tap client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from qa_pipeline.audio.io import STREAM_ENCODINGS, STREAM_SAMPLE_BYTES
from qa_pipeline.errors import MetaError, StreamProtocolError
from qa_pipeline.types import CallMeta, Party

#: WebSocket close codes the server uses (RFC 6455 section 7.4).
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_FULL = 1013

STREAM_RATES_HZ = (8000, 16000)
STREAM_CHANNELS = (1, 2)
#: Bounds of the start message's metadata fields.
MAX_TEXT_CHARS = 64
MAX_RINGS = 100
MAX_ANSWER_DELAY_S = 3600.0


@dataclass(frozen=True)
class StreamFormat:
    """The layout of the binary frames of one stream."""

    sample_rate_hz: int
    channels: int
    encoding: str

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in STREAM_RATES_HZ:
            raise ValueError(f"sample_rate_hz must be 8000 or 16000, not {self.sample_rate_hz}")
        if self.channels not in STREAM_CHANNELS:
            raise ValueError(f"channels must be 1 or 2, not {self.channels}")
        if self.encoding not in STREAM_ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(STREAM_ENCODINGS)}, not {self.encoding!r}")

    @property
    def frame_bytes(self) -> int:
        return STREAM_SAMPLE_BYTES[self.encoding] * self.channels


@dataclass(frozen=True)
class StreamStart:
    """The first message of an ingest stream: who is on the call and how the audio is laid out."""

    meta: CallMeta
    format: StreamFormat

    @classmethod
    def from_message(cls, call_id: str, message: Mapping[str, Any]) -> "StreamStart":
        """Validate a ``{"type": "start", ...}`` message; StreamProtocolError names the problem."""
        source = f"call {call_id}"
        if message.get("type") != "start":
            raise StreamProtocolError("the first message must be {\"type\": \"start\", ...}", source)
        try:
            fmt = StreamFormat(
                sample_rate_hz=_int_field(message, "sample_rate_hz"),
                channels=_int_field(message, "channels"),
                encoding=str(message.get("encoding", "")),
            )
            meta = CallMeta.from_dict({"call_id": call_id, **_meta_fields(message)}, source)
        except ValueError as exc:
            raise StreamProtocolError(f"bad start message: {exc}", source) from None
        except MetaError as exc:
            raise StreamProtocolError(f"bad start message: {exc.problem}", source) from None
        return cls(meta, fmt)


def _meta_fields(message: Mapping[str, Any]) -> dict[str, Any]:
    """The call metadata of a start message, each field checked (ValueError names the first bad one)."""
    return {
        "agent_id": _text_field(message, "agent_id"),
        "queue": _text_field(message, "queue"),
        "direction": _text_field(message, "direction"),
        "started_at": _timestamp_field(message, "started_at"),
        "rings": _number_field(message, "rings", MAX_RINGS, whole=True),
        "answer_delay_s": _number_field(message, "answer_delay_s", MAX_ANSWER_DELAY_S, whole=False),
    }


def _text_field(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS or not value.isprintable():
        raise ValueError(f"{key} must be a string of at most {MAX_TEXT_CHARS} printable characters")
    return value


def _timestamp_field(message: Mapping[str, Any], key: str) -> str | None:
    value = _text_field(message, key)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} must be an ISO 8601 time like 2026-11-21T09:30:00+08:00") from None
    return value


def _number_field(message: Mapping[str, Any], key: str, maximum: float, whole: bool) -> float | int | None:
    value = message.get(key)
    if value is None:
        return None
    kind = "a whole number" if whole else "a number"
    wrong_type = isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int))
    if wrong_type or not 0 <= value <= maximum:  # NaN and infinities fail the comparison too
        raise ValueError(f"{key} must be {kind} from 0 to {maximum:g}")
    return value


def _int_field(message: Mapping[str, Any], key: str) -> int:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    return value


def parse_party(message: Mapping[str, Any], call_id: str) -> Party:
    """The party of a ``{"type": "hangup", "party": ...}`` message."""
    party = message.get("party")
    if party not in (Party.AGENT.value, Party.CUSTOMER.value):
        raise StreamProtocolError(f"hangup party must be 'agent' or 'customer', not {party!r}", f"call {call_id}")
    return Party(party)


def stream_chunks(frames_bytes: bytes, frame_bytes: int, chunk_s: float, sample_rate_hz: int) -> list[bytes]:
    """Split raw interleaved bytes into chunks of ``chunk_s`` of audio (whole frames)."""
    if chunk_s <= 0:
        raise ValueError("chunk_s must be positive")
    step = max(1, int(chunk_s * sample_rate_hz)) * frame_bytes
    return [frames_bytes[i : i + step] for i in range(0, len(frames_bytes), step)]
