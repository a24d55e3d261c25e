"""Read call recordings and live PCM streams into float32 channels at the analysis rate.

``load_call_audio`` decodes a file once (WAV PCM / G.711 mu-law / A-law, FLAC, OGG, MP3 via
soundfile), checks it, splits it into role-labelled channels and resamples them with soxr.
Every problem with the file becomes one ``AudioFormatError`` naming the file; no soundfile
traceback escapes. ``decode_stream_bytes`` and ``StreamResampler`` serve the live path.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import soxr

from qa_pipeline.config import AudioOptions
from qa_pipeline.errors import AudioFormatError
from qa_pipeline.types import AudioClip, Role, Span

logger = logging.getLogger(__name__)

#: File name endings of the recordings we read (batch discovery and qa eval look for these).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
#: The one table of live stream encodings: name -> soundfile subtype of the same samples, bytes per sample.
STREAM_SUBTYPES = {"pcm16": "PCM_16", "mulaw": "ULAW", "alaw": "ALAW"}
STREAM_SAMPLE_BYTES = {"pcm16": 2, "mulaw": 1, "alaw": 1}
STREAM_ENCODINGS = tuple(STREAM_SUBTYPES)
# WAV format tags libsndfile decodes (PCM, ADPCM, float, A-law, mu-law, GSM, G.721, extensible).
_KNOWN_WAV_TAGS = frozenset({0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011, 0x0031, 0x0040, 0xFFFE})
_SOXR_QUALITY = "HQ"
# Codecs libsndfile recognises but cannot read from a WAV here (it reports them as not seekable).
_UNSEEKABLE_CODECS = {"GSM610": "GSM 6.10", "G721_32": "G.721 ADPCM", "G723_24": "G.723 ADPCM",
                      "G723_40": "G.723 ADPCM", "NMS_ADPCM_16": "NMS ADPCM", "NMS_ADPCM_24": "NMS ADPCM",
                      "NMS_ADPCM_32": "NMS ADPCM"}


@dataclass(frozen=True, eq=False)
class CallAudio:
    """A decoded call: one float32 mono array in [-1, 1] per output channel."""

    source: str
    source_rate_hz: int
    source_channels: int
    sample_rate_hz: int
    channels: tuple[np.ndarray, ...]
    roles: tuple[Role, ...]

    @property
    def duration_s(self) -> float:
        if not self.channels:
            return 0.0
        return len(self.channels[0]) / self.sample_rate_hz


def load_call_audio(path: str | Path, options: AudioOptions = AudioOptions()) -> CallAudio:
    """Decode ``path`` into role-labelled channels at ``options.target_rate_hz``.

    Raises ``AudioFormatError(problem, str(path))`` for anything we cannot read.
    """
    path = Path(path)
    source = str(path)
    _check_file(path)
    data, rate_hz = _decode(path, options)
    roles = channel_roles(data.shape[1], options, source)
    channels = tuple(_resample(ch, rate_hz, options.target_rate_hz) for ch in split_channels(data, roles))
    return CallAudio(
        source=source,
        source_rate_hz=rate_hz,
        source_channels=data.shape[1],
        sample_rate_hz=options.target_rate_hz,
        channels=channels,
        roles=roles,
    )


def _check_file(path: Path) -> None:
    source = str(path)
    if not path.exists():
        raise AudioFormatError("audio file not found", source)
    if not path.is_file():
        raise AudioFormatError("not a regular file", source)
    try:
        size_bytes = path.stat().st_size
    except OSError as exc:
        raise AudioFormatError(f"cannot read audio file ({exc.strerror})", source) from None
    if size_bytes == 0:
        raise AudioFormatError("audio file is empty (0 bytes)", source)


def _decode(path: Path, options: AudioOptions) -> tuple[np.ndarray, int]:
    """All frames as float32 (frames, channels), and the file's sample rate."""
    source = str(path)
    try:
        # Bytes, so a file name that is not UTF-8 still opens.
        with _decoder_notes_to_log(path), sf.SoundFile(os.fsencode(path)) as handle:
            rate_hz = handle.samplerate
            if handle.subtype in _UNSEEKABLE_CODECS:
                raise AudioFormatError(
                    f"unsupported audio codec ({_UNSEEKABLE_CODECS[handle.subtype]}); use PCM, mu-law or A-law",
                    source)
            _check_layout(rate_hz, handle.channels, options, source)
            _check_duration(handle.frames, rate_hz, options, source)
            data = handle.read(dtype="float32", always_2d=True)
            is_float = handle.subtype in ("FLOAT", "DOUBLE")
    except sf.LibsndfileError as exc:
        raise AudioFormatError(_explain(path, exc.code, exc.error_string), source) from None
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFormatError(f"cannot decode audio ({exc})", source) from None
    except OSError as exc:
        raise AudioFormatError(f"cannot read audio file ({exc.strerror or exc})", source) from None
    except MemoryError:
        raise AudioFormatError("not enough memory to decode this recording", source) from None
    if data.shape[0] == 0:
        raise AudioFormatError("audio has no samples (valid header, zero length)", source)
    return _sane_samples(data, is_float, source), rate_hz


@contextlib.contextmanager
def _decoder_notes_to_log(path: Path) -> Iterator[None]:
    """libmpg123 writes "Note: Illegal Audio-MPEG-Header…" straight to file descriptor 2; for an MP3,
    catch those lines and log them at debug level, so a bad file still gives one error line."""
    if path.suffix.lower() != ".mp3":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as notes:
        os.dup2(notes.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            notes.seek(0)
            text = notes.read(4096).decode("utf-8", "replace").strip()
            if text:
                logger.debug("decoder notes on %s: %s", path, text)


def _check_duration(frames: int, rate_hz: int, options: AudioOptions, source: str) -> None:
    duration_s = frames / rate_hz if rate_hz > 0 else 0.0
    if duration_s > options.max_duration_s:
        raise AudioFormatError(
            f"recording is {duration_s / 3600:.1f} h long; at most {options.max_duration_s / 3600:.1f} h "
            "is supported (split it into calls)", source)


def _sane_samples(data: np.ndarray, is_float: bool, source: str) -> np.ndarray:
    """Float recordings may hold NaN/inf (silenced) or be scaled beyond [-1, 1] (brought back)."""
    if not is_float:
        return data
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        logger.warning("%s: %d samples are NaN or infinite; they are read as silence", source, bad)
        data = np.where(finite, data, np.float32(0.0))
        if not np.isfinite(data).any() or not data.any():
            raise AudioFormatError("audio holds no valid samples (NaN or infinite)", source)
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if peak > 1.0:
        logger.warning("%s: float samples reach %.1f (full scale is 1.0); scaled down", source, peak)
        data = (data / np.float32(peak)).astype(np.float32, copy=False)
    return data


def _explain(path: Path, code: int, detail: str) -> str:
    """Plain words for a libsndfile failure (its own wording goes to the debug log)."""
    logger.debug("libsndfile error %d on %s: %s", code, path, detail)
    tag = _wav_format_tag(path)
    if tag is not None and tag not in _KNOWN_WAV_TAGS:
        return f"unsupported audio codec (WAV format tag 0x{tag:04X}); use PCM, mu-law or A-law"
    lowered = detail.lower()
    if "unimplemented" in lowered or "unsupported" in lowered or "not supported" in lowered:
        return "unsupported audio codec"
    if "system error" in lowered:
        return "cannot read audio file (permission or I/O error)"
    if "format not recognised" in lowered and not _looks_like_riff(path):
        if path.stat().st_size < 64:
            return "not an audio file, or its header is truncated"
        return "not a recognised audio file (expected WAV, FLAC, OGG or MP3)"
    return "corrupt or truncated audio header"


def _looks_like_riff(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) in (b"RIFF", b"RF64")
    except OSError:
        return False


def _wav_format_tag(path: Path) -> int | None:
    """The WAVE ``fmt `` format tag, if the file is a RIFF/WAVE file whose fmt chunk we can see."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 10 <= len(head):
        chunk_id = head[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", head, offset + 4)
        if chunk_id == b"fmt ":
            return struct.unpack_from("<H", head, offset + 8)[0]
        offset += 8 + chunk_size + (chunk_size & 1)
    return None


def _check_layout(rate_hz: int, n_channels: int, options: AudioOptions, source: str) -> None:
    if not options.min_rate_hz <= rate_hz <= options.max_rate_hz:
        raise AudioFormatError(
            f"sample rate {rate_hz} Hz is outside the supported "
            f"{options.min_rate_hz}-{options.max_rate_hz} Hz",
            source,
        )
    if n_channels > options.max_channels:
        raise AudioFormatError(
            f"{n_channels} channels; at most {options.max_channels} are supported "
            "(stereo agent/customer or mono)",
            source,
        )


def channel_roles(n_channels: int, options: AudioOptions, source: str) -> tuple[Role, ...]:
    """The role of each output channel: one MIXED channel for mono audio (or ``channel_mode``
    mono or diarize: mixed down, then separated by ``pipeline``), else one per input channel from ``options.channel_roles``. Files and live streams alike."""
    if n_channels == 1 or options.channel_mode in ("mono", "diarize"):
        return (Role.MIXED,)
    if n_channels > len(options.channel_roles):
        raise AudioFormatError(
            f"{n_channels} channels but only {len(options.channel_roles)} channel roles configured",
            source,
        )
    return tuple(options.channel_roles[:n_channels])


def split_channels(frames: np.ndarray, roles: tuple[Role, ...]) -> tuple[np.ndarray, ...]:
    """Frames (samples x channels) -> one contiguous float32 array per role (mixed down for MIXED)."""
    if roles == (Role.MIXED,):
        mixed = frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]
        return (np.ascontiguousarray(mixed, dtype=np.float32),)
    return tuple(np.ascontiguousarray(frames[:, i], dtype=np.float32) for i in range(len(roles)))


def _resample(samples: np.ndarray, in_rate_hz: int, out_rate_hz: int) -> np.ndarray:
    if in_rate_hz == out_rate_hz:
        return samples
    out = soxr.resample(samples, in_rate_hz, out_rate_hz, quality=_SOXR_QUALITY)
    return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)


def decode_stream_bytes(data: bytes, encoding: str, channels: int) -> np.ndarray:
    """Interleaved raw stream bytes -> float32 array of shape (frames, channels).

    ``encoding`` is "pcm16" (little-endian), "mulaw" or "alaw". Raises ``ValueError`` for an
    unknown encoding or a byte count that is not a whole number of frames.
    """
    if encoding not in STREAM_SUBTYPES:
        raise ValueError(f"encoding must be one of {STREAM_ENCODINGS}, not {encoding!r}")
    if channels < 1:
        raise ValueError("channels must be >= 1")
    frame_bytes = STREAM_SAMPLE_BYTES[encoding] * channels
    if len(data) % frame_bytes:
        raise ValueError(
            f"{len(data)} bytes is not a whole number of {encoding} frames "
            f"({frame_bytes} bytes each for {channels} channel(s))"
        )
    if not data:
        return np.zeros((0, channels), dtype=np.float32)
    # The rate does not change the decoding of raw samples; soundfile just requires one.
    decoded, _ = sf.read(
        io.BytesIO(data),
        format="RAW",
        subtype=STREAM_SUBTYPES[encoding],
        endian="LITTLE",
        samplerate=8000,
        channels=channels,
        dtype="float32",
        always_2d=True,
    )
    return decoded


class StreamResampler:
    """Chunk-by-chunk resampling of one mono stream (soxr); identity when the rates match."""

    def __init__(self, in_rate_hz: int, out_rate_hz: int) -> None:
        if in_rate_hz <= 0 or out_rate_hz <= 0:
            raise ValueError("sample rates must be positive")
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self._stream = (
            None
            if in_rate_hz == out_rate_hz
            else soxr.ResampleStream(in_rate_hz, out_rate_hz, 1, dtype="float32", quality=_SOXR_QUALITY)
        )

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Resample the next chunk; output may lag the input by the filter delay."""
        chunk = np.ascontiguousarray(samples, dtype=np.float32)
        if chunk.ndim != 1:
            raise ValueError("StreamResampler takes 1-D mono samples")
        if self._stream is None:
            return chunk
        return self._stream.resample_chunk(chunk)

    def flush(self) -> np.ndarray:
        """The samples still held in the filter; call once at the end of the stream."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        return self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def clip_bounds_s(span: Span, pad_ms: int, total_s: float) -> Span:
    """The stretch of audio sent to ASR for ``span``: padded, clamped to the recording (batch and live)."""
    pad_s = pad_ms / 1000.0
    return Span(max(0.0, span.start_s - pad_s), min(total_s, span.end_s + pad_s))


def cut_clip(samples: np.ndarray, sample_rate_hz: int, bounds: Span) -> AudioClip:
    start = int(round(bounds.start_s * sample_rate_hz))
    end = int(round(bounds.end_s * sample_rate_hz))
    return AudioClip(np.ascontiguousarray(samples[start:end], dtype=np.float32), sample_rate_hz)
