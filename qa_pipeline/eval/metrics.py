"""Metric primitives for ``qa eval``: time-tolerant pairing of hits and holds, and character errors.

Pure functions over dicts shaped like the JSON contract (``start_s``/``end_s``/``role``/``text``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from rapidfuzz.distance import Levenshtein

from qa_pipeline.text.normalize import match_form
HIT_TOLERANCE_S = 0.5
HOLD_EDGE_TOLERANCE_S = 3.0
LONG_HOLD_S = 60.0


@dataclass(frozen=True)
class HitCounts:
    """Matched, predicted and labelled hits (phrases or holds) over a set of calls."""

    matched: int = 0
    predicted: int = 0
    expected: int = 0

    @property
    def precision(self) -> float | None:
        return self.matched / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.expected if self.expected else None

    def __add__(self, other: "HitCounts") -> "HitCounts":
        return HitCounts(
            self.matched + other.matched, self.predicted + other.predicted, self.expected + other.expected
        )


@dataclass(frozen=True)
class CharErrors:
    """Character edits against reference characters (match form), summed over calls."""

    edits: int = 0
    reference_chars: int = 0

    @property
    def cer(self) -> float | None:
        return self.edits / self.reference_chars if self.reference_chars else None

    def __add__(self, other: "CharErrors") -> "CharErrors":
        return CharErrors(self.edits + other.edits, self.reference_chars + other.reference_chars)


def _span(item: Mapping[str, Any]) -> tuple[float, float]:
    return float(item["start_s"]), float(item["end_s"])


def spans_meet(a: Mapping[str, Any], b: Mapping[str, Any], tolerance_s: float) -> bool:
    """The two time spans overlap once each is widened by ``tolerance_s``."""
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    return a_start <= b_end + tolerance_s and b_start <= a_end + tolerance_s


def holds_match(a: Mapping[str, Any], b: Mapping[str, Any], tolerance_s: float = HOLD_EDGE_TOLERANCE_S) -> bool:
    (a_start, a_end), (b_start, b_end) = _span(a), _span(b)
    return abs(a_start - b_start) <= tolerance_s and abs(a_end - b_end) <= tolerance_s


def pair_count(
    predicted: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, Any]],
    matches: Callable[[Mapping[str, Any], Mapping[str, Any]], bool],
) -> int:
    """How many one-to-one pairs (each item used once) ``matches`` allows, greedily in time order."""
    free = sorted(predicted, key=lambda p: float(p["start_s"]))
    count = 0
    for truth in sorted(expected, key=lambda t: float(t["start_s"])):
        partner = next((p for p in free if matches(p, truth)), None)
        if partner is not None:
            free.remove(partner)
            count += 1
    return count


def is_agent_speech(
    hit: Mapping[str, Any], utterances: Sequence[Mapping[str, Any]], tolerance_s: float = HIT_TOLERANCE_S
) -> bool:
    """The hit's role when given, else whether its midpoint falls in an agent utterance (± tolerance)."""
    if hit.get("role"):
        return hit["role"] == "agent"
    start_s, end_s = _span(hit)
    middle_s = (start_s + end_s) / 2
    return any(
        u.get("role") == "agent" and float(u["start_s"]) - tolerance_s <= middle_s <= float(u["end_s"]) + tolerance_s
        for u in utterances
    )


def hit_counts(
    predicted: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, Any]],
    utterances: Sequence[Mapping[str, Any]],
    tolerance_s: float = HIT_TOLERANCE_S,
) -> HitCounts:
    agent_hits = [h for h in predicted if is_agent_speech(h, utterances, tolerance_s)]
    matched = pair_count(agent_hits, expected, lambda p, t: spans_meet(p, t, tolerance_s))
    return HitCounts(matched, len(predicted), len(expected))


def only_long_holds(holds: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Holds longer than LONG_HOLD_S."""
    return [h for h in holds if _span(h)[1] - _span(h)[0] > LONG_HOLD_S]


def long_hold_counts(predicted: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]]) -> HitCounts:
    """Predicted holds longer than LONG_HOLD_S paired with labelled long holds (edges within tolerance)."""
    long_predicted = only_long_holds(predicted)
    return HitCounts(pair_count(long_predicted, expected, holds_match), len(long_predicted), len(expected))


def char_errors(reference: str, hypothesis: str) -> CharErrors:
    """Edits from ``hypothesis`` to ``reference``, both in match form (no punctuation, numerals spelt)."""
    ref, hyp = match_form(reference), match_form(hypothesis)
    return CharErrors(Levenshtein.distance(ref, hyp), len(ref))
