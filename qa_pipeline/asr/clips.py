"""Clip-length Whisper windows, several voices per encoder call: the live path's recognizer.

``asr.FasterWhisperRecognizer`` decodes through ``WhisperModel.transcribe``, which pads every
input to a 30 s window, so a 3 s utterance pays for ten times the encoder work it needs. The
CTranslate2 Whisper encoder accepts shorter inputs, so here each clip gets its own window of
just its length plus ``tail_s`` of silence, and the clips of one call to ``transcribe`` (any
calls, any channels: each clip has a window of its own, so voices never mix inside a window) go
through the encoder, the decoder and the word aligner as one batch.

Only the model loading (``FasterWhisperRecognizer.load``), the prompt, the suppressed tokens and
the word alignment of faster-whisper are used; the hallucination guard is ``asr.is_hallucination``.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from rapidfuzz import fuzz

from qa_pipeline.asr.packed import SAMPLE_RATE_HZ, FasterWhisperRecognizer, is_hallucination
from qa_pipeline.config import AsrOptions
from qa_pipeline.hooks import Hook, call_hook
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import AudioClip
from qa_pipeline.types import Word

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

# Mel frames per second (hop 160 at 16 kHz) and Whisper's full window.
_FRAMES_PER_S = 100
_FULL_WINDOW_FRAMES = 3000
# A decode whose text compresses better than this is a repetition loop: retry with a beam.
_MAX_COMPRESSION_RATIO = 2.4
# ...and so is a text mostly made of one 2-40 character piece repeated (too short for zlib to see).
_REPEATED = re.compile(r"(.{2,40}?)\1+")
_LOOP_MIN_CHARS = 6
_LOOP_SHARE = 0.6
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)
# A run of at least this many characters said twice in a row inside one clip is a decoder loop.
_CLAUSE_CHARS = 4
# ...and so are two halves this similar (rapidfuzz ratio, 0-100): the second copy has a slip.
_TWICE_SIMILARITY = 85


@dataclass(frozen=True)
class ClipWindowOptions:
    """How clips are turned into encoder windows."""

    # Silence after the clip inside its window (Whisper expects speech to be followed by silence).
    tail_s: float = 1.0
    # Windows are a whole number of this many seconds (fewer distinct encoder shapes).
    step_s: float = 1.0
    # At most this many clips go through the model together.
    max_batch: int = 8
    # Decoder tokens allowed per second of clip (plus a fixed 16), against runaway loops.
    max_tokens_per_s: float = 12.0
    # At most this many tokens of a clip's context (the text before it) prompt the decoder.
    context_tokens: int = 32

    def __post_init__(self) -> None:
        if self.tail_s < 0 or self.step_s <= 0 or self.max_batch < 1 or self.max_tokens_per_s <= 0:
            raise ValueError("tail_s >= 0, step_s > 0, max_batch >= 1 and max_tokens_per_s > 0 are required")
        if self.context_tokens < 0:
            raise ValueError("context_tokens must be >= 0")


def window_frames(duration_s: float, options: ClipWindowOptions) -> int:
    """Encoder frames for a clip of ``duration_s``: clip + tail, rounded up to ``step_s``, at most 30 s."""
    seconds = math.ceil((duration_s + options.tail_s) / options.step_s - 1e-9) * options.step_s
    return min(_FULL_WINDOW_FRAMES, max(2, 2 * math.ceil(seconds * _FRAMES_PER_S / 2)))


class ClipWindowRecognizer:
    """``Recognizer``: one clip-length window per clip, clips batched through the model."""

    #: Clips never share a window, so clips of different voices may come in one call.
    separate_windows = True

    def __init__(self, options: AsrOptions = AsrOptions(), windows: ClipWindowOptions = ClipWindowOptions()) -> None:
        self.options = options
        self.windows = windows
        self._base = FasterWhisperRecognizer(options)
        self._tokenizer: Any = None
        self._suppress: list[int] | None = None

    @property
    def model_id(self) -> str:
        return self._base.model_id

    def load(self) -> "WhisperModel":
        model = self._base.load()
        if self._tokenizer is None:
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_suppressed_tokens

            self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                        language=self.options.language)
            self._suppress = get_suppressed_tokens(self._tokenizer, [-1])
        return model

    def transcribe(self, clips: Sequence[AudioClip], hook: Hook | None = None) -> list[ClipText]:
        """Raw text and clip-relative word times for each clip, parallel to ``clips``."""
        return self.transcribe_in_context(clips, [self.options.initial_prompt or ""] * len(clips), hook)

    def transcribe_in_context(self, clips: Sequence[AudioClip], contexts: Sequence[str],
                              hook: Hook | None = None, beam_size: int | None = None) -> list[ClipText]:
        """As ``transcribe``, each clip decoded after its ``context`` (the text its voice said
        before; Whisper's previous-text prompt). Its last ``context_tokens`` tokens are used.
        ``beam_size`` overrides ``options.beam_size`` for this call.
        """
        beam = beam_size or self.options.beam_size
        if len(contexts) != len(clips):
            raise ValueError("one context per clip is required")
        for clip in clips:
            if clip.sample_rate_hz != SAMPLE_RATE_HZ:
                raise ValueError(f"clips must be {SAMPLE_RATE_HZ} Hz, got {clip.sample_rate_hz}")
        self.load()
        cap = self.windows.context_tokens
        previous = [self._tokenizer.encode(c)[-cap:] if c and cap else [] for c in contexts]
        results = [ClipText("") for _ in clips]
        call_hook(hook, "asr", 0, len(clips))
        done = 0
        for batch in _batches(clips, previous, self.windows.max_batch):
            texts = self._decode_batch([clips[i] for i in batch], [previous[i] for i in batch], beam)
            for index, text in zip(batch, texts):
                results[index] = text
            done += len(batch)
            call_hook(hook, "asr", done, len(clips))
        return results

    def _decode_batch(self, clips: Sequence[AudioClip], previous: Sequence[list[int]], beam: int) -> list[ClipText]:
        model = self.load()
        frames = window_frames(max(c.duration_s for c in clips), self.windows)
        features = np.stack([_features(model, c.samples, frames) for c in clips])
        from faster_whisper.transcribe import get_ctranslate2_storage

        encoded = model.model.encode(get_ctranslate2_storage(features))
        prompts = [model.get_prompt(self._tokenizer, previous_tokens=list(p), without_timestamps=True,
                                    hotwords=self.options.hotwords) for p in previous]
        max_new = 16 + int(self.windows.max_tokens_per_s * max(c.duration_s for c in clips))
        contexts = [self._tokenizer.decode(list(p)) for p in previous]
        tokens = self._generate(model, encoded, prompts, contexts, max_new, beam)
        words = self._words(model, encoded, tokens, [min(frames, len(c.samples) // 160) for c in clips])
        return [_clip_text(w, c.duration_s) for w, c in zip(words, clips)]

    def _generate(self, model: "WhisperModel", encoded: Any, prompts: list[list[int]], contexts: list[str],
                  max_new: int, beam: int) -> list[list[int]]:
        """Text tokens per window. A repetition loop or an echo of the context (both set off by
        the context prompt) is decoded again without context and with a beam of at least 5; if
        it loops again, or a loop comes back empty, the loop is kept once (``collapse_repeats``).
        """
        found = self._search(model, encoded, prompts, max_new, beam)
        tokens = [ids for ids, _looped in found]
        loops = [i for i, (ids, looped) in enumerate(found)
                 if looped or echoes(self._tokenizer.decode(ids), contexts[i])]
        if loops:
            import ctranslate2

            plain = model.get_prompt(self._tokenizer, previous_tokens=[], without_timestamps=True,
                                     hotwords=self.options.hotwords)
            on_cpu = np.asarray(encoded.to_device(ctranslate2.Device.cpu))[loops]
            again = self._search(model, ctranslate2.StorageView.from_array(np.ascontiguousarray(on_cpu)),
                                 [plain] * len(loops), max_new, max(5, beam))
            for i, (ids, looped) in zip(loops, again):
                first, first_looped = found[i]
                if first_looped and not ids:
                    ids, looped = first, True
                tokens[i] = collapse_repeats(ids, self._tokenizer.decode) if looped else ids
        return tokens

    def _search(self, model: "WhisperModel", encoded: Any, prompts: list[list[int]], max_new: int,
                beam_size: int) -> list[tuple[list[int], bool]]:
        """(text tokens, whether they loop) per window; hallucinations come back empty."""
        from faster_whisper.transcribe import get_compression_ratio

        results = model.model.generate(
            encoded, [list(p) for p in prompts], beam_size=beam_size,
            max_length=min(model.max_length, len(prompts[0]) + max_new), suppress_blank=True,
            suppress_tokens=self._suppress, return_scores=True, return_no_speech_prob=True,
        )
        tokens: list[tuple[list[int], bool]] = []
        for result in results:
            ids = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
            text = self._tokenizer.decode(ids)
            length = len(result.sequences_ids[0])
            avg_logprob = result.scores[0] * length / (length + 1)
            if is_hallucination(text, result.no_speech_prob, avg_logprob):
                log.debug("dropped a likely hallucination: %r", text)
                tokens.append(([], False))
            else:
                tokens.append((ids, bool(text) and (get_compression_ratio(text) > _MAX_COMPRESSION_RATIO or loops(text))))
        return tokens

    def _words(self, model: "WhisperModel", encoded: Any, tokens: list[list[int]], frames: list[int]) -> list[list[Word]]:
        if not self.options.word_timestamps:
            return [[Word(self._tokenizer.decode(t), 0.0, f / _FRAMES_PER_S)] if t else [] for t, f in zip(tokens, frames)]
        words: list[list[Word]] = [[] for _ in tokens]
        spoken = [i for i, t in enumerate(tokens) if t]
        if not spoken:
            return words
        import ctranslate2

        if len(spoken) < len(tokens):
            on_cpu = np.asarray(encoded.to_device(ctranslate2.Device.cpu))[spoken]
            encoded = ctranslate2.StorageView.from_array(np.ascontiguousarray(on_cpu))
        aligned = model.find_alignment(self._tokenizer, [tokens[i] for i in spoken], encoded, [frames[i] for i in spoken])
        for i, found in zip(spoken, aligned):
            words[i] = [Word(w["word"], float(w["start"]), float(w["end"])) for w in found]
        return words


def loops(text: str) -> bool:
    """True when most of ``text`` is one piece said again and again (a decoder loop, e.g.
    不收为月金不收为月金 for 不收违约金), or a clause said twice with a slip (目前的年化率率是
    13.6%目前的年化率是13.6%); short texts such as 不行不行 are left alone."""
    compact = _NOT_TEXT.sub("", text)
    if len(compact) < _LOOP_MIN_CHARS:
        return False
    if any(len(m.group(0)) >= _LOOP_SHARE * len(compact) for m in _REPEATED.finditer(compact)):
        return True
    return _twice_split(compact) is not None


def _twice_split(compact: str) -> int | None:
    """Where the second copy starts when ``compact`` is one clause of ``_CLAUSE_CHARS`` or more
    said twice, near enough (``_TWICE_SIMILARITY``); else None."""
    middle = len(compact) // 2
    splits = range(max(_CLAUSE_CHARS, middle - 2), min(len(compact) - _CLAUSE_CHARS, middle + 2) + 1)
    scored = [(fuzz.ratio(compact[:k], compact[k:]), -abs(k - middle), k) for k in splits]
    best = max(scored, default=None)
    return best[2] if best is not None and best[0] >= _TWICE_SIMILARITY else None


def collapse_repeats(ids: list[int], decode: Callable[[list[int]], str]) -> list[int]:
    """``ids`` cut to their first copy when they are one run of tokens said again and again (the
    whole of 也可以拨打我们的客服热线也可以拨打我们的客服热线), or one clause said twice with a
    slip; runs shorter than ``_CLAUSE_CHARS`` characters stay repeated (不行不行, 对对对 are how
    people talk)."""
    for period in range(1, len(ids) // 2 + 1):
        if all(ids[i] == ids[i - period] for i in range(period, len(ids))):
            once = ids[:period]
            return once if len(_NOT_TEXT.sub("", decode(once))) >= _CLAUSE_CHARS else ids
    split = _twice_split(_NOT_TEXT.sub("", decode(ids)))
    if split is None:
        return ids
    held = [len(_NOT_TEXT.sub("", decode(ids[:end]))) for end in range(len(ids) + 1)]
    # the token prefix holding the first copy, with the punctuation that follows it
    end = next(e for e, n in enumerate(held) if n >= split)
    while end < len(ids) and held[end + 1] == held[end]:
        end += 1
    return ids[:end]


def echoes(text: str, context: str) -> bool:
    """True when ``text`` is mostly a stretch of ``context`` said again: Whisper repeating its
    previous-text prompt instead of hearing the clip (e.g. 目前的年化率是13.6% twice over
    two clips). At least ``_LOOP_MIN_CHARS // 2`` characters and ``_LOOP_SHARE`` of the text must
    be copied."""
    said, before = _NOT_TEXT.sub("", text), _NOT_TEXT.sub("", context)
    if len(said) < _LOOP_MIN_CHARS // 2 or not before:
        return False
    match = difflib.SequenceMatcher(None, said, before, autojunk=False).find_longest_match(0, len(said), 0, len(before))
    return match.size >= max(_LOOP_MIN_CHARS // 2, _LOOP_SHARE * len(said))


def _batches(clips: Sequence[AudioClip], previous: Sequence[list[int]], max_batch: int) -> list[list[int]]:
    """Positions of the voiced clips in batches of at most ``max_batch``, similar lengths together.

    CTranslate2 needs the prompts of one generate call to be equally long, so a batch holds clips
    whose contexts have the same number of tokens.
    """
    groups: dict[int, list[int]] = {}
    for i in sorted((i for i, c in enumerate(clips) if len(c.samples) > 0), key=lambda i: clips[i].duration_s):
        groups.setdefault(len(previous[i]), []).append(i)
    return [g[k : k + max_batch] for g in groups.values() for k in range(0, len(g), max_batch)]


def _features(model: "WhisperModel", samples: np.ndarray, frames: int) -> np.ndarray:
    """Log-mel of ``samples`` zero-padded (as faster-whisper pads) or cut to ``frames`` frames."""
    mel = model.feature_extractor(samples)[:, :-1]
    if mel.shape[1] >= frames:
        return np.ascontiguousarray(mel[:, :frames])
    return np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))


def _clip_text(words: list[Word], duration_s: float) -> ClipText:
    kept = []
    for word in words:
        start_s = min(max(word.start_s, 0.0), duration_s)
        if word.text.strip():
            kept.append(Word(word.text.strip(), start_s, min(max(word.end_s, start_s), duration_s)))
    return ClipText(text="".join(w.text for w in words).strip(), words=tuple(kept))
