"""Judgement over the clause analysis: phrase hits that hold up, patterns, and the example-trained model.

Every phrase check asks the same questions of a hit, so they live here once:

* word boundaries — a phrase of two characters must be the same characters on jieba word
  boundaries (很不幸 never yields 不行); three characters may also sound the same, still on
  boundaries; longer phrases keep the tolerant matcher;
* scope — is the clause a question, hypothetical, negated or hedged before the hit;
* semantics — a policy ``[[intent]]`` recognises a clause by a head + outcome pattern inside the
  clause, or by the model trained from its examples; a hit records what it matched or resembled
  and its score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from qa_pipeline.policy.policy import Intent, Policy
from qa_pipeline.rules.base import Hit, find_in
from qa_pipeline.text.analysis import Clause, clause_at, clauses, hedged, negated_before, on_word_boundaries
from qa_pipeline.text.intent import intent_model
from qa_pipeline.text.match import PhraseMatch, find_phrases
from qa_pipeline.text.normalize import match_form
from qa_pipeline.types import Utterance

__all__ = ["Judged", "clauses_of", "judge_clauses", "sound_hits", "scope_of"]


@dataclass(frozen=True)
class Judged:
    """A clause recognised as an intent: how (phrase, pattern or model), the label and the score."""

    hit: Hit
    via: str
    label: str
    score: float

    def to_hit_dict(self, phrase: str | None = None) -> dict[str, object]:
        record = self.hit.to_hit_dict(phrase or self.label)
        record.update({"via": self.via, "resembles": self.label, "score": round(self.score, 3)})
        return record


def clauses_of(utterance: Utterance, policy: Policy) -> tuple[Clause, ...]:
    return clauses(utterance.text, utterance.words, policy.pause_s)


def _sound_ok(utterance: Utterance, match: PhraseMatch, policy: Policy) -> bool:
    """Short phrases: the same characters (2 chars) or sound (3 chars) on word boundaries."""
    size = len(match_form(match.phrase))
    if size > policy.matching.short_max_chars:
        return True
    if not on_word_boundaries(utterance.text, match.start_char, match.end_char):
        return False
    return size > 2 or match_form(match.matched) == match_form(match.phrase)


def sound_hits(utterances: Iterable[Utterance], phrases: Iterable[str], policy: Policy) -> list[Hit]:
    """``find_in`` keeping only hits that respect word boundaries and the length-graded tolerance."""
    return [h for h in find_in(utterances, phrases, policy) if _sound_ok(h.utterance, h.match, policy)]


def scope_of(hit: Hit, policy: Policy) -> tuple[Clause | None, str | None]:
    """The clause of a hit, and the negator or hedge that cancels it (None when it stands)."""
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    if clause is None:
        return None, None
    return clause, negated_before(clause, hit.match.start_char) or hedged(clause)


def _pattern_hit(utterance: Utterance, clause: Clause, intent: Intent, policy: Policy) -> Judged | None:
    """A head and an outcome in the same clause, the outcome after (or overlapping) the head."""
    for head in intent.heads:
        for h in find_phrases(clause.text, head, policy.matching):
            if negated_before(clause, clause.start_char + h.start_char) or not _clause_sound_ok(clause, h, policy):
                continue
            for outcome in intent.outcomes:
                for o in find_phrases(clause.text, outcome, policy.matching):
                    if o.end_char > h.start_char and _clause_sound_ok(clause, o, policy):
                        start, end = clause.start_char + h.start_char, clause.start_char + max(o.end_char, h.end_char)
                        label = f"{head}…{outcome}"
                        match = PhraseMatch(label, utterance.text[start:end], start, end, min(h.similarity, o.similarity))
                        return Judged(Hit(utterance, match), "pattern", label, match.similarity)
    return None


def _clause_sound_ok(clause: Clause, match: PhraseMatch, policy: Policy) -> bool:
    size = len(match_form(match.phrase))
    if size > policy.matching.short_max_chars:
        return True
    return size > 2 or match_form(match.matched) == match_form(match.phrase)


def _model_hit(utterance: Utterance, clause: Clause, intent: Intent) -> Judged | None:
    if not intent.examples.positive or len(match_form(clause.text)) < 2:
        return None
    resemblance = intent_model(intent.examples).resemble(clause.text)
    if resemblance.probability < intent.threshold:
        return None
    match = PhraseMatch(resemblance.example, clause.text, clause.start_char, clause.end_char, resemblance.probability)
    return Judged(Hit(utterance, match), "model", resemblance.example, resemblance.probability)


def judge_clauses(
    utterance: Utterance,
    intent_name: str,
    policy: Policy,
    *,
    drop_questions: bool = False,
    drop_hypothetical: bool = False,
    drop_hedged: bool = False,
) -> list[Judged]:
    """Clauses of one utterance recognised as the intent (pattern first, then the model)."""
    intent = policy.intents.get(intent_name)
    if intent is None:
        return []
    found: list[Judged] = []
    for clause in clauses_of(utterance, policy):
        if (drop_questions and clause.question) or (drop_hypothetical and clause.hypothetical):
            continue
        if drop_hedged and hedged(clause):
            continue
        judged = _pattern_hit(utterance, clause, intent, policy) or _model_hit(utterance, clause, intent)
        if judged is not None:
            found.append(judged)
    return found
