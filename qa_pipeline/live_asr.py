"""The live server's ASR side: which recognizer, and which waiting clips go to it next.

Alert latency is the time from the end of an offending utterance to its alert. Phrase alerts
(forbidden phrases, unauthorized promises) come from the agent, so agent clips jump the queue:
``pick_batch`` takes the waiting agent clips oldest first, and customer clips only when no agent
clip waits or once they have waited ``customer_max_wait_s``. Nothing is ever dropped.

``AsrQueue`` is a bounded waiting room with that choice: ``put`` blocks when it is full (so the
ingest handlers stop reading their sockets and TCP pushes back), ``take`` hands out one batch.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from qa_pipeline.config import AsrOptions
from qa_pipeline.recognizer import AudioClip, ClipText, Recognizer
from qa_pipeline.types import Role


@dataclass(frozen=True)
class LiveAsrOptions:
    """How the live server transcribes (the batch pipeline keeps ``AsrOptions`` as they are)."""

    # Greedy decoding: check agreement on the dev calls is the same as with beam 5 (bench/live_agreement.py).
    beam_size: int = 1
    # Each clip its own clip-length encoder window (asr_batched); False: 30 s windows (asr.py).
    clip_windows: bool = True
    # CTranslate2 threads; the default 2 matches the 2-core target box (0 lets CTranslate2 choose).
    cpu_threads: int = 2
    # One recognizer call takes at most this many clips / seconds of speech.
    batch_max_clips: int = 4
    batch_max_audio_s: float = 56.0
    # A customer clip waits behind agent clips at most this long.
    customer_max_wait_s: float = 2.0

    def __post_init__(self) -> None:
        if self.beam_size < 1 or self.batch_max_clips < 1 or self.cpu_threads < 0:
            raise ValueError("beam_size and batch_max_clips must be >= 1, cpu_threads >= 0")
        if self.batch_max_audio_s <= 0 or self.customer_max_wait_s < 0:
            raise ValueError("batch_max_audio_s must be > 0 and customer_max_wait_s >= 0")


def live_recognizer(asr: AsrOptions, live: LiveAsrOptions = LiveAsrOptions()) -> Any:
    """The recognizer ``qa serve`` uses: ``asr`` with the live beam and threads (model not loaded yet)."""
    options = replace(asr, beam_size=live.beam_size, cpu_threads=live.cpu_threads)
    if live.clip_windows:
        from qa_pipeline.asr_batched import ClipWindowOptions, ClipWindowRecognizer

        return ClipWindowRecognizer(options, ClipWindowOptions(max_batch=live.batch_max_clips))
    from qa_pipeline.asr import FasterWhisperRecognizer

    return FasterWhisperRecognizer(options)


@dataclass(frozen=True)
class WaitingClip:
    """What the scheduler needs to know about a clip waiting for ASR."""

    voice: tuple[str, int]  # (call id, channel)
    role: Role
    duration_s: float
    queued_s: float  # monotonic time it joined the queue


def pick_batch(waiting: Sequence[WaitingClip], now_s: float, options: LiveAsrOptions) -> list[int]:
    """Positions in ``waiting`` (oldest first) of the clips to transcribe next; never empty if ``waiting`` is not."""
    def urgent(clip: WaitingClip) -> bool:
        return clip.role != Role.CUSTOMER or now_s - clip.queued_s >= options.customer_max_wait_s

    order = sorted(range(len(waiting)), key=lambda i: waiting[i].queued_s)
    first = [i for i in order if urgent(waiting[i])] or order
    chosen: list[int] = []
    audio_s = 0.0
    for i in first:
        if chosen and (len(chosen) >= options.batch_max_clips or audio_s + waiting[i].duration_s > options.batch_max_audio_s):
            break
        chosen.append(i)
        audio_s += waiting[i].duration_s
    return chosen


def transcribe_in_context(recognizer: Recognizer, clips: Sequence[AudioClip], contexts: Sequence[str]) -> list[ClipText]:
    """``recognizer.transcribe_in_context`` when the recognizer takes each clip's previous text, else ``transcribe``."""
    in_context = getattr(recognizer, "transcribe_in_context", None)
    if callable(in_context):
        return in_context(clips, contexts)
    return recognizer.transcribe(clips)


def transcribe_voices(recognizer: Recognizer, clips: Sequence[AudioClip], contexts: Sequence[str],
                      voices: Sequence[Any], separate_windows: bool, on_error: Callable[[int], None]) -> list[ClipText]:
    """Texts for a batch: one recognizer call, or one per voice when the recognizer packs
    clips into shared windows (a window switching voices loses text, see pipeline.py).

    ``on_error(n_clips)`` is told about a failed call; its clips get empty text.
    """
    groups: dict[Any, list[int]] = {}
    for index, voice in enumerate(voices):
        groups.setdefault(None if separate_windows else voice, []).append(index)
    texts = [ClipText("") for _ in clips]
    for indices in groups.values():
        try:
            results = transcribe_in_context(recognizer, [clips[i] for i in indices], [contexts[i] for i in indices])
        except Exception:  # one bad batch must not stop every live call
            on_error(len(indices))
            continue
        for index, result in zip(indices, results):
            texts[index] = result
    return texts


class AsrQueue:
    """Bounded queue of items with a ``WaitingClip`` each; ``take`` returns the batch ``pick_batch`` picks."""

    def __init__(self, max_items: int, options: LiveAsrOptions) -> None:
        if max_items < 1:
            raise ValueError("max_items must be >= 1")
        self._options = options
        self._items: list[tuple[WaitingClip, Any]] = []
        self._space = asyncio.Semaphore(max_items)
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, clip: WaitingClip, item: Any) -> None:
        await self._space.acquire()
        self._items.append((clip, item))
        self._ready.set()

    async def take(self) -> list[Any]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        chosen = set(pick_batch([c for c, _ in self._items], time.monotonic(), self._options))
        batch = [item for i, (_, item) in enumerate(self._items) if i in chosen]
        self._items = [entry for i, entry in enumerate(self._items) if i not in chosen]
        for _ in batch:
            self._space.release()
        return batch
