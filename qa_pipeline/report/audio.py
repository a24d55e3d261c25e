"""The audio a report page plays, with the spoken customer numbers redacted.

A masked report (``*`` in its words) gets a copy of the recording whose masked spans are a tone
(``qa_pipeline.audio.redact``): embedded as a ``data:`` URI when small enough, else written beside the
page under a name made from its hash (so a phone number in the recording's file name never reaches
the page). An unmasked report (``--no-mask``) plays the original.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

from qa_pipeline.audio.redact import RedactOptions, redact_file
from qa_pipeline.text.pii import mask_identifier, masked_audio_spans

#: Files written beside report pages are readable by the owner and the group only.
PAGE_FILE_MODE = 0o640


def redacted_audio_source(report: Mapping[str, Any], audio_path: Path, html_dir: Path | None,
                          max_embed_bytes: int, options: RedactOptions = RedactOptions()) -> str | None:
    """A ``src`` for the page's player, or None when nothing needs hiding (play the original).

    Something needs hiding when the report masks a spoken number or the file name holds one.
    """
    if not needs_redaction(report, audio_path):
        return None
    data = redacted_call_audio(report, audio_path, options)
    mime = "audio/flac" if options.format.upper() == "FLAC" else "audio/wav"
    if len(data) <= max_embed_bytes or html_dir is None:
        return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    name = f"audio-{hashlib.sha256(data).hexdigest()[:16]}.{options.format.lower()}"
    write_private_bytes(html_dir / name, data)
    return name


def redacted_call_audio(report: Mapping[str, Any], audio_path: Path,
                        options: RedactOptions = RedactOptions()) -> bytes:
    """The one call for anything that plays a call (report pages, the review workbench): the recording
    encoded as ``options.format`` with the spans the masked ``report`` hides replaced by a tone.

    ``report`` is the masked report dict (``mask_report_dict``); an unmasked one hides nothing.
    """
    return redact_file(audio_path, masked_audio_spans(report), options)


def needs_redaction(report: Mapping[str, Any], audio_path: Path) -> bool:
    """True when the masked report hides a spoken number or the file name holds one."""
    return bool(masked_audio_spans(report)) or mask_identifier(audio_path.name) != audio_path.name


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` created with ``PAGE_FILE_MODE`` (not world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PAGE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, PAGE_FILE_MODE)


__all__ = ["PAGE_FILE_MODE", "needs_redaction", "redacted_audio_source", "redacted_call_audio", "write_private_bytes"]
