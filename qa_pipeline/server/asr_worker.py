"""The one ASR worker every live call shares: a bounded queue, guesses and batches.

Clips of all live calls wait in one ``live_asr.AsrQueue`` (agent clips first, see
``pick_batch``) and go to the recognizer in batches on one thread, so the model is loaded once
and its threads are never oversubscribed (cf. sherpa-onnx streaming_server). Guesses
(``UtteranceLikely``) are transcribed only while ASR is idle: a wrong guess must never delay a
clip that is surely closed. Texts go back through the ``accept`` callback on the event loop.

Back-pressure instead of memory growth: ``clip`` waits while the queue is full, so the ingest
handler calling it stops reading its socket and TCP pushes back on the sender.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.live.asr import AsrQueue, Guess, GuessBook, WaitingClip, transcribe_voices
from qa_pipeline.server.calls import LiveCall
from qa_pipeline.asr.recognizer import ClipText, Recognizer
from qa_pipeline.live.session import UtteranceClosed, UtteranceLikely, UtterancePart

logger = logging.getLogger(__name__)

#: Called on the event loop with each transcribed clip: (call, clip id, text).
Accept = Callable[[LiveCall, int, ClipText], None]


@dataclass(eq=False)
class _Queued:
    call: LiveCall
    event: UtteranceClosed | UtterancePart | UtteranceLikely
    guess: Guess | None = None


class AsrWorker:
    """Queue, guesses and the ASR thread of the live server."""

    def __init__(self, recognizer: Recognizer, options: LiveAsrOptions, max_queued_clips: int, accept: Accept) -> None:
        self.recognizer = recognizer
        self._options = options
        self._max_queued = max_queued_clips
        self._accept = accept
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-asr")
        self._queue: AsrQueue | None = None
        self._guesses = GuessBook()
        self._busy = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the model (on the ASR thread) and start taking clips."""
        self._queue = AsrQueue(self._max_queued, self._options)
        load = getattr(self.recognizer, "load", None)
        if callable(load):
            await asyncio.get_running_loop().run_in_executor(self._pool, load)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def clip(self, call: LiveCall, event: UtteranceClosed | UtterancePart) -> None:
        """Transcribe a clip that surely needs text (a guess that matches a close is used instead)."""
        guess = self._guesses.claim(call.call_id, event) if isinstance(event, UtteranceClosed) else None
        await self._queue.discard(_is_stale)
        if guess is not None and guess.text is not None:
            self._accept(call, event.utterance_id, guess.text)  # guessed right: the text is ready
            return
        call.queued(event.utterance_id)
        if guess is not None:
            guess.utterance_id = event.utterance_id  # its ASR is under way
            return
        await self._queue.put(_waiting(call, event), _Queued(call, event))

    async def guess(self, call: LiveCall, event: UtteranceLikely) -> None:
        """Start ASR on a likely utterance while VAD waits to be sure, only with ASR idle."""
        guess = self._guesses.start(call.call_id, event)
        await self._queue.discard(_is_stale)
        if len(self._queue) or self._busy:
            guess.stale = True
            return
        if not await self._queue.try_put(_waiting(call, event), _Queued(call, event, guess)):
            guess.stale = True

    async def drop_call(self, call_id: str) -> None:
        """The call ended: its guesses are worthless (its closed clips stay queued)."""
        self._guesses.drop_call(call_id)
        await self._queue.discard(_is_stale)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch: list[_Queued] = await self._queue.take()
            self._busy = True
            try:
                texts = await loop.run_in_executor(self._pool, self._transcribe, batch)
            finally:
                self._busy = False
            for item, text in zip(batch, texts):
                guess = item.guess
                if guess is not None and guess.utterance_id is None:
                    guess.text = text  # kept until VAD closes the utterance (or dropped)
                    continue
                utterance_id = item.event.utterance_id if guess is None else guess.utterance_id
                self._accept(item.call, utterance_id, text)
                item.call.transcribed(utterance_id)

    def _transcribe(self, batch: list[_Queued]) -> list[ClipText]:
        def failed(n_clips: int) -> None:
            logger.exception("ASR failed on %d clips; their text is left empty", n_clips)

        return transcribe_voices(
            self.recognizer, [item.event.clip for item in batch], [item.event.context for item in batch],
            [(item.call.call_id, item.event.channel) for item in batch],
            separate_windows=bool(getattr(self.recognizer, "separate_windows", False)), on_error=failed,
            beam_size=self._options.beam_for(batch[0].event.role),
        )


def _waiting(call: LiveCall, event: UtteranceClosed | UtterancePart | UtteranceLikely) -> WaitingClip:
    """What the scheduler weighs for ``event``'s clip, queued now."""
    return WaitingClip((call.call_id, event.channel), event.role, event.clip.duration_s, time.monotonic())


def _is_stale(item: Any) -> bool:
    return item.guess is not None and item.guess.stale
