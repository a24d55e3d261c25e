"""QA policy: phrase lists, thresholds, weights and caps, loaded from TOML files.

A policy is a directory of ``*.toml`` files (the bundled default is ``qa_pipeline/lexicons/default``)
or a single TOML file; reading, merging and validating them (every error names ``file:line``) is
``qa_pipeline.policy.files``. Two plain-text files beside them, if present: ``userdict.txt`` is the
jieba user dictionary, and ``background_talk.txt`` holds ordinary call talk (one utterance per line)
that joins ``[judgement] background``: sentences that are never any intent, so that the models learn
what a neutral clause sounds like and do not take a fact or a garbled clause for a complaint.
``labelled_<intent>.tsv`` files beside them add labelled sentences to an intent's examples
(``qa_pipeline.policy.labelled``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from qa_pipeline.text.intent import IntentExamples
from qa_pipeline.text.match import GappedPattern, MatchOptions
from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.files import PHRASE_LISTS, SCHEMA, default_policy_dir, read_policy_files, read_utf8
from qa_pipeline.policy.labelled import LabelledSentences, labelled_beside
from qa_pipeline.policy.standard import StandardRules, build_standard

__all__ = [
    "Bank",
    "Caps",
    "ClausePattern",
    "ForbiddenPhrase",
    "Intent",
    "Policy",
    "Thresholds",
    "load_policy",
]


@dataclass(frozen=True)
class Thresholds:
    rate_min_cpm: float
    rate_max_cpm: float
    rate_target_cpm: float
    inbound_limit_s: float
    outbound_limit_s: float
    hold_limit_s: float
    greeting_window_s: float
    closing_last_utterances: int
    comfort_within_turns: int
    overtalk_s: float
    dead_air_s: float
    seconds_per_ring: float
    max_rings: int


@dataclass(frozen=True)
class Caps:
    """Highest score a call can reach after a critical violation."""

    agent_hangup: float
    forbidden_phrase: float


@dataclass(frozen=True)
class Bank:
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def spoken_forms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class ForbiddenPhrase:
    phrase: str
    variants: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    whole_reply: bool = False

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.phrase, *self.variants)


@dataclass(frozen=True)
class ClausePattern:
    """A head word and an outcome word in one clause, the outcome at or after the head and the head
    not negated; without heads the outcome alone (not negated) is enough. ``question``: only in a
    question (True), only in a statement (False), either (None). ``supposed = False``: never in a
    supposition (万一您记错了，可以重置 says what to do, it blames no one)."""

    heads: tuple[str, ...]
    outcomes: tuple[str, ...]
    question: bool | None = None
    supposed: bool | None = None


@dataclass(frozen=True)
class Intent:
    """One semantic judgement (``[[intent]]``): a clause is the intent when one of its patterns
    meets it, or when the model trained from the examples scores it at ``threshold`` or more and
    the clause's nearest positive example is at least ``min_similarity`` alike (cosine of their
    n-gram views): the model's probability can run high on a clause garbled by ASR that shares a
    few syllables with the intent and resembles none of its examples."""

    name: str
    threshold: float
    examples: IntentExamples
    patterns: tuple[ClausePattern, ...] = ()
    min_similarity: float = 0.0
    # words one of which a clause must hold before the model alone may call it the intent (empty:
    # no such need); words of two characters or more count when heard by sound (陪您 for 赔您)
    model_needs: tuple[str, ...] = ()
    # words that make a clause an explanation the model alone never calls the intent (这是为了防止…)
    model_unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """Everything the rule checks and the scorer need; ``policy_id`` identifies the exact files."""

    policy_id: str
    name: str
    source: str
    any_bank: bool
    thresholds: Thresholds
    matching: MatchOptions
    weights: Mapping[str, float]
    caps: Caps
    hotword_list: tuple[str, ...]
    greeting_hello: tuple[str, ...]
    greeting_service: tuple[str, ...]
    agent_id_markers: tuple[str, ...]
    bank_suffixes: tuple[str, ...]
    banks: tuple[Bank, ...]
    closing_inbound: tuple[str, ...]
    closing_outbound: tuple[str, ...]
    closing_outbound_farewell: tuple[str, ...]
    forbidden: tuple[ForbiddenPhrase, ...]
    promise_phrases: tuple[str, ...]
    promise_patterns: tuple[GappedPattern, ...]
    complaint_cues: tuple[str, ...]
    comfort_phrases: tuple[str, ...]
    suggestion_cues: tuple[str, ...]
    praise_cues: tuple[str, ...]
    thanks_phrases: tuple[str, ...]
    identity_triggers: tuple[str, ...]
    verification_phrases: tuple[str, ...]
    account_detail_phrases: tuple[str, ...]
    standard: StandardRules = StandardRules()
    intents: Mapping[str, Intent] = field(default_factory=dict)
    pause_s: float = 0.45
    user_dict: Path | None = field(default=None, compare=False)
    weight_lines: Mapping[str, str] = field(default_factory=dict, compare=False)

    def hotwords(self) -> str:
        """Key phrases for the recogniser's ``hotwords`` prompt, space separated."""
        return " ".join(self.hotword_list)

    def weight_origin(self, check: str | None) -> str:
        """``file:line`` of a check's weight (of the ``[weights]`` table for None), for error messages."""
        return self.weight_lines.get(check or "", self.weight_lines.get("", self.source))


def load_policy(path: Path | None = None, *, labelled: bool = True) -> Policy:
    """Load and validate a policy; None loads the bundled default. Raises the first PolicyError.
    ``labelled=False`` leaves out the ``labelled_<intent>.tsv`` files (to build them anew)."""
    root = Path(path) if path is not None else default_policy_dir()
    files = read_policy_files(root)
    if files.errors:
        raise files.errors[0]
    digest = hashlib.sha256()
    for src in sorted(files.sources, key=lambda s: s.path.name):
        digest.update(src.path.name.encode() + b"\0" + src.path.read_bytes())
    folder = root if root.is_dir() else root.parent
    user_dict = folder / "userdict.txt"
    if user_dict.is_file():
        digest.update(b"userdict.txt\0" + read_utf8(user_dict, "the user dictionary").encode())
    tables = _with_background_talk(files.tables, folder / "background_talk.txt", digest)
    sentences = labelled_beside(folder) if labelled and root.is_dir() else ()
    for item in sentences:
        digest.update("\0".join((item.path.name, *item.positive, "\1", *item.negative)).encode())
    policy = _build(tables, digest.hexdigest()[:12], str(root), user_dict if user_dict.is_file() else None)
    policy = _with_labelled(policy, sentences)
    return replace(policy, weight_lines=MappingProxyType(_weight_lines(files)))


def _with_labelled(policy: Policy, labelled: tuple[LabelledSentences, ...]) -> Policy:
    """The policy with each ``labelled_<intent>.tsv`` joined to its intent's examples."""
    if not labelled:
        return policy
    intents = dict(policy.intents)
    for item in labelled:
        intent = intents.get(item.intent)
        if intent is None:
            raise PolicyError(f"no [[intent]] named {item.intent!r} for these labelled sentences", str(item.path))
        examples = intent.examples
        intents[item.intent] = replace(intent, examples=replace(
            examples, labelled_positive=examples.labelled_positive + item.positive,
            labelled_negative=examples.labelled_negative + item.negative))
    return replace(policy, intents=MappingProxyType(intents))


def _with_background_talk(tables: Mapping[str, Any], path: Path, digest) -> Mapping[str, Any]:
    """The policy tables with ``background_talk.txt`` (if present) added to ``[judgement] background``."""
    if not path.is_file():
        return tables
    talk = read_utf8(path, "the background talk")
    digest.update(b"background_talk.txt\0" + talk.encode())
    lines = [line.strip() for line in talk.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    judgement = dict(tables.get("judgement", {}))
    judgement["background"] = list(judgement.get("background", [])) + lines
    return {**tables, "judgement": judgement}


def _weight_lines(files) -> dict[str, str]:
    """``file:line`` of the ``[weights]`` table (key "") and of each weight in it."""
    for src in files.sources:
        if "weights" in src.data:
            lines = {"": f"{src.path}:{src.line_of('weights')}"}
            lines.update({key: f"{src.path}:{src.line_of('weights', key)}" for key in src.data["weights"]})
            return lines
    return {}


def _strs(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values)


def _intent(item: Mapping[str, Any], extra: Mapping[str, Any], background: tuple[str, ...]) -> Intent:
    """One ``[[intent]]``, its examples extended by its ``[examples.<name>]`` table (``extra``)."""
    name = item["name"].strip()
    examples = IntentExamples(
        name,
        _strs(item["positive"] + extra.get("positive", [])),
        _strs(item["negative"] + extra.get("negative", [])),
        background,
    )
    patterns = tuple(
        ClausePattern(_strs(p.get("heads", [])), _strs(p["outcomes"]), p.get("question"), p.get("supposed"))
        for p in item.get("patterns", [])
    )
    return Intent(name, float(item["threshold"]), examples, patterns, float(item.get("min_similarity", 0.0)),
                  _strs(item.get("model_needs", [])), _strs(item.get("model_unless", [])))


def _build(m: Mapping[str, Any], policy_id: str, source: str, user_dict: Path | None) -> Policy:
    gapped = tuple(
        GappedPattern(head, tail, int(item["max_gap_chars"]))
        for item in m["promises"]["gapped"]
        for head in item["heads"]
        for tail in item["tails"]
    )
    thresholds = {k: (int(v) if SCHEMA["thresholds"][k][0] == "int" else float(v)) for k, v in m["thresholds"].items()}
    background = _strs(m.get("judgement", {}).get("background", []))
    extra = m.get("examples", {})
    intents = {
        intent.name: intent
        for intent in (_intent(item, extra.get(item["name"], {}), background) for item in m.get("intent", []))
    }
    return Policy(
        policy_id=policy_id,
        name=m["policy"]["name"],
        source=source,
        any_bank=m["policy"]["any_bank"],
        thresholds=Thresholds(**thresholds),
        matching=MatchOptions(
            short_max_chars=m["matching"]["short_max_chars"],
            min_similarity=float(m["matching"]["min_similarity"]),
            sound_min_similarity=float(m["matching"]["sound_min_similarity"]),
        ),
        weights=MappingProxyType({k: float(v) for k, v in m["weights"].items()}),
        caps=Caps(**{k: float(v) for k, v in m["caps"].items()}),
        banks=tuple(Bank(b["name"].strip(), _strs(b.get("aliases", []))) for b in m["bank"]["banks"]),
        forbidden=tuple(
            ForbiddenPhrase(
                f["phrase"].strip(),
                _strs(f.get("variants", [])),
                _strs(f.get("exceptions", [])),
                bool(f.get("whole_reply", False)),
            )
            for f in m["forbidden"]
        ),
        promise_patterns=gapped,
        **{name: _strs(m[table][key]) for name, (table, key) in PHRASE_LISTS.items()},
        standard=build_standard(m),
        intents=MappingProxyType(intents),
        pause_s=float(m.get("judgement", {}).get("pause_s", 0.45)),
        user_dict=user_dict,
    )
