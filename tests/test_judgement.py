"""The judgement on sentences nobody tuned to: the held-out half of tests/judgement/corpus.tsv.

Every sentence goes through the real check (``qa_pipeline.eval.judgement.flagged``). The corpus was
written for coverage (many banks and products, 43 % near-misses); the held-out half is never used
to tune the policy. The floors below are what the judgement reaches today, so that a change that
loses ground fails. Issue 10's targets (precision >= 95 %, recall >= 90 % for forbidden, promise and
complaint; comfort agreement >= 90 %) are met on this held-out half; ``tests/judgement/fresh.tsv``
(written independently, never tuned on) is the harder measure — see ``python bench/judgement.py``.
"""

from __future__ import annotations

from pathlib import Path

import re

import pytest

from qa_pipeline.eval.judgement import corrupt, flagged, load_corpus, score
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.text.normalize import match_form

CORPUS = load_corpus(Path(__file__).parent / "judgement" / "corpus.tsv")
HELD_OUT = [item for item in CORPUS if item.split == "heldout"]
POLICY = load_policy()

# check -> (precision floor, recall floor, most near-misses flagged)
FLOORS = {
    "forbidden": (0.95, 0.93, 1),
    "promise": (0.95, 0.93, 1),
    "complaint": (0.95, 0.90, 0),
    "comfort": (0.95, 0.90, 0),
    "thanks": (0.95, 0.95, 0),
}


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 600
    assert sum(item.kind == "near_miss" for item in CORPUS) >= 0.4 * len(CORPUS)
    assert {item.split for item in CORPUS} == {"dev", "heldout"}


def test_no_corpus_sentence_in_the_policy() -> None:
    """Policy strings (phrases, patterns, examples) are never corpus sentences."""
    strings = {
        match_form(s)
        for path in Path(POLICY.source).glob("*.toml")
        for s in re.findall(r'"([^"]+)"', path.read_text(encoding="utf-8"))
    }
    copied = [item.text for item in CORPUS if match_form(item.text) in strings and len(match_form(item.text)) > 4]
    assert copied == []


@pytest.mark.parametrize("check", sorted(FLOORS))
def test_held_out_precision_and_recall(check: str) -> None:
    rows = [item for item in HELD_OUT if item.check == check]
    verdicts = [flagged(check, item.text, POLICY) for item in rows]
    result = score(rows, verdicts, check)
    precision_floor, recall_floor, near_misses = FLOORS[check]
    assert result.precision >= precision_floor, result
    assert result.recall >= recall_floor, result
    assert result.near_miss_flagged <= near_misses, result


def test_corrupted_copy_is_asr_like() -> None:
    alphabet = "".join(sorted({c for item in CORPUS for c in item.text}))
    text = "您放心，我保证今天下午钱就到您账上。"
    copy = corrupt(text, 7, alphabet, rate=0.5)
    assert "，" not in copy and "。" not in copy
    assert len(copy) == len(text) - 2 and copy != text.replace("，", "").replace("。", "")
    assert corrupt(text, 7, alphabet, rate=0.5) == copy  # deterministic
