"""The faster-whisper adapter (batch path). It and its live variant ``asr_batched`` are the only
modules that import faster_whisper, lazily.

Whisper pads every input to a 30 s window, so decoding short utterances one at a time pays a
full encoder pass per utterance. We pack the clips VAD cut, in order, into windows of at most
``AsrOptions.pack_window_s`` separated by ``pack_gap_s`` of silence, decode each window once with
word timestamps, and give every word back to the clip whose placement holds the word's midpoint
(the nearest clip when it falls in a gap), with times relative to that clip.

A clip the window's decode left without words while another clip of the window got some is
decoded again: Whisper ends a window early after a closing (the clips after it unheard), and it
skips a word said alone between two sentences (a bare 不行。 between the agent's turns) or hands it
to the next clip at that clip's very start (``drop_repeated_head`` then takes it back).

Hallucination guard, kept deliberately small: a segment is dropped when Whisper itself thinks
the window is silent (``no_speech_prob`` high *and* ``avg_logprob`` low), or when its text is
one of the subtitle/video-credit lines Whisper is known to invent for zh on non-speech
(``HALLUCINATION_MARKERS``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from qa_pipeline.config import AsrOptions
from qa_pipeline.errors import ModelUnavailableError
from qa_pipeline.hooks import Hook, call_hook
from qa_pipeline.asr.model_cache import DEFAULT_MODEL_SHA256, resolve_model_dir
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import AudioClip
from qa_pipeline.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
DECODE_SEED = 20241104
# Whisper's own "this window is silence" rule, applied per segment.
NO_SPEECH_PROB_MIN = 0.6
AVG_LOGPROB_MAX = -1.0
# Text Whisper invents on silence/noise for zh, learnt from subtitled video (credit lines, calls to
# subscribe). Matched as substrings after removing spaces and punctuation; Simplified and
# Traditional spellings both listed because the recognizer returns raw (unnormalised) text.
HALLUCINATION_MARKERS = (
    "字幕由",
    "字幕志愿者",
    "字幕志願者",
    "Amaraorg",
    "请不吝点赞",
    "請不吝點贊",
    "点赞订阅",
    "點贊訂閱",
    "订阅转发",
    "訂閱轉發",
    "明镜与点点",
    "明鏡與點點",
    "独播剧场",
    "獨播劇場",
    "YoYoTelevision",
)
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Placement:
    """Where clip number ``index`` (of the packed list) sits inside its window, in seconds."""

    index: int
    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Window:
    """Clips decoded together as one Whisper input; silence fills the gaps between them."""

    placements: tuple[Placement, ...]

    @property
    def duration_s(self) -> float:
        return self.placements[-1].end_s if self.placements else 0.0


def pack_clips(durations_s: Sequence[float], window_s: float, gap_s: float) -> list[Window]:
    """Place clips, in order, into windows of at most ``window_s``, ``gap_s`` apart.

    The first clip of a window starts at 0. A clip longer than ``window_s`` gets a window alone.
    """
    if window_s <= 0.0 or gap_s < 0.0:
        raise ValueError("window_s must be > 0 and gap_s >= 0")
    if any(d < 0.0 for d in durations_s):
        raise ValueError("clip durations must be >= 0")
    windows: list[Window] = []
    current: list[Placement] = []
    for index, duration_s in enumerate(durations_s):
        start_s = current[-1].end_s + gap_s if current else 0.0
        if current and start_s + duration_s > window_s:
            windows.append(Window(tuple(current)))
            current, start_s = [], 0.0
        current.append(Placement(index, start_s, float(duration_s)))
    if current:
        windows.append(Window(tuple(current)))
    return windows


def owner_of(time_s: float, placements: Sequence[Placement]) -> int:
    """Position in ``placements`` of the clip holding ``time_s``, else the nearest (earlier on a tie)."""
    if not placements:
        raise ValueError("no placements")
    best, best_distance_s = 0, float("inf")
    for position, placement in enumerate(placements):
        distance_s = max(placement.start_s - time_s, time_s - placement.end_s, 0.0)
        if distance_s < best_distance_s:
            best, best_distance_s = position, distance_s
    return best


def assign_words(words: Iterable[Word], window: Window) -> list[ClipText]:
    """Split a window's words (window times, raw text) into one ClipText per placement.

    Word times become relative to the clip's start and are clamped to the clip. The clip's text
    is its words' raw text joined as Whisper wrote it (no spaces added between Chinese words).
    """
    raw: list[list[Word]] = [[] for _ in window.placements]
    for word in words:
        position = owner_of((word.start_s + word.end_s) / 2.0, window.placements)
        raw[position].append(word)
    return [_clip_text(group, placement) for group, placement in zip(raw, window.placements)]


def _clip_text(words: list[Word], placement: Placement) -> ClipText:
    text = "".join(w.text for w in words).strip()
    relative = []
    for word in words:
        start_s = min(max(word.start_s - placement.start_s, 0.0), placement.duration_s)
        end_s = min(max(word.end_s - placement.start_s, start_s), placement.duration_s)
        if word.text.strip():
            relative.append(Word(word.text.strip(), start_s, end_s))
    return ClipText(text=text, words=tuple(relative))


def unheard_clips(texts: Sequence[ClipText]) -> list[int]:
    """Positions of the clips that got no words while another clip of the window did (decoded again).

    Whisper sometimes ends a window early (e.g. end-of-text after a closing 再见), silently dropping
    the clips that follow, and it may skip a short clip between two heard ones (a bare 不行 said
    between two sentences of the agent's). A window with no words at all is taken as silence, not
    retried.
    """
    if not any(_heard(text) for text in texts):
        return []
    return [k for k, text in enumerate(texts) if not _heard(text)]


def _heard(text: ClipText) -> bool:
    return bool(text.words or text.text)


# How far into the next clip a word Whisper moved there may start (clip time, seconds).
MOVED_HEAD_S = 0.5


def drop_repeated_head(follower: ClipText, heard: ClipText) -> ClipText:
    """``follower`` without the words at its very start that repeat what ``heard`` (the clip before
    it, decoded again alone) says: Whisper had given that clip's words to the next clip."""
    said = _NOT_TEXT.sub("", heard.text)
    if not said:
        return follower
    taken = ""
    for count, word in enumerate(follower.words, start=1):
        if word.start_s > MOVED_HEAD_S:
            return follower
        taken += _NOT_TEXT.sub("", word.text)
        if taken == said:
            rest = follower.words[count:]
            return ClipText(text="".join(w.text for w in rest), words=rest)
        if not said.startswith(taken):
            return follower
    return follower


def is_hallucination(text: str, no_speech_prob: float, avg_logprob: float) -> bool:
    """True for a segment Whisper produced from silence or from its subtitle-credit memories."""
    if no_speech_prob > NO_SPEECH_PROB_MIN and avg_logprob < AVG_LOGPROB_MAX:
        return True
    compact = _NOT_TEXT.sub("", text)
    return any(marker in compact for marker in HALLUCINATION_MARKERS)


def render_window(window: Window, clips: Sequence[AudioClip]) -> np.ndarray:
    """The window's audio: each clip copied at its placement, zeros elsewhere."""
    ends = [round(p.start_s * SAMPLE_RATE_HZ) + len(clips[p.index].samples) for p in window.placements]
    audio = np.zeros(max(ends, default=0), dtype=np.float32)
    for placement in window.placements:
        start = round(placement.start_s * SAMPLE_RATE_HZ)
        samples = clips[placement.index].samples
        audio[start : start + len(samples)] = samples
    return audio


class FasterWhisperRecognizer:
    """``Recognizer`` over faster-whisper; the model loads on first use (or ``load()``)."""

    def __init__(self, options: AsrOptions = AsrOptions()) -> None:
        self.options = options
        self._model: WhisperModel | None = None
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        """``whisper-base-ct2@d01c3014`` for the bundled model, ``<dir name>@<hash8>`` otherwise."""
        if self._model_id is None:
            self._model_id = _model_id(self.options)
        return self._model_id

    def load(self) -> WhisperModel:
        """Load the model now (joined into the cache first if needed) and return it."""
        if self._model is None:
            from faster_whisper import WhisperModel

            model_dir = resolve_model_dir(self.options)
            try:
                self._model = WhisperModel(
                    str(model_dir),
                    device=self.options.device,
                    compute_type=self.options.compute_type,
                    cpu_threads=self.options.cpu_threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelUnavailableError(f"cannot load the model: {exc}", str(model_dir)) from exc
        return self._model

    def transcribe(self, clips: Sequence[AudioClip], hook: Hook | None = None,
                   beam_size: int | None = None) -> list[ClipText]:
        """Raw text and clip-relative word times for each clip, parallel to ``clips``.

        ``beam_size`` overrides ``options.beam_size`` for this call (live: per role).
        """
        for clip in clips:
            if clip.sample_rate_hz != SAMPLE_RATE_HZ:
                raise ValueError(f"clips must be {SAMPLE_RATE_HZ} Hz, got {clip.sample_rate_hz}")
        results = [ClipText("") for _ in clips]
        pending = [i for i, clip in enumerate(clips) if len(clip.samples) > 0]
        call_hook(hook, "asr", 0, len(clips))
        followers: dict[int, int] = {}  # a clip decoded again -> the heard clip after it in its window
        while pending:
            retry: list[int] = []
            batch = [clips[i] for i in pending]
            durations_s = [c.duration_s for c in batch]
            for window in pack_clips(durations_s, self.options.pack_window_s, self.options.pack_gap_s):
                texts = assign_words(self.decode(render_window(window, batch), beam_size), window)
                order = [pending[placement.index] for placement in window.placements]
                for clip, text in zip(order, texts):
                    results[clip] = text
                for k in unheard_clips(texts):
                    retry.append(order[k])
                    if k + 1 < len(texts) and _heard(texts[k + 1]):
                        followers[order[k]] = order[k + 1]
            pending = retry  # every window retried held a heard clip: fewer clips each pass
            call_hook(hook, "asr", len(clips) - len(pending), len(clips))
        for clip, follower in followers.items():
            results[follower] = drop_repeated_head(results[follower], results[clip])
        return results

    def transcribe_in_context(self, clips: Sequence[AudioClip], contexts: Sequence[str],
                              hook: Hook | None = None, beam_size: int | None = None) -> list[ClipText]:
        """``transcribe`` with the live call's signature: packed windows take no per-clip context."""
        if len(contexts) != len(clips):
            raise ValueError("one context per clip is required")
        return self.transcribe(clips, hook, beam_size)

    def decode(self, audio: np.ndarray, beam_size: int | None = None) -> list[Word]:
        """One Whisper pass over 16 kHz audio: its words (or segments) in audio time, raw text."""
        options = self.options
        model = self.load()
        # Whisper falls back to sampling at higher temperatures when a greedy pass looks bad.
        # Seeding narrows, but does not remove, run-to-run differences: CTranslate2 seeds its
        # per-thread sampler once, and a Ray actor was seen to differ from local workers anyway.
        import ctranslate2

        ctranslate2.set_random_seed(DECODE_SEED)
        segments, _info = model.transcribe(
            audio,
            language=options.language,
            beam_size=beam_size or options.beam_size,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            word_timestamps=options.word_timestamps,
            vad_filter=False,
            condition_on_previous_text=False,
        )
        pieces: list[Word] = []
        for segment in segments:
            if is_hallucination(segment.text, segment.no_speech_prob, segment.avg_logprob):
                log.debug("dropped a likely hallucination at %.2f s: %r", segment.start, segment.text)
                continue
            if options.word_timestamps and segment.words:
                pieces.extend(Word(w.word, float(w.start), float(w.end)) for w in segment.words)
            else:
                pieces.append(Word(segment.text, float(segment.start), float(segment.end)))
        return pieces


def _model_id(options: AsrOptions) -> str:
    if options.model_path is None:
        return f"whisper-base-ct2@{DEFAULT_MODEL_SHA256[:8]}"
    path = Path(options.model_path).expanduser()
    digest = hashlib.sha256()
    try:
        digest.update((path / "config.json").read_bytes())
        digest.update(str((path / "model.bin").stat().st_size).encode("ascii"))
    except OSError as exc:
        raise ModelUnavailableError(f"not a readable model directory: {exc.strerror or exc}", str(path)) from exc
    return f"{path.name}@{digest.hexdigest()[:8]}"
