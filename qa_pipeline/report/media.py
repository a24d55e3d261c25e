"""The audio a report page plays: embedded, linked relatively, or copied beside the page.

``page_audio`` is the one place a page's recording is chosen and written: redaction of the
spoken customer numbers (``audio/redact.py``) plugs in here, so every page plays the same audio.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote
from qa_pipeline.report.audio import needs_redaction, redacted_call_audio, write_private_bytes

MAX_EMBED_BYTES = 12_000_000
AUDIO_MIME_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
}


def audio_source(audio_path: Path, html_dir: Path | None, max_embed_bytes: int = MAX_EMBED_BYTES) -> str:
    """A ``data:`` URI for a small file, else a relative link (``html_dir`` or the working dir)."""
    mime = AUDIO_MIME_TYPES.get(audio_path.suffix.lower(), "application/octet-stream")
    try:
        size = audio_path.stat().st_size
    except OSError:
        size = None
    if size is not None and size <= max_embed_bytes:
        return f"data:{mime};base64," + base64.b64encode(audio_path.read_bytes()).decode("ascii")
    base = html_dir if html_dir is not None else Path.cwd()
    relative = os.path.relpath(audio_path.resolve(), base.resolve())
    return "/".join(quote(part) for part in Path(relative).parts)


def page_audio(source: Path, report: Mapping[str, Any], folder: Path, name: str) -> Path | None:
    """The recording a page saved in ``folder`` will play, written to ``folder/audio/``.

    Kept inside the pages' folder and linked relatively, it still plays when the folder is
    moved or copied. ``None`` when the recording is gone. ``report`` is what redaction needs
    (its word timings locate the masked numbers).
    """
    if not source.is_file():
        return None
    target = folder / "audio" / f"{name}{source.suffix.lower()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if needs_redaction(report, source):  # spoken numbers become a tone (report.audio)
        target = target.with_suffix(".flac")
        write_private_bytes(target, redacted_call_audio(report, source))
        return target
    shutil.copyfile(source, target)
    return target


__all__ = ["AUDIO_MIME_TYPES", "MAX_EMBED_BYTES", "audio_source", "page_audio"]
