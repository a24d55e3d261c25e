"""Where a stored call's recording is: a batch call's ``source`` path, or a live call's WAV beside the store."""

from __future__ import annotations

from pathlib import Path

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def live_audio_dir(db_path: Path) -> Path:
    """Where live calls' recordings are kept: ``NAME.audio/`` beside the store ``NAME.sqlite``."""
    return db_path.with_name(db_path.stem + ".audio")


def recording_path(db_path: Path, source: str, audio_sha256: str) -> Path | None:
    """The recording a stored call came from, if it still exists (never a path from a request)."""
    if source.startswith("live:"):
        path = live_audio_dir(db_path) / f"{audio_sha256}.wav"
    else:
        path = Path(source)
    return path if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file() else None
