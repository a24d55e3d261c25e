"""``qa tap``: stream a recording to the live server as if it were a call in progress.

The recording is sent in its own telephone encoding when it is 8/16 kHz PCM16, μ-law or
A-law (what telephony would send); anything else is decoded and sent as 16 kHz PCM16.
Messages from the server (utterances, alerts, the final score) go to a callback with the
wall-clock time they arrived, which is what the latency benchmark measures.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qa_pipeline.audio.io import STREAM_SUBTYPES
from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.errors import AudioFormatError, QAError
from qa_pipeline.live.protocol import STREAM_RATES_HZ, StreamFormat, stream_chunks
from qa_pipeline.types import CallMeta, Party

_ENCODINGS = {subtype: encoding for encoding, subtype in STREAM_SUBTYPES.items()}

#: ``on_message(message, arrived_monotonic_s)``
MessageCallback = Callable[[dict[str, Any], float], None]


class TapRefused(QAError):
    """The server closed the stream before the call was scored (the reason is its close reason)."""


@dataclass(frozen=True, eq=False)
class Recording:
    """A recording as raw interleaved stream bytes."""

    source: str
    format: StreamFormat
    data: bytes

    @property
    def duration_s(self) -> float:
        return len(self.data) / self.format.frame_bytes / self.format.sample_rate_hz


@dataclass
class TapResult:
    messages: list[dict[str, Any]] = field(default_factory=list)
    arrivals_s: list[float] = field(default_factory=list)
    started_s: float = 0.0
    close_code: int | None = None
    close_reason: str = ""

    @property
    def scored(self) -> dict[str, Any] | None:
        return next((m for m in self.messages if m.get("type") == "scored"), None)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]


def load_recording(path: Path) -> Recording:
    """Read ``path`` into stream bytes; AudioFormatError on anything unreadable."""
    import soundfile as sf

    path = Path(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        # load_call_audio explains unreadable files in plain words.
        load_call_audio(path)
        raise AudioFormatError(f"cannot read audio: {exc}", str(path)) from None
    encoding = _ENCODINGS.get(info.subtype)
    if encoding and info.samplerate in STREAM_RATES_HZ and info.channels in (1, 2):
        samples, rate_hz = sf.read(str(path), dtype="float32", always_2d=True)
    else:
        audio = load_call_audio(path)
        samples, rate_hz, encoding = np.stack(audio.channels, axis=1), audio.sample_rate_hz, "pcm16"
    if len(samples) == 0:
        raise AudioFormatError("the recording holds no audio", str(path))
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate_hz, format="RAW", subtype=STREAM_SUBTYPES[encoding])
    return Recording(str(path), StreamFormat(rate_hz, samples.shape[1], encoding), buffer.getvalue())


def start_message(recording: Recording, meta: CallMeta) -> dict[str, Any]:
    return {
        "type": "start",
        "agent_id": meta.agent_id,
        "direction": meta.direction.value if meta.direction else None,
        "queue": meta.queue,
        "started_at": meta.started_at,
        "sample_rate_hz": recording.format.sample_rate_hz,
        "channels": recording.format.channels,
        "encoding": recording.format.encoding,
    }


def stream_url(server: str, call_id: str) -> str:
    base = server.rstrip("/")
    for plain, secure in (("http://", "ws://"), ("https://", "wss://")):
        if base.startswith(plain):
            base = secure + base[len(plain):]
    if not base.startswith(("ws://", "wss://")):
        raise ValueError(f"server URL must start with http(s):// or ws(s)://, not {server!r}")
    return f"{base}/v1/calls/{call_id}/stream"


async def tap_call(
    server: str,
    token: str,
    recording: Recording,
    meta: CallMeta,
    call_id: str,
    speed: float = 1.0,
    chunk_ms: int = 20,
    on_message: MessageCallback | None = None,
    stop_after_s: float | None = None,
) -> TapResult:
    """Stream ``recording`` paced at ``speed`` x real time; returns every message the server sent.

    ``stop_after_s`` drops the connection after that much audio without ending the call
    (a client dying mid-call). Raises TapRefused when the server closes before scoring.
    """
    import websockets

    if speed <= 0:
        raise ValueError("speed must be positive")
    result = TapResult()
    headers = {"Authorization": f"Bearer {token}"}
    url = stream_url(server, call_id)
    try:
        async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
            result.started_s = time.monotonic()
            receiver = asyncio.create_task(_receive(ws, result, on_message))
            await ws.send(json.dumps(start_message(recording, meta)))
            completed = await _send_audio(ws, recording, speed, chunk_ms, stop_after_s, receiver)
            if not completed:
                receiver.cancel()
                return result
            if meta.hangup_by in (Party.AGENT, Party.CUSTOMER):
                await ws.send(json.dumps({"type": "hangup", "party": meta.hangup_by.value}))
            await ws.send(json.dumps({"type": "end"}))
            await receiver
            result.close_code, result.close_reason = ws.close_code, ws.close_reason or ""
    except websockets.ConnectionClosed as closed:
        result.close_code = closed.rcvd.code if closed.rcvd else None
        result.close_reason = closed.rcvd.reason if closed.rcvd else ""
    except (OSError, websockets.InvalidHandshake) as exc:
        raise TapRefused(f"cannot connect: {exc}", url) from None
    if result.scored is None:
        raise TapRefused(f"server closed the stream ({result.close_code}): {result.close_reason}", url)
    return result


async def _send_audio(ws: Any, recording: Recording, speed: float, chunk_ms: int,
                      stop_after_s: float | None, receiver: asyncio.Task[None]) -> bool:
    fmt = recording.format
    chunk_s = chunk_ms / 1000.0
    start = time.monotonic()
    for index, chunk in enumerate(stream_chunks(recording.data, fmt.frame_bytes, chunk_s, fmt.sample_rate_hz)):
        if stop_after_s is not None and index * chunk_s >= stop_after_s:
            ws.transport.abort()  # vanish without a close handshake, like a crashed client
            return False
        if receiver.done():
            return True  # the server closed the stream; the receiver holds the reason
        due = start + index * chunk_s / speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(chunk)
    return True


async def _receive(ws: Any, result: TapResult, on_message: MessageCallback | None) -> None:
    import websockets

    try:
        async for raw in ws:
            if not isinstance(raw, str):
                continue
            arrived_s = time.monotonic()
            message = json.loads(raw)
            result.messages.append(message)
            result.arrivals_s.append(arrived_s)
            if on_message is not None:
                on_message(message, arrived_s)
    except websockets.ConnectionClosed:
        pass
    result.close_code, result.close_reason = ws.close_code, ws.close_reason or ""


def format_message(message: dict[str, Any]) -> str | None:
    """One line for the terminal (texts arrive masked from the server)."""
    kind = message.get("type")
    if kind == "alert":
        at = message.get("start_s")
        when = "--:--.-" if at is None else _clock(at)
        return f"[{when}] ALERT {message['severity']} {message['check']}: {message['message']}  「{message['text']}」"
    if kind == "hangup":
        return f"[{_clock(message['time_s'])}] {message['party']} hung up ({message['method']})"
    if kind == "scored":
        state = " (incomplete)" if message.get("incomplete") else ""
        failed = ", ".join(message.get("failed_checks") or ()) or "none"
        return f"scored {message['score']}{state}; failed checks: {failed}; report: {message.get('report_url')}"
    return None


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"
