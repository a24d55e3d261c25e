"""The fresh held-out corpus (tests/judgement/fresh.tsv) keeps the shape the measurement relies on.

Only the data is checked here (no judgement is run): the file loads with the same reader as the
bench, every row is a known check with its framing role, labels agree with kinds, and each check
keeps enough positives and near-misses to measure precision, recall and near-miss false alarms.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from qa_pipeline.eval.judgement import CHECKS, load_corpus

FRESH = Path(__file__).parent / "judgement" / "fresh.tsv"
ROLES = {"forbidden": "agent", "promise": "agent", "complaint": "customer", "comfort": "agent", "thanks": "agent"}


def test_fresh_corpus_loads_as_one_split_with_framing_roles() -> None:
    items = load_corpus(FRESH)
    assert len(items) >= 600
    assert {i.split for i in items} == {"fresh"}
    assert {i.check for i in items} == set(CHECKS)
    assert all(i.role == ROLES[i.check] for i in items)
    assert all(i.label == (i.kind == "positive") for i in items)
    assert all(i.kind in ("positive", "near_miss", "negative") for i in items)
    assert len({(i.text, i.check) for i in items}) == len(items)


def test_fresh_corpus_balances_positives_and_near_misses_per_check() -> None:
    items = load_corpus(FRESH)
    kinds = Counter((i.check, i.kind) for i in items)
    for check in CHECKS:
        total = sum(n for (c, _), n in kinds.items() if c == check)
        assert 0.40 <= kinds[(check, "positive")] / total <= 0.50, check
        assert kinds[(check, "near_miss")] / total >= 0.40, check
        assert kinds[(check, "negative")] > 0, check
