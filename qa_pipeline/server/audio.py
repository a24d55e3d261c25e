"""Call audio for the workbench: where a call's recording is, what is served of it, and byte ranges.

The recording is found from the store (``store.recordings``), never from a path in the request. Everything played goes through
``served_audio``: the one place where audio redaction (masking spoken numbers) plugs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from fastapi.responses import Response
from qa_pipeline.report.audio import needs_redaction, redacted_call_audio

_MEDIA_TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ServedAudio:
    data: bytes
    media_type: str


def served_audio(recording: Path, report: Mapping[str, Any]) -> ServedAudio:
    """What the browser receives for a call: the recording's bytes.

    ``report`` is the stored (masked) report, whose utterance and word times say where the spoken
    card, ID and phone numbers are; audio redaction (``audio.redact``) is applied here.
    """
    if needs_redaction(report, recording):
        return ServedAudio(redacted_call_audio(report, recording), "audio/flac")
    return ServedAudio(recording.read_bytes(), _MEDIA_TYPES[recording.suffix.lower()])


def range_response(audio: ServedAudio, range_header: str | None) -> Response:
    """200 with the whole body, 206 with one requested byte range, or 416."""
    size = len(audio.data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if not range_header:
        return Response(audio.data, media_type=audio.media_type, headers=headers)
    match = _RANGE_RE.match(range_header.strip())
    if match is None or match.groups() == ("", ""):
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(size - 1, int(last)) if last else size - 1
    if start >= size or start > end:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(audio.data[start:end + 1], status_code=206, media_type=audio.media_type, headers=headers)
