"""Recordings of live calls, kept beside the store so the workbench can play their evidence.

While a call streams, its raw frames are appended to ``NAME.audio/<call>.part``; once the call is
stored, they become ``NAME.audio/<audio sha256>.wav`` (16-bit PCM; the store finds it by the sha).
A dropped or refused call leaves nothing behind. Recordings older than the retention are deleted
at start-up and after each stored call; ``retention_days=0`` keeps no live audio at all.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import soundfile as sf

from qa_pipeline.audio.io import decode_stream_bytes
from qa_pipeline.live.protocol import StreamFormat
from qa_pipeline.store.recordings import live_audio_dir

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveAudioOptions:
    retention_days: float = 90.0  # 0: keep no live audio

    def __post_init__(self) -> None:
        if self.retention_days < 0:
            raise ValueError("retention_days must be >= 0")


class LiveRecordings:
    """Per-call raw files while calls stream; WAV files once they are scored."""

    def __init__(self, db_path: Path, options: LiveAudioOptions) -> None:
        self.directory = live_audio_dir(db_path)
        self.options = options
        self._open: dict[str, tuple[BinaryIO, StreamFormat]] = {}

    @property
    def enabled(self) -> bool:
        return self.options.retention_days > 0

    def start(self, call_id: str, fmt: StreamFormat) -> None:
        if not self.enabled:
            return
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self._open[call_id] = (open(self.directory / f"{call_id}.part", "wb"), fmt)

    def write(self, call_id: str, data: bytes) -> None:
        entry = self._open.get(call_id)
        if entry is not None:
            entry[0].write(data)

    def keep(self, call_id: str, audio_sha256: str) -> Path | None:
        """Turn the call's raw frames into ``<sha>.wav`` (runs in the store's thread)."""
        entry = self._open.pop(call_id, None)
        if entry is None:
            return None
        handle, fmt = entry
        handle.close()
        part = Path(handle.name)
        data = part.read_bytes()
        data = data[: len(data) - len(data) % fmt.frame_bytes]
        target = self.directory / f"{audio_sha256}.wav"
        frames = decode_stream_bytes(data, fmt.encoding, fmt.channels)
        sf.write(str(target), frames, fmt.sample_rate_hz, subtype="PCM_16")
        os.chmod(target, 0o600)
        part.unlink(missing_ok=True)
        self.sweep()
        return target

    def discard(self, call_id: str) -> None:
        entry = self._open.pop(call_id, None)
        if entry is not None:
            entry[0].close()
            Path(entry[0].name).unlink(missing_ok=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete kept recordings older than the retention; returns how many."""
        if not self.directory.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.options.retention_days * 86400.0
        removed = 0
        for path in self.directory.glob("*.wav"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.info("deleted %d live recordings older than %g days", removed, self.options.retention_days)
        return removed
