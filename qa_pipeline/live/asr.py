"""The live server's ASR side: which waiting clips go to the recognizer next (built by ``asr.factory``).

Alert latency is the time from the end of an offending utterance to its alert. Phrase alerts
(forbidden phrases, unauthorized promises) come from the agent, so agent clips jump the queue:
``pick_batch`` takes the waiting agent clips oldest first, and customer clips only when no agent
clip waits or once they have waited ``customer_max_wait_s``. A batch decodes with one beam, so
when customer clips get a smaller beam (``customer_beam_size``) they go in batches of their
own. Nothing is ever dropped.

``AsrQueue`` is a bounded waiting room with that choice: ``put`` blocks when it is full (so the
ingest handlers stop reading their sockets and TCP pushes back), ``take`` hands out one batch.

``GuessBook`` keeps the early transcriptions of likely utterances (``streaming.UtteranceLikely``):
ASR starts while VAD still waits ``end_silence_ms`` to be sure, and the text is used only if VAD
then closes exactly that utterance.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.asr.recognizer import AudioClip, ClipText, Recognizer
from qa_pipeline.types import Role


@dataclass(frozen=True)
class WaitingClip:
    """What the scheduler needs to know about a clip waiting for ASR."""

    voice: tuple[str, int]  # (call id, channel)
    role: Role
    duration_s: float
    queued_s: float  # monotonic time it joined the queue


def pick_batch(waiting: Sequence[WaitingClip], now_s: float, options: LiveAsrOptions) -> list[int]:
    """Positions in ``waiting`` (oldest first) of the clips to transcribe next; never empty if ``waiting`` is not.

    One batch decodes with one beam, so it holds clips of one beam (``LiveAsrOptions.beam_for``).
    """
    def urgent(clip: WaitingClip) -> bool:
        return clip.role != Role.CUSTOMER or now_s - clip.queued_s >= options.customer_max_wait_s

    order = sorted(range(len(waiting)), key=lambda i: waiting[i].queued_s)
    first = [i for i in order if urgent(waiting[i])] or order
    chosen: list[int] = []
    audio_s = 0.0
    beam = options.beam_for(waiting[first[0]].role)
    for i in (i for i in first if options.beam_for(waiting[i].role) == beam):
        if chosen and (len(chosen) >= options.batch_max_clips or audio_s + waiting[i].duration_s > options.batch_max_audio_s):
            break
        chosen.append(i)
        audio_s += waiting[i].duration_s
    return chosen


def transcribe_in_context(recognizer: Recognizer, clips: Sequence[AudioClip], contexts: Sequence[str],
                          beam_size: int | None = None) -> list[ClipText]:
    """``recognizer.transcribe_in_context`` when the recognizer takes each clip's previous text
    (and ``beam_size``, when given), else ``transcribe``."""
    in_context = getattr(recognizer, "transcribe_in_context", None)
    if callable(in_context):
        return in_context(clips, contexts) if beam_size is None else in_context(clips, contexts, beam_size=beam_size)
    return recognizer.transcribe(clips)


def transcribe_voices(recognizer: Recognizer, clips: Sequence[AudioClip], contexts: Sequence[str],
                      voices: Sequence[Any], separate_windows: bool, on_error: Callable[[int], None],
                      beam_size: int | None = None) -> list[ClipText]:
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
            results = transcribe_in_context(recognizer, [clips[i] for i in indices], [contexts[i] for i in indices],
                                            beam_size)
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
        self._max = max_items
        self._options = options
        self._items: list[tuple[WaitingClip, Any]] = []
        self._changed = asyncio.Condition()

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, clip: WaitingClip, item: Any) -> None:
        """Queue ``item``; waits while the queue is full (back-pressure)."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._items) < self._max)
            self._items.append((clip, item))
            self._changed.notify_all()

    async def try_put(self, clip: WaitingClip, item: Any) -> bool:
        """Queue ``item`` only if there is room now (for work that may be skipped)."""
        async with self._changed:
            if len(self._items) >= self._max:
                return False
            self._items.append((clip, item))
            self._changed.notify_all()
            return True

    async def discard(self, unwanted: Callable[[Any], bool]) -> int:
        """Remove the waiting items ``unwanted`` says yes to; returns how many."""
        async with self._changed:
            kept = [entry for entry in self._items if not unwanted(entry[1])]
            removed = len(self._items) - len(kept)
            self._items = kept
            self._changed.notify_all()
            return removed

    async def take(self) -> list[Any]:
        """The next batch (waits for at least one item)."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._items))
            chosen = set(pick_batch([c for c, _ in self._items], time.monotonic(), self._options))
            batch = [item for i, (_, item) in enumerate(self._items) if i in chosen]
            self._items = [entry for i, entry in enumerate(self._items) if i not in chosen]
            self._changed.notify_all()
            return batch


@dataclass(eq=False)
class Guess:
    """An early transcription of a likely utterance (``streaming.UtteranceLikely``)."""

    call_id: str
    event: Any  # UtteranceLikely
    text: ClipText | None = None
    # Set when VAD closed the utterance as guessed while its ASR was still running.
    utterance_id: int | None = None
    stale: bool = False


class GuessBook:
    """The newest guess of every (call, channel); a newer guess or a different close makes it stale."""

    def __init__(self) -> None:
        self._by_voice: dict[tuple[str, int], Guess] = {}

    def start(self, call_id: str, event: Any) -> Guess:
        old = self._by_voice.get((call_id, event.channel))
        if old is not None:
            old.stale = True
        guess = self._by_voice[(call_id, event.channel)] = Guess(call_id, event)
        return guess

    def claim(self, call_id: str, closed: Any) -> Guess | None:
        """The live guess ``closed`` (an ``UtteranceClosed``) confirms, else None (the guess goes stale)."""
        guess = self._by_voice.pop((call_id, closed.channel), None)
        if guess is None or guess.stale:
            return None
        if not guess.event.matches(closed):
            guess.stale = True
            return None
        return guess

    def drop_call(self, call_id: str) -> None:
        for key in [k for k in self._by_voice if k[0] == call_id]:
            self._by_voice.pop(key).stale = True
