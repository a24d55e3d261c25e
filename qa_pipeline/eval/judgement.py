"""Measuring the judgement on labelled sentences: precision and recall per check, clean and ASR-like.

A labelled corpus is a TSV (``text, role, check, label, kind, split``). Each sentence goes through
the real check as a one- or two-utterance call: ``forbidden`` and ``promise`` as an agent utterance,
``complaint`` as a customer utterance, ``comfort`` as the agent's answer to a fixed complaint,
``thanks`` as the agent's answer to fixed praise. ``corrupt`` makes the ASR-like copy: punctuation
dropped and about one character in eight swapped for another with the same toneless pinyin.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.base import CallContext
from qa_pipeline.rules.run import run_checks
from qa_pipeline.text.normalize import is_cjk, normalize_display
from qa_pipeline.types import CallMeta, ChannelActivity, Role, Transcript, Utterance

__all__ = ["Labelled", "Score", "corrupt", "load_corpus", "flagged", "score"]

CHECKS = ("forbidden", "promise", "complaint", "comfort", "thanks")
_COMPLAINT_CONTEXT = "我对这次的处理结果非常不满意。"
_PRAISE_CONTEXT = "你这位客服服务很好，很专业。"


@dataclass(frozen=True)
class Labelled:
    text: str
    role: str
    check: str
    label: bool
    kind: str  # positive, negative, near_miss
    split: str  # dev, heldout


@dataclass(frozen=True)
class Score:
    check: str
    true_pos: int
    false_pos: int
    false_neg: int
    agreed: int
    total: int
    near_miss_flagged: int

    @property
    def precision(self) -> float:
        flagged_count = self.true_pos + self.false_pos
        return 1.0 if flagged_count == 0 else self.true_pos / flagged_count

    @property
    def recall(self) -> float:
        positives = self.true_pos + self.false_neg
        return 1.0 if positives == 0 else self.true_pos / positives

    @property
    def agreement(self) -> float:
        return self.agreed / max(self.total, 1)


def load_corpus(path: Path) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        Labelled(r["text"], r["role"], r["check"], r["label"] == "1", r["kind"], r["split"]) for r in rows
    ]


@lru_cache(maxsize=1)
def _homophones(alphabet: str) -> dict[str, tuple[str, ...]]:
    from pypinyin import lazy_pinyin

    groups: dict[str, list[str]] = {}
    for char in alphabet:
        groups.setdefault(lazy_pinyin(char)[0], []).append(char)
    return {c: tuple(o for o in groups[lazy_pinyin(c)[0]] if o != c) for c in alphabet}


def corrupt(text: str, seed: int, alphabet: str, rate: float = 0.125) -> str:
    """An ASR-like copy: punctuation dropped, same-sound character swaps (deterministic per seed)."""
    rng = random.Random(seed)
    sounds = _homophones(alphabet)
    out = []
    for char in text:
        if not (char.isalnum() or is_cjk(char)):
            continue
        choices = sounds.get(char, ())
        out.append(rng.choice(choices) if choices and rng.random() < rate else char)
    return "".join(out)


def _call(*turns: tuple[Role, str]) -> CallContext:
    utterances = tuple(
        Utterance(role, 0 if role == Role.AGENT else 1, 2.0 * i, 2.0 * i + 1.5, normalize_display(text))
        for i, (role, text) in enumerate(turns)
    )
    activity = tuple(
        ChannelActivity(ch, role, tuple(u.span for u in utterances if u.role == role), (), ())
        for ch, role in enumerate((Role.AGENT, Role.CUSTOMER))
    )
    return CallContext(Transcript("judgement", 2.0 * len(turns) + 1.0, 8000, 2, utterances, activity), CallMeta())


def _run(name: str, context: CallContext, policy: Policy):
    return run_checks(context, policy, names=(name,))[0]


def flagged(check: str, text: str, policy: Policy) -> bool:
    """Whether the real check flags ``text`` (for comfort and thanks: whether the answer counts)."""
    if check == "forbidden":
        return not _run("forbidden_phrases", _call((Role.AGENT, text)), policy).passed
    if check == "promise":
        return not _run("unauthorized_promise", _call((Role.AGENT, text)), policy).passed
    if check == "complaint":
        return bool(_run("complaint_handling", _call((Role.CUSTOMER, text)), policy).details["complaint"])
    if check == "comfort":
        context = _call((Role.CUSTOMER, _COMPLAINT_CONTEXT), (Role.AGENT, text))
        return _run("complaint_handling", context, policy).details["comforted"] is True
    if check == "thanks":
        context = _call((Role.CUSTOMER, _PRAISE_CONTEXT), (Role.AGENT, text))
        feedback = _run("complaint_handling", context, policy).details["feedback"]
        return bool(feedback) and feedback[0]["thanked"] is True
    raise ValueError(f"unknown check {check!r}")


def score(items: Sequence[Labelled], verdicts: Iterable[bool], check: str) -> Score:
    pairs = [(item, v) for item, v in zip(items, verdicts) if item.check == check]
    tp = sum(1 for i, v in pairs if v and i.label)
    fp = sum(1 for i, v in pairs if v and not i.label)
    fn = sum(1 for i, v in pairs if not v and i.label)
    near = sum(1 for i, v in pairs if v and i.kind == "near_miss")
    return Score(check, tp, fp, fn, sum(1 for i, v in pairs if v == i.label), len(pairs), near)
