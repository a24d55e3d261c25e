"""Roles on a live mono call: each utterance's voice and role decided as the call goes.

A ``LiveSpeakers`` keeps the features of every closed utterance of the mixed channel (MFCCs,
~8 kB per second of speech; the audio itself is not kept). Each closed VAD span is cut where
the voice changes before it goes to ASR (two voice mixtures fitted on the speech so far, refitted
every ``refit_every_s`` of new speech), and all final utterances are relabelled whenever one is
added: windows clustered into two voices (``audio.speakers.label_spans``), the agent named from
the words (``text.roles``). At the end of the call ``final=True`` fits the two voice mixtures on
the whole call and revises every role, cutting bare answers out of the utterances that asked for them
(``text.replies``, as batch does). Long turns are not sent in parts on a mono call (a part
could hold both voices).

Before the call holds enough speech for two voices, each utterance is named from its own words:
agent cues first, else the first utterance is the agent's (who answers; not on an outbound call),
else the customer's,
with a confidence that puts it up for review.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from qa_pipeline.audio.speakers import SpanLabel, SpeakerModel, cut_raw, fit_raw, label_spans, span_features
from qa_pipeline.config import SpeakerOptions
from qa_pipeline.text.diarize import heard_one_voice, under_review
from qa_pipeline.text.replies import split_replies
from qa_pipeline.text.roles import AGENT_CUES, CUSTOMER_CUES, SpokenPiece, cue_weight, decide_roles
from qa_pipeline.types import Direction, Role, Span, Utterance

#: Confidence of a role named from one utterance's words alone (always under review).
EARLY_CONFIDENCE = 0.6


class LiveSpeakers:
    """Voices of one live mono channel (no model, no threads)."""

    def __init__(self, options: SpeakerOptions, refit_every_s: float = 15.0,
                 direction: Direction | None = None) -> None:
        self._options = options
        self._direction = direction
        self._refit_every_s = refit_every_s
        self._starts: list[float] = []
        self._raw: list[np.ndarray] = []
        self._model: SpeakerModel | None = None
        self._unfitted_s = 0.0

    def cut(self, span: Span, samples: np.ndarray, sample_rate_hz: int) -> list[Span]:
        """A closed VAD span of the mixed channel (``samples`` hold exactly it), cut where the
        voice changes once the call has voices to compare (before ASR, as batch cuts it)."""
        raw = span_features(samples, sample_rate_hz, Span(0.0, len(samples) / sample_rate_hz), self._options)
        self._unfitted_s += span.duration_s
        if self._raw and (self._model is None or self._unfitted_s >= self._refit_every_s):
            self._model = fit_raw(self._raw, self._options) or self._model
            self._unfitted_s = span.duration_s
        pieces = [span] if self._model is None else [p.span for p in cut_raw(span, self._raw + [raw], self._model, self._options)]
        hop_s = self._options.hop_ms / 1000
        for piece in pieces:
            first = int(round((piece.start_s - span.start_s) / hop_s))
            last = int(round((piece.end_s - span.start_s) / hop_s))
            self._starts.append(piece.start_s)
            self._raw.append(raw[first:last])
        return pieces

    def relabel(self, utterances: Sequence[Utterance], final: bool = False) -> list[Utterance]:
        """Every utterance with its current role and ``role_confidence``."""
        labels = label_spans(self._raw, self._options, fit=final) if self._raw else None
        if labels is None:
            return [self._early(u, i == 0) for i, u in enumerate(utterances)]
        by_start = dict(zip(self._starts, labels))
        voiced = [(u, self._label_of(u, by_start)) for u in utterances]
        decision = decide_roles((SpokenPiece(label.speaker, u.start_s, u.text) for u, label in voiced), self._direction)
        labelled = [
            replace(u, role=Role.AGENT if label.speaker == decision.agent_speaker else Role.CUSTOMER,
                    role_confidence=decision.role_probability(label.speaker, label.confidence))
            for u, label in voiced
        ]
        if heard_one_voice((label.speaker, u.duration_s) for u, label in voiced):
            labelled = under_review(labelled)
        # the final roles only: a split mid-call would renumber the utterances alerts point at
        return split_replies(labelled) if final else labelled

    def _label_of(self, utterance: Utterance, by_start: dict[float, SpanLabel]) -> SpanLabel:
        exact = by_start.get(utterance.start_s)
        if exact is not None:
            return exact
        nearest = min(by_start, key=lambda s: abs(s - utterance.start_s))
        return by_start[nearest]

    def _early(self, utterance: Utterance, first: bool) -> Utterance:
        agent = cue_weight(utterance.text, AGENT_CUES)
        customer = cue_weight(utterance.text, CUSTOMER_CUES)
        # on a tie the first utterance is the agent's, unless the agent placed the call
        is_agent = agent > customer or (agent == customer and first and self._direction != Direction.OUTBOUND)
        return replace(utterance, role=Role.AGENT if is_agent else Role.CUSTOMER, role_confidence=EARLY_CONFIDENCE)
