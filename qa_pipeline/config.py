"""Frozen option dataclasses, shared by ``qa audit``, ``qa batch`` and ``qa serve``.

Override with ``dataclasses.replace``; each class validates itself in ``__post_init__``
so an invalid combination is rejected once, where it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.types import Role


CHANNEL_MODES = ("stereo", "mono", "diarize")


@dataclass(frozen=True)
class AudioOptions:
    """How a recording is read and split into channels."""

    target_rate_hz: int = 16000
    # Role of each channel of a stereo file, in channel order.
    channel_roles: tuple[Role, ...] = (Role.AGENT, Role.CUSTOMER)
    # "stereo": one role per channel (a 1-channel file is separated into two speakers);
    # "mono": mix down and label everything Role.MIXED; "diarize": mix down and separate the
    # two speakers (``SpeakerOptions``), also on a stereo file.
    channel_mode: str = "stereo"
    min_rate_hz: int = 4000
    max_rate_hz: int = 192000
    max_channels: int = 2
    # Longer recordings are refused with a clear error (an 18-hour file ran out of memory).
    max_duration_s: float = 4 * 3600.0

    def __post_init__(self) -> None:
        if not self.max_duration_s > 0:
            raise ValueError("max_duration_s must be > 0")
        if self.channel_mode not in CHANNEL_MODES:
            raise ValueError(f"channel_mode must be one of {CHANNEL_MODES}, not {self.channel_mode!r}")
        if self.target_rate_hz not in (8000, 16000, 32000, 48000):
            raise ValueError("target_rate_hz must be one webrtcvad accepts (8/16/32/48 kHz)")
        if len(self.channel_roles) < 1:
            raise ValueError("channel_roles needs at least one role")

    def separates(self, source_channels: int) -> bool:
        """Whether speech is split into two speakers: a 1-channel source unless the mode is
        "mono"; any source in "diarize" mode."""
        return self.channel_mode == "diarize" or (self.channel_mode == "stereo" and source_channels == 1)


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
class SpeakerOptions:
    """Separating two voices on one channel (``audio.speakers``) and naming them (``text.roles``)."""

    # MFCC analysis: 25 ms frames every 10 ms over the telephone band.
    frame_ms: int = 25
    hop_ms: int = 10
    n_mels: int = 24
    n_ceps: int = 19
    fmin_hz: float = 250.0
    fmax_hz: float = 3600.0
    # Pitch (log F0) from 40 ms frames; a frame is voiced when its autocorrelation peak holds
    # this share of its energy.
    pitch_frame_ms: int = 40
    voicing_threshold: float = 0.5
    use_pitch: bool = False
    # Frames this far under the call's median speech level are pauses, not voice.
    quiet_below_db: float = 35.0
    # Window vectors for the first clustering.
    # 3 s: a window's mean and spread of MFCCs then describe the voice more than the words
    # (1 s windows clustered by phonetic content in our trials).
    window_s: float = 3.0
    window_hop_s: float = 1.0
    min_window_frames: int = 30
    min_windows: int = 6
    # One Gaussian mixture per voice, refitted on its own frame labels this many times.
    gmm_components: int = 8
    refits: int = 1
    fit_max_frames: int = 8000
    # Viterbi over frame ratios: per-frame ratios are scaled (frames overlap, so they are not
    # independent) and every change of voice costs ``switch_cost`` nats.
    llr_scale: float = 0.15
    switch_cost: float = 8.0
    # A voice must hold this long to be cut out of a span as a turn of its own. At 1 s (cut-out
    # pieces under 1 s were mostly wrong in early trials) a one-word reply (不行。 不退。, 0.3-0.5 s)
    # went to the customer's turn around it; at 0.7 s the rendered mixes measured (bench note,
    # session 24) kept their speech-time accuracy or gained and those replies stayed the agent's.
    min_run_s: float = 0.7
    # ... or half as long when set off from its neighbours by a pause this long (a turn gap).
    turn_gap_s: float = 0.4
    # A cut-out piece must hold this much evidence for its voice (nats, scaled as in the Viterbi
    # path; two changes of voice alone cost 2 x switch_cost = 16) or it joins its neighbours.
    min_piece_evidence: float = 30.0
    # A change of voice moves into the nearest pause within ``snap_s``: frames ``pause_below_db``
    # under the call's median level for at least ``min_pause_s``.
    snap_s: float = 1.5
    # ... but not across frames holding more than this (nats, scaled as above) for the voice they
    # would leave: a reply over the end of a turn starts inside speech, not at its last comma.
    snap_max_evidence: float = 20.0
    pause_below_db: float = 15.0
    min_pause_s: float = 0.2
    # Cut-out pieces shorter than this are less reliable: their voice confidence is capped.
    short_piece_s: float = 1.5
    short_piece_confidence: float = 0.75
    # Role decisions less likely right than this are flagged for human review.
    review_below: float = 0.8

    def __post_init__(self) -> None:
        if self.hop_ms <= 0 or self.frame_ms < self.hop_ms:
            raise ValueError("hop_ms must be positive and at most frame_ms")
        if not 0.5 <= self.review_below <= 1.0:
            raise ValueError("review_below must be within [0.5, 1]")


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that turns audio into a transcript, in one value."""

    audio: AudioOptions = field(default_factory=AudioOptions)
    vad: VadOptions = field(default_factory=VadOptions)
    tone: ToneOptions = field(default_factory=ToneOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    speakers: SpeakerOptions = field(default_factory=SpeakerOptions)


@dataclass(frozen=True)
class LiveOptions:
    """How the live session watches a call (the transcription options stay in PipelineOptions)."""

    # Run the time-based checks after this much new audio.
    check_every_s: float = 1.0
    # Look for the disconnect tone on the newest ``tone_window_s`` of a channel this often.
    tone_every_s: float = 0.5
    tone_window_s: float = 4.0
    # Speaking rate over the agent utterances that ended in the last ``rate_window_s``,
    # once they hold at least ``rate_min_speech_s`` of agent speech.
    rate_window_s: float = 60.0
    rate_min_speech_s: float = 20.0
    # Emit UtteranceLikely for agent (and mono) channels so ASR can start before VAD closes,
    # after this much quiet (VAD closes after end_silence_ms; pauses inside a turn make guesses
    # that are thrown away, fewer the longer this is). None: never guess.
    likely_after_silence_ms: int | None = 400
    # Cut an open utterance into a part for ASR once it holds this much speech not yet sent
    # and its channel has been quiet for ``part_pause_ms`` (``live_parts``). None: whole clips only.
    # 8 s bounds the decode left after a long turn (dev calls: agent CER 14.6 -> 14.9 %); 3 s
    # cuts alerts further but costs 1.8 points of agent CER and dev_call_07's agent ID.
    part_min_s: float | None = 8.0
    part_pause_ms: int = 300

    def __post_init__(self) -> None:
        if min(self.check_every_s, self.tone_every_s, self.tone_window_s, self.rate_window_s) <= 0:
            raise ValueError("LiveOptions intervals and windows must be positive")
        if self.part_min_s is not None and self.part_min_s <= 0:
            raise ValueError("part_min_s must be positive (or None)")


@dataclass(frozen=True)
class LiveAsrOptions:
    """How the live server transcribes (the batch pipeline keeps ``AsrOptions`` as they are)."""

    # Beam 5 with clip windows and context: every check 10/10 on the dev calls through the live
    # path (bench/live_agreement.py); greedy missed dev_call_01's agent ID without context.
    beam_size: int = 5
    # Customer clips (no phrase alerts come from them) decode greedy: half the live ASR work
    # goes 2-3x faster, and every check stays 10/10 through the live path (customer CER on the
    # dev calls 20.2 % -> 23.1 %; bench/live_agreement.py --customer-beam-size 5 vs 1).
    customer_beam_size: int = 1
    # Each clip its own clip-length encoder window (asr_batched); False: 30 s windows (asr.py).
    clip_windows: bool = True
    # CTranslate2 threads; the default 2 matches the 2-core target box (0 lets CTranslate2 choose).
    cpu_threads: int = 2
    # One recognizer call takes at most this many clips / seconds of speech.
    batch_max_clips: int = 4
    batch_max_audio_s: float = 56.0
    # A customer clip waits behind agent clips at most this long.
    customer_max_wait_s: float = 1.0

    def __post_init__(self) -> None:
        if min(self.beam_size, self.customer_beam_size, self.batch_max_clips) < 1 or self.cpu_threads < 0:
            raise ValueError("beam sizes and batch_max_clips must be >= 1, cpu_threads >= 0")
        if self.batch_max_audio_s <= 0 or self.customer_max_wait_s < 0:
            raise ValueError("batch_max_audio_s must be > 0 and customer_max_wait_s >= 0")

    def beam_for(self, role: Role) -> int:
        """The beam a clip of ``role`` is decoded with (customer clips may differ)."""
        return self.customer_beam_size if role == Role.CUSTOMER else self.beam_size
