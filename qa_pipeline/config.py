"""Frozen option dataclasses, shared by ``qa audit``, ``qa batch`` and ``qa serve``.

Override with ``dataclasses.replace``; each class validates itself in ``__post_init__``
so an invalid combination is rejected once, where it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.types import Role


@dataclass(frozen=True)
class AudioOptions:
    """How a recording is read and split into channels."""

    target_rate_hz: int = 16000
    # Role of each channel of a stereo file, in channel order.
    channel_roles: tuple[Role, ...] = (Role.AGENT, Role.CUSTOMER)
    # "stereo": one role per channel; "mono": mix down and label everything Role.MIXED.
    channel_mode: str = "stereo"
    min_rate_hz: int = 4000
    max_rate_hz: int = 192000
    max_channels: int = 2

    def __post_init__(self) -> None:
        if self.channel_mode not in ("stereo", "mono"):
            raise ValueError(f"channel_mode must be 'stereo' or 'mono', not {self.channel_mode!r}")
        if self.target_rate_hz not in (8000, 16000, 32000, 48000):
            raise ValueError("target_rate_hz must be one webrtcvad accepts (8/16/32/48 kHz)")
        if len(self.channel_roles) < 1:
            raise ValueError("channel_roles needs at least one role")


@dataclass(frozen=True)
class VadOptions:
    """webrtcvad with hysteresis: a window of frames opens and closes an utterance."""

    aggressiveness: int = 2
    frame_ms: int = 30
    # An utterance opens when this share of the last ``start_window_ms`` frames is voiced...
    start_window_ms: int = 240
    start_ratio: float = 0.6
    # ...and closes after this much continuous non-speech. 800 ms bridges the pauses between
    # sentences of one turn (bench/boundaries.py: 98.4% of dev turns within 0.3 s, 87.6% at
    # 600 ms) while keeping the live path quick to close an utterance.
    end_silence_ms: int = 800
    # Extra audio kept on each side when the utterance is sent to ASR.
    pad_ms: int = 150
    min_utterance_ms: int = 200
    max_utterance_s: float = 25.0
    # Frames quieter than this never count as speech (line noise sits near -55 dBFS).
    energy_floor_dbfs: float = -45.0

    def __post_init__(self) -> None:
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError("aggressiveness must be 0..3")
        if self.frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30 (webrtcvad)")
        if not 0.0 < self.start_ratio <= 1.0:
            raise ValueError("start_ratio must be in (0, 1]")
        if self.max_utterance_s > 29.0:
            raise ValueError("max_utterance_s must stay under Whisper's 30 s window")


@dataclass(frozen=True)
class ToneOptions:
    """The disconnect (busy) tone that replaces a party's channel after it hangs up."""

    frequency_hz: float = 450.0
    on_s: float = 0.35
    off_s: float = 0.35
    # Minimum number of on-bursts in a row to call it a tone.
    min_bursts: int = 2
    # Share of the burst's energy that must sit within +-tolerance of the frequency.
    min_energy_share: float = 0.6
    tolerance_hz: float = 25.0


@dataclass(frozen=True)
class AsrOptions:
    """faster-whisper settings. ``model_path`` None means the bundled Whisper base."""

    model_path: str | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    language: str = "zh"
    # Greedy decoding: on the dev calls it keeps every check at 100% agreement (qa eval) and is
    # about 2.7x faster than beam 5, at ~1.7 points more agent CER (14.0% vs 12.3%). One default for
    # audit, batch and live, so the three paths reach the same findings; --beam-size 5 for the
    # most readable transcripts.
    beam_size: int = 1
    initial_prompt: str | None = None
    hotwords: str | None = None
    # Utterances are packed into windows of at most this length, separated by silence gaps.
    pack_window_s: float = 28.0
    pack_gap_s: float = 0.6
    word_timestamps: bool = True

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError("beam_size must be >= 1")
        if not 1.0 <= self.pack_window_s <= 30.0:
            raise ValueError("pack_window_s must be within Whisper's 30 s window")

    @property
    def model_id(self) -> str:
        return self.model_path or "whisper-base-ct2"


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that turns audio into a transcript, in one value."""

    audio: AudioOptions = field(default_factory=AudioOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    tone: ToneOptions = field(default_factory=ToneOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
