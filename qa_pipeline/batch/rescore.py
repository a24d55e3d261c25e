"""Re-score the stored transcripts under another policy, without ASR (``qa batch --rescore``).

Each stored transcript (``ResultStore.iter_rescore_inputs``) is checked and scored again with the
new policy and stored as a new row keyed ``(audio_sha256, new policy_id, model_id)`` — the key
scheme of every batch — so re-running is a no-op, the old policy's rows stay, and the daily report
shows the newest scoring of each call. Runs in this process: scoring text is fast (bench/rescore.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from qa_pipeline.batch.driver import BatchResult, FailedCall
from qa_pipeline.errors import QAError
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.run import score_transcript
from qa_pipeline.store.results import CallKey, RescoreInput, ResultStore
from qa_pipeline.text.segment import segmenter_for
from qa_pipeline.text.transcript_io import transcript_from_dict
from qa_pipeline.types import CallMeta

__all__ = ["RescoreResult", "rescore_store"]

#: Called after every stored transcript with (done so far, total found).
RescoreHook = Callable[[int, int], None]


@dataclass(frozen=True)
class RescoreResult:
    """The batch counts of a rescore, the policy it used, and how many calls had only a report."""

    batch: BatchResult
    policy_id: str
    from_reports: int

    @property
    def calls_per_s(self) -> float:
        """Calls scored anew per second of wall time (0 when none were)."""
        elapsed_s = self.batch.elapsed_s
        return self.batch.scored / elapsed_s if elapsed_s > 0 and self.batch.scored else 0.0


def rescore_store(store: ResultStore, policy: Policy, hook: RescoreHook | None = None) -> RescoreResult:
    """Score every stored transcript not yet scored under ``policy`` and store each result at once."""
    started = time.monotonic()
    inputs = list(store.iter_rescore_inputs())
    done = store.done_keys()
    segmenter = segmenter_for(policy.user_dict)
    keys: list[CallKey] = []
    failures: list[FailedCall] = []
    scored = skipped = from_reports = 0
    audio_s = 0.0
    for count, item in enumerate(inputs, 1):
        key = CallKey(item.audio_sha256, policy.policy_id, item.model_id)
        keys.append(key)
        if key in done:
            skipped += 1
        else:
            try:
                meta = CallMeta.from_dict(item.meta, _where(item))
                transcript = transcript_from_dict(item.transcript, _where(item), segmenter,
                                                  normalized=not item.from_report)
                report = score_transcript(transcript, meta, policy, item.model_id)
            except QAError as exc:  # a stored value that no longer validates fails that call only
                store.record_failure(key, item.source, exc.one_line())
                failures.append(FailedCall(item.source, exc.one_line()))
            else:
                # A call rescored from its report gets its transcript stored now; the others have one.
                kept = transcript if item.from_report else None
                store.record_result(key, report.to_dict(), item.source, report.meta, transcript=kept)
                audio_s += transcript.duration_s
                from_reports += item.from_report
            scored += 1
            done.add(key)
        if hook is not None:
            hook(count, len(inputs))
    batch = BatchResult(len(inputs), skipped, scored, tuple(failures), tuple(dict.fromkeys(keys)),
                        time.monotonic() - started, audio_s)
    return RescoreResult(batch, policy.policy_id, from_reports)


def _where(item: RescoreInput) -> str:
    return f"{item.source} (stored transcript)"

