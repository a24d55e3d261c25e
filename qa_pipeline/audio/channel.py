"""The channel analyser: disconnect tone, then VAD, then hold music split off, leaving speech.

Order matters: the disconnect tone is found first and everything from its onset on is left
out of VAD; VAD spans are then sorted by sound (``sort_sounds``) and music (hold music) is split
off, leaving the speech spans that go to ASR and count as talk; on a mixed (mono) channel the
words and music that share a span are parted (``reclaim_mixed``). One analyser, two feeds:
``analyse_channel`` takes a whole channel (batch); ``ChannelTrack`` takes a stream in chunks (live),
running the same state machines (``vad.VadStream``, ``tones``) and the same sorting, so a channel
fed in chunks yields the spans the whole file yields (a test replays the samples in random chunks).
``ChannelHistory`` keeps the newest audio of a stream for cutting clips (bounded memory).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from qa_pipeline.audio.io import CallAudio, StreamResampler
from qa_pipeline.config import PipelineOptions, ToneOptions, VadOptions
from qa_pipeline.types import AudioClip
from qa_pipeline.audio.tones import classify_sound, find_disconnect_tone
from qa_pipeline.types import ChannelActivity, Role, Span
from qa_pipeline.audio.io import clip_bounds_s, cut_clip
from qa_pipeline.audio.vad import VadStream, frame_level_dbfs, speech_spans


logger = logging.getLogger(__name__)

# Music pieces closer than this are one stretch of music (VAD cuts long music into pieces).
MUSIC_JOIN_GAP_S = 1.5

#: The samples of a stretch of one channel (a VAD span, or a window of one).
SamplesOf = Callable[[Span], np.ndarray]


def sort_sounds(spans: Iterable[Span], samples_of: SamplesOf, rate_hz: int,
                channel: int) -> tuple[list[Span], list[Span]]:
    """(speech, music) among VAD spans; tonal sounds are left out of both (never sent to ASR)."""
    speech: list[Span] = []
    music: list[Span] = []
    for span in spans:
        kind = classify_sound(samples_of(span), rate_hz)
        if kind == "speech":
            speech.append(span)
        elif kind == "music":
            music.append(span)
        else:
            logger.debug("channel %d: tonal sound %.2f-%.2f s left out of speech", channel, span.start_s, span.end_s)
    return speech, music


def analyse_channel(
    samples: np.ndarray,
    sample_rate_hz: int,
    channel: int,
    role: Role,
    vad: VadOptions,
    tone: ToneOptions,
) -> ChannelActivity:
    """Tone, speech and music spans of one whole mono channel (seconds from its start)."""
    tone_span = find_disconnect_tone(samples, sample_rate_hz, tone)
    head = samples if tone_span is None else samples[: int(tone_span.start_s * sample_rate_hz)]

    def samples_of(span: Span) -> np.ndarray:
        return head[int(span.start_s * sample_rate_hz) : int(span.end_s * sample_rate_hz)]

    speech, music = sort_sounds(speech_spans(head, sample_rate_hz, vad), samples_of, sample_rate_hz, channel)
    if role is Role.MIXED:
        speech, music = reclaim_mixed(speech, music, samples_of, sample_rate_hz)
    return ChannelActivity(
        channel=channel,
        role=role,
        speech=tuple(speech),
        tone=() if tone_span is None else (tone_span,),
        music=tuple(join_spans(music, MUSIC_JOIN_GAP_S)),
    )


def analyse_call(audio: CallAudio, options: PipelineOptions) -> tuple[ChannelActivity, ...]:
    """``analyse_channel`` for every channel of a decoded call, in channel order."""
    return tuple(
        analyse_channel(samples, audio.sample_rate_hz, index, role, options.vad, options.tone)
        for index, (samples, role) in enumerate(zip(audio.channels, audio.roles))
    )


def join_spans(spans: list[Span], max_gap_s: float) -> list[Span]:
    """Merge time-ordered spans separated by at most ``max_gap_s`` (whole channels and streams)."""
    joined: list[Span] = []
    for span in spans:
        if joined and span.start_s - joined[-1].end_s <= max_gap_s:
            joined[-1] = Span(joined[-1].start_s, max(joined[-1].end_s, span.end_s))
        else:
            joined.append(span)
    return joined


def reclaim_mixed(speech: Iterable[Span], music: Iterable[Span], samples_of: SamplesOf, rate_hz: int,
                  window_s: float = 1.0) -> tuple[list[Span], list[Span]]:
    """(speech, music) of a mixed channel's VAD spans, sorted as ``sort_sounds`` sorted them, with
    the speech and music at their edges given back to their own kind.

    On one mixed channel the agent's last words before a hold run straight into the hold
    music, and VAD makes one span of both, which is classified as music as a whole. Windows of
    ``window_s`` are classified from each end of a music span inward; the speech windows there
    become speech spans. (On separate channels music and speech never share a span.) The other way
    round, hold music starting right after the agent's words can stay in their speech span: two or
    more music windows at either end of a speech span are music (``_music_at_edges``). Span by span,
    so that a stream (``ChannelTrack``) sorts each span as it closes, as the whole channel does.
    """
    kept: list[Span] = []
    held: list[Span] = []
    for span in speech:
        voiced, played = _music_at_edges(samples_of, rate_hz, span, window_s)
        kept.append(voiced)
        held.extend(played)
    for span in music:
        voiced, played = _speech_at_edges(samples_of, rate_hz, span, window_s)
        kept.extend(voiced)
        held.extend(played)
    return sorted(kept, key=lambda s: s.start_s), sorted(held, key=lambda s: s.start_s)


def _speech_at_edges(samples_of: SamplesOf, rate_hz: int, span: Span, window_s: float) -> tuple[list[Span], list[Span]]:
    """The speech windows at either end of a music span, and the music between them."""
    steps = int(span.duration_s // window_s)
    windows = [Span(span.start_s + k * window_s, span.start_s + (k + 1) * window_s) for k in range(steps)]
    head = _window_run(samples_of, rate_hz, windows, speech=True)
    if head >= steps:  # no music window at all: leave the span as it was classified
        return [], [span]
    tail = _window_run(samples_of, rate_hz, reversed(windows), speech=True)
    start_s = span.start_s + head * window_s
    end_s = span.end_s - tail * window_s if tail else span.end_s
    voiced = ([Span(span.start_s, start_s)] if head else []) + ([Span(end_s, span.end_s)] if tail else [])
    return voiced, [Span(start_s, end_s)]


# Music windows that must stand together at an end of a speech span before they are cut off as music:
# one alone is as often a repeated word (不用不用) as music. On the mono mixes of the 68 rendered call
# sets KR–NG, every run of two or more lay in a hold (31.3 of 32.0 s); of two single windows, one was speech.
_MIN_MUSIC_WINDOWS = 2


def _music_at_edges(samples_of: SamplesOf, rate_hz: int, span: Span, window_s: float) -> tuple[Span, list[Span]]:
    """The speech span without the music at its ends, and that music (hold music run on from the
    agent's last words before the hold, or into their first words after it)."""
    steps = int(span.duration_s // window_s)

    def music_run(at: Callable[[int], float]) -> int:
        # (a held note of the music may read as a tone: only speech stops a run of music)
        windows = (Span(at(k), at(k) + window_s) for k in range(steps - 1))
        run = _window_run(samples_of, rate_hz, windows, speech=False)
        return run if run >= _MIN_MUSIC_WINDOWS else 0

    if steps < _MIN_MUSIC_WINDOWS + 1:
        return span, []
    tail = music_run(lambda k: span.end_s - (k + 1) * window_s)
    head = music_run(lambda k: span.start_s + k * window_s) if steps - tail > _MIN_MUSIC_WINDOWS else 0
    start_s, end_s = span.start_s + head * window_s, span.end_s - tail * window_s
    half = window_s / 2  # the window at the change holds both: its speech half stays speech
    if tail and _window_run(samples_of, rate_hz, [Span(end_s, end_s + half)], speech=True):
        end_s += half
    if head and _window_run(samples_of, rate_hz, [Span(start_s - half, start_s)], speech=True):
        start_s -= half
    held = ([Span(span.start_s, start_s)] if head else []) + ([Span(end_s, span.end_s)] if tail else [])
    return Span(start_s, end_s), held


def _window_run(samples_of: SamplesOf, rate_hz: int, windows: Iterable[Span], speech: bool) -> int:
    """How many of ``windows`` (in the order given) are, one after another from the first, speech
    (``speech``) or not speech; each is classified only when reached."""
    run = 0
    for window in windows:
        if (classify_sound(samples_of(window), rate_hz) == "speech") != speech:
            break
        run += 1
    return run


@dataclass(frozen=True)
class Pause:
    """An open utterance whose speaker went quiet: VAD would close it as ``span`` if the quiet
    lasts; it has lasted ``quiet_s`` so far."""

    span: Span
    quiet_s: float


class ChannelHistory:
    """The newest ``keep_s`` of one channel, addressable by absolute time (bounded memory)."""

    def __init__(self, sample_rate_hz: int, keep_s: float) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._keep = int(keep_s * sample_rate_hz)
        self._buf = np.zeros(2 * self._keep, dtype=np.float32)
        self._used = 0
        self._first = 0  # absolute index of _buf[0]

    @property
    def end_index(self) -> int:
        return self._first + self._used

    def append(self, samples: np.ndarray) -> None:
        if len(samples) > self._keep:
            self._first += self._used + len(samples) - self._keep
            self._buf[: self._keep] = samples[-self._keep :]
            self._used = self._keep
            return
        if self._used + len(samples) > len(self._buf):
            drop = self._used + len(samples) - self._keep
            self._buf[: self._used - drop] = self._buf[drop : self._used]
            self._first += drop
            self._used -= drop
        self._buf[self._used : self._used + len(samples)] = samples
        self._used += len(samples)

    def tail(self, seconds: float) -> tuple[float, np.ndarray]:
        """(start time, samples) of the newest ``seconds``."""
        n = min(self._used, int(seconds * self.sample_rate_hz))
        return (self.end_index - n) / self.sample_rate_hz, self._buf[self._used - n : self._used]

    def between(self, span: Span) -> np.ndarray:
        """The samples of ``span`` kept, indexed as a whole channel's samples are (``samples[int(t * rate)]``)."""
        first = max(self._first, int(span.start_s * self.sample_rate_hz))
        last = max(first, int(span.end_s * self.sample_rate_hz))
        return self._buf[first - self._first : min(last, self.end_index) - self._first]

    def window(self, start_s: float) -> tuple[float, np.ndarray]:
        """(start time, samples) from ``start_s`` (or the oldest kept sample) to the newest."""
        first = max(self._first, int(round(start_s * self.sample_rate_hz)))
        return first / self.sample_rate_hz, self._buf[first - self._first : self._used]


#: An open VAD segment is tested for music once it has lasted this long, on its latest seconds.
OPEN_MUSIC_MIN_S = 5.0
OPEN_MUSIC_LOOK_S = 8.0


class ChannelTrack:
    """The analyser fed a stream: one channel of a live call, resampled, in chunks of any size."""

    def __init__(self, channel: int, role: Role, source_rate_hz: int, options: PipelineOptions,
                 tone_every_s: float, tone_window_s: float) -> None:
        self.channel = channel
        self.role = role
        self.rate_hz = options.audio.target_rate_hz
        self._options = options
        self._tone_every_s = tone_every_s
        self._tone_window_s = tone_window_s
        self._resampler = StreamResampler(source_rate_hz, self.rate_hz)
        self._vad = VadStream(options.vad, self.rate_hz)
        keep_s = options.vad.max_utterance_s + options.vad.end_silence_ms / 1000 + tone_window_s + 2.0
        self._history = ChannelHistory(self.rate_hz, keep_s)
        self._open_start_s: float | None = None
        self._since_tone_check = 0
        self.tone_start_s: float | None = None
        self._playing: tuple[float, float, bool] | None = None  # (open start, checked at, music?)
        self.speech: list[Span] = []
        self.music: list[Span] = []

    @property
    def time_s(self) -> float:
        return self._history.end_index / self.rate_hz

    def push(self, samples: np.ndarray) -> list[Span]:
        """Feed source-rate samples; returns the speech spans closed so far."""
        return self._feed(self._resampler.process(samples))

    def finish(self) -> list[Span]:
        spans = self._feed(self._resampler.flush())
        if self.tone_start_s is None:
            spans += self._check_tone(force=True)
        if self.tone_start_s is None:
            spans += self._classify(e.span for e in self._vad.finish() if e.kind == "end")
        return spans

    def clip_around(self, span: Span) -> tuple[float, AudioClip]:
        """The padded clip for ``span``, cut the way the batch pipeline cuts it."""
        bounds = clip_bounds_s(span, self._options.vad.pad_ms, self._audio_end_s)
        return bounds.start_s, self.clip_between(bounds)

    def clip_between(self, bounds: Span) -> AudioClip:
        """The audio from ``bounds.start_s`` to ``bounds.end_s`` (cut at the tone or the newest sample)."""
        bounds = Span(bounds.start_s, max(bounds.start_s, min(bounds.end_s, self._audio_end_s)))
        offset_s, samples = self._history.window(bounds.start_s)
        return cut_clip(samples, self.rate_hz, bounds.with_offset(-offset_s))

    @property
    def _audio_end_s(self) -> float:
        return self.time_s if self.tone_start_s is None else self.tone_start_s

    def pause(self) -> "Pause | None":
        """The open utterance as VAD will most likely close it, once its padded clip is complete.

        While an utterance is open and its channel has been quieter than the VAD energy floor
        for at least ``pad_ms`` (and less than ``end_silence_ms``, or VAD would have closed it),
        VAD will close it at the end of its last loud frame unless speech resumes: a frame is
        voiced only when it is loud. A guess, for starting ASR early; None otherwise.
        """
        if self._open_start_s is None or self.tone_start_s is not None:
            return None
        vad = self._options.vad
        frame_len = self.rate_hz * vad.frame_ms // 1000
        frames_done = self._vad.frames_seen
        look = min(frames_done, vad.end_silence_ms // vad.frame_ms + 1)
        offset_s, samples = self._history.window((frames_done - look) * frame_len / self.rate_hz)
        first = int(round(offset_s * self.rate_hz)) // frame_len
        levels = [frame_level_dbfs(samples[(k - first) * frame_len : (k - first + 1) * frame_len])
                  for k in range(first, frames_done)]
        loud = [first + i for i, level in enumerate(levels) if level >= vad.energy_floor_dbfs]
        if not loud:
            return None
        end_s = (loud[-1] + 1) * vad.frame_ms / 1000.0  # as VadStream times a span's end
        quiet_s = frames_done * frame_len / self.rate_hz - end_s
        if end_s <= self._open_start_s or quiet_s < vad.pad_ms / 1000 + 0.03:
            return None
        return Pause(Span(self._open_start_s, end_s), quiet_s)

    def activity(self, duration_s: float) -> ChannelActivity:
        """Speech, tone and music so far; music still playing counts up to now (a hold in progress)."""
        tone = () if self.tone_start_s is None else (Span(self.tone_start_s, max(duration_s, self.tone_start_s)),)
        playing = self._music_playing()
        music = tuple(join_spans(list(self.music) + ([playing] if playing else []), MUSIC_JOIN_GAP_S))
        return ChannelActivity(self.channel, self.role, tuple(self.speech), tone, music)

    def _music_playing(self) -> Span | None:
        """The open VAD segment as music, when its latest seconds sound like music.

        VAD closes hold music only every ``max_utterance_s``; without this a hold would show
        only after it ended. Classified at most every ``tone_every_s`` on the last
        ``OPEN_MUSIC_LOOK_S`` seconds (the batch path never sees an open segment).
        """
        start_s = self._open_start_s
        if start_s is None or self.tone_start_s is not None or self.time_s - start_s < OPEN_MUSIC_MIN_S:
            return None
        if self._playing is None or self._playing[0] != start_s or self.time_s - self._playing[1] >= self._tone_every_s:
            _, samples = self._history.window(max(start_s, self.time_s - OPEN_MUSIC_LOOK_S))
            self._playing = (start_s, self.time_s, classify_sound(samples, self.rate_hz) == "music")
        return Span(start_s, self.time_s) if self._playing[2] else None

    def _feed(self, samples: np.ndarray) -> list[Span]:
        if self.tone_start_s is not None or len(samples) == 0:
            self._history.append(samples)
            return []
        self._history.append(samples)
        spans: list[Span] = []
        for event in self._vad.push(samples):
            if event.kind == "start":
                self._open_start_s = event.time_s
            elif event.span is not None:
                self._open_start_s = None
                spans += self._classify([event.span])
        self._since_tone_check += len(samples)
        if self._since_tone_check >= self._tone_every_s * self.rate_hz:
            spans += self._check_tone()
        return spans

    def _check_tone(self, force: bool = False) -> list[Span]:
        self._since_tone_check = 0
        start_s, tail = self._history.tail(self._tone_window_s)
        if len(tail) < self.rate_hz // 2:
            return []
        tone = find_disconnect_tone(tail, self.rate_hz, self._options.tone)
        if tone is None:
            return []
        self.tone_start_s = start_s + tone.start_s
        return self._cut_at_tone(force)

    def _cut_at_tone(self, force: bool) -> list[Span]:
        """Batch runs VAD only up to the tone: redo the open utterance on the audio before it."""
        open_start_s, self._open_start_s = self._open_start_s, None
        if open_start_s is None or open_start_s >= self.tone_start_s:
            return []
        frame_s = self._options.vad.frame_ms / 1000.0
        from_s = math.floor(max(0.0, open_start_s - self._options.vad.start_window_ms / 1000) / frame_s) * frame_s
        offset_s, samples = self._history.window(from_s)
        cut = samples[: max(0, int(round((self.tone_start_s - offset_s) * self.rate_hz)))]
        spans = [s.with_offset(offset_s) for s in speech_spans(cut, self.rate_hz, self._options.vad)]
        return self._classify(s for s in spans if s.end_s > open_start_s)

    def _classify(self, spans: Iterable[Span]) -> list[Span]:
        """Keep speech; music (hold music) and tones never reach ASR (``sort_sounds``, as for whole channels)."""
        speech, music = sort_sounds(spans, self._history.between, self.rate_hz, self.channel)
        if self.role is Role.MIXED:
            speech, music = reclaim_mixed(speech, music, self._history.between, self.rate_hz)
        self.speech += speech
        self.music += music
        return speech
