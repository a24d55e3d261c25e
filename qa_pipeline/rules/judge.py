"""Judgement over the clause analysis: phrase hits that hold up, patterns, and the example-trained model.

Every phrase check asks the same questions of a hit, so they live here once (whether a pattern's
outcome stands in its clause is ``rules.outcomes``):

* word boundaries — a phrase of two characters must be the same characters on jieba word
  boundaries (很不幸 never yields 不行); three characters may also sound the same, still on
  boundaries; longer phrases keep the tolerant matcher;
* scope — is the clause a question, hypothetical, negated or hedged before the hit;
* semantics — a policy ``[[intent]]`` recognises a clause by a head + outcome pattern inside the
  clause, or by the model trained from its examples; a hit records what it matched or resembled
  and its score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable

from rapidfuzz.distance import Levenshtein

from qa_pipeline.policy.policy import ClausePattern, Intent, Policy
from qa_pipeline.rules.adverbs import read_past
from qa_pipeline.rules.base import Hit, find_in
from qa_pipeline.rules.outcomes import closes, modifies_what_follows, outcome_stands
from qa_pipeline.text.analysis import (
    TENTATIVE, Clause, clause_at, clauses, hedged, negated_before, on_word_boundaries, tokens_with_offsets,
)
from qa_pipeline.text.intent import intent_model
from qa_pipeline.text.match import MatchOptions, PhraseMatch, find_phrases, fuzzy_syllable, index_text
from qa_pipeline.text.normalize import match_form, normalize_display
from qa_pipeline.types import Utterance

__all__ = ["Judged", "clauses_of", "holds_any", "judge_clauses", "modifies_what_follows", "prepare_models", "sound_hits", "scope_of"]


@dataclass(frozen=True)
class Judged:
    """A clause recognised as an intent: how (phrase, pattern or model), the label and the score."""

    hit: Hit
    via: str
    label: str
    score: float
    similarity: float | None = None  # the model's: cosine to the nearest positive example

    @classmethod
    def spanning(cls, utterance: Utterance, start: int, end: int, label: str) -> "Judged":
        """A rule module's own finding (a send-away, a flat refusal…): the span of ``utterance`` it
        covers, named by ``label``, as sure as a pattern."""
        match = PhraseMatch(label, utterance.text[start:end], start, end, 1.0)
        return cls(Hit(utterance, match), "pattern", label, 1.0)

    def to_hit_dict(self, phrase: str | None = None) -> dict[str, object]:
        """The hit as reports store it, with its evidence: how it was found, what it matched or
        resembled (a phrase, ``head…outcome``, or the nearest policy example) and its score."""
        record = self.hit.to_hit_dict(phrase or self.label)
        record.update({"via": self.via, "resembles": self.label, "score": round(self.score, 3)})
        if self.similarity is not None:
            record["similarity"] = round(self.similarity, 3)
        return record


def clauses_of(utterance: Utterance, policy: Policy) -> tuple[Clause, ...]:
    return clauses(utterance.text, utterance.words, policy.pause_s)


# What may stand beside a short phrase inside one jieba word: particles and pronouns (谢谢您, 不行啊),
# and the spoken 儿 (没门儿 is 没门).
_PARTICLES = set("了的啊吧呀嘛呢哦您你我们儿")
# Degree adverbs jieba glues in front of a short word (很无语, 太离谱, 真不行): they may stand before it.
_DEGREE = set("很太真好挺最超")


_NEGATION_CHARS = "不没别未无"
# Heard as itself or a same-sound character (你 as 泥), and 你/您 as either, never as another sound.
_PERSONS = {"我": "我", "你": "你您", "您": "你您"}


def _inside_other_word(text: str, start: int, end: int, phrase: str) -> bool:
    """True when a jieba word strictly contains ``text[start:end]`` and is more than the phrase
    repeated or followed by a particle (不幸 holds no 不行; 不行不行 and 不行啊 are still 不行) or
    after one degree adverb (很无语 is still 无语), or
    the phrase followed or preceded by a word of its own (恢复正常 is 恢复 + 正常; 保证金 is not 保证 + 金)."""
    for token, at in tokens_with_offsets(text):
        if at <= start and end <= at + len(token) and (at, at + len(token)) != (start, end):
            if len(phrase) > 1 and token.startswith(phrase) and _is_word(token[len(phrase):]):
                return False
            if (len(phrase) > 1 and phrase[0] not in _NEGATION_CHARS and token.endswith(phrase)
                    and _is_word(token[: -len(phrase)])):
                return False  # 表示歉意 is 表示 + 歉意 (a negation in front stays glued: 实在不行 is no 不行)
            lead = token[: token.find(phrase)] if phrase in token else ""
            if len(lead) == 1 and lead in _DEGREE:
                token = token[1:]
            rest = token.replace(phrase, "")
            return any(c not in _PARTICLES for c in rest)
    return False


def _is_word(text: str) -> bool:
    """A jieba word of at least two characters on its own (正常, not 金)."""
    return len(text) >= 2 and tuple(token for token, _ in tokens_with_offsets(text)) == (text,)


def _sound_ok(utterance: Utterance, match: PhraseMatch, policy: Policy) -> bool:
    """Short phrases: the same characters as a word of their own (two characters), or the same
    sound on word boundaries (three); longer phrases keep the tolerant matcher."""
    return _short_ok(utterance.text, match.start_char, match.end_char, match, policy.matching)


def _short_ok(text: str, start: int, end: int, match: PhraseMatch, matching: MatchOptions) -> bool:
    phrase, heard = match_form(match.phrase), match_form(match.matched)
    if any(c in heard and c not in phrase for c in _NEGATION_CHARS):
        return False  # no match gains a negation the phrase lacks (我说了不算 is not 我说了算, 不给您 no 补给您)
    if len(phrase) > matching.short_max_chars:
        # a tolerant match must not lose the person the phrase speaks of (头已经说过了 is not 我已经说过了)
        sounds = index_text(heard).fuzzy_codes
        return all(any(index_text(c).fuzzy_codes in sounds for c in _PERSONS[p]) for p in set(phrase) & _PERSONS.keys())
    if heard == phrase:
        return not _inside_other_word(text, start, end, phrase)
    # three characters: every syllable sounds the same (收不了 for 受不了, never 不想找 for 不像话)
    return len(phrase) > 2 and on_word_boundaries(text, start, end) and _syllables_alike(match.matched, phrase, 0)


@lru_cache(maxsize=65536)
def _syllables_alike(heard: str, phrase: str, letters: int) -> bool:
    """As many syllables, each the same character (行 in 赢行 is read xíng, in 银行 háng), the same once
    ASR's usual confusions are folded, or at most ``letters`` letters of toneless pinyin off."""
    heard, phrase = match_form(heard), match_form(phrase)
    a, b = index_text(heard).syllables, index_text(phrase).syllables
    chars = zip(heard, phrase) if len(heard) == len(a) and len(phrase) == len(b) else ((None, "") for _ in a)
    return len(a) == len(b) and all(
        h == c or fuzzy_syllable(x) == fuzzy_syllable(y) or Levenshtein.distance(x, y) <= letters
        for (h, c), x, y in zip(chars, a, b)
    )


def sound_hits(utterances: Iterable[Utterance], phrases: Iterable[str], policy: Policy) -> list[Hit]:
    """``find_in`` keeping only hits that respect word boundaries and the length-graded tolerance."""
    return find_in(utterances, phrases, policy, keep=lambda h: _sound_ok(h.utterance, h.match, policy))


def scope_of(hit: Hit, policy: Policy) -> tuple[Clause | None, str | None]:
    """The clause of a hit, and the negator or hedge that cancels it (None when it stands)."""
    clause = clause_at(clauses_of(hit.utterance, policy), hit.match.start_char)
    if clause is None:
        return None, None
    return clause, negated_before(clause, hit.match.start_char) or hedged(clause)


def _pattern_hit(utterance: Utterance, clause: Clause, intent: Intent, policy: Policy) -> tuple[Judged | None, bool]:
    """The first of the intent's patterns that meets the clause, and whether some pattern's shape
    was there but cancelled (negated, supposed, asked for, about someone else)."""
    cancelled = False
    for pattern in intent.patterns:
        if pattern.question is not None and pattern.question != clause.question:
            continue
        if pattern.supposed is not None and pattern.supposed != clause.hypothetical:
            continue
        judged, shape_cancelled = _one_pattern(utterance, clause, pattern, policy)
        if judged is not None:
            return judged, False
        cancelled = cancelled or shape_cancelled
    return None, cancelled


@lru_cache(maxsize=16384)
def _sounds_in(text: str) -> frozenset[str]:
    """Every (fuzzy) syllable any character of ``text`` can be read as."""
    return frozenset(s for readings in index_text(text).fuzzy_readings for s in readings)


@lru_cache(maxsize=16384)
def _readings_of(word: str) -> tuple[frozenset[str], ...]:
    return tuple(index_text(normalize_display(word)).fuzzy_readings)


def _may_contain(text: str, word: str, policy: Policy) -> bool:
    """Cheap necessary test: each character of a short word has a reading the text has; all but one of
    a longer word's."""
    sounds = _sounds_in(text)
    readings = _readings_of(word)
    present = sum(1 for r in readings if r & sounds)
    if len(word) > policy.matching.short_max_chars:
        return present >= len(readings) - 1  # the tolerant matcher forgives one syllable at most
    return present == len(readings)


def _found(utterance: Utterance, clause: Clause, word: str, policy: Policy) -> list[PhraseMatch]:
    """Matches of ``word`` in the clause, with utterance offsets, that pass the length-graded tolerance;
    failing those, matches once the adverbs the word lacks are read past (``rules.adverbs``)."""
    if not _may_contain(clause.text, word, policy):
        return []
    found = list(_found_in(utterance.text, clause.start_char, clause.end_char, word, policy.matching))
    return found or list(read_past(utterance.text, clause.start_char, clause.end_char, word, policy.matching, _found_in))


@lru_cache(maxsize=65536)
def _found_in(text: str, start_char: int, end_char: int, word: str, matching: MatchOptions) -> tuple[PhraseMatch, ...]:
    """``_found`` for one clause span of one text (cached: every check and cross-reading asks again)."""
    out = []
    for m in find_phrases(text[start_char:end_char], word, matching):
        start, end = start_char + m.start_char, start_char + m.end_char
        # a pattern word keeps its syllables, each at most one letter off (书了好几遍 for 说了好几遍),
        # never a different word in one place (到现在还没 is not 到现在都没)
        if _short_ok(text, start, end, m, matching) and _syllables_alike(m.matched, m.phrase, 1):
            out.append(PhraseMatch(m.phrase, m.matched, start, end, m.similarity))
    return tuple(out)


def _one_pattern(
    utterance: Utterance, clause: Clause, pattern: ClausePattern, policy: Policy
) -> tuple[Judged | None, bool]:
    heads = [m for h in pattern.heads for m in _found(utterance, clause, h, policy)] if pattern.heads else [None]
    cancelled = False
    for head in heads:
        head_negated = head is not None and negated_before(clause, head.start_char)
        for outcome in (m for o in pattern.outcomes for m in _found(utterance, clause, o, policy)):
            if head is not None and outcome.end_char <= head.start_char and not closes(utterance, clause, head):
                continue
            if head_negated or not outcome_stands(utterance, clause, head, outcome):
                cancelled = True
                continue
            start = outcome.start_char if head is None else min(head.start_char, outcome.start_char)
            end = max(outcome.end_char, head.end_char if head else 0)
            label = outcome.phrase if head is None else f"{head.phrase}…{outcome.phrase}"
            similarity = outcome.similarity if head is None else min(head.similarity, outcome.similarity)
            match = PhraseMatch(label, utterance.text[start:end], start, end, similarity)
            return Judged(Hit(utterance, match), "pattern", label, similarity), False
    return None, cancelled


_CONTRAST = ("不过", "但是", "但", "可是", "然而")
# 不管/无论 with a question word (不管这个钱是谁转的，都得先冻结; 无论哪个网点): "whichever", a rule for every
# case, not the matter disowned (我们这边不管这个)
_CONCESSION = re.compile(r"(不管|无论|不论).*?(谁|什么|哪|多少|怎么|是否|还是|多大|多久|多长)")

# Shorter clauses (不错, 好的) carry too few n-grams for the model to judge, unless they nearly repeat
# an example (太黑了, 慢得要命); two characters never.
_MODEL_MIN_CHARS = 5
_SHORT_MIN_CHARS = 3
_SHORT_MIN_SIMILARITY = 0.6
# A brief clause (那您去吧, 行吧那不打扰了, 规定就是这么写的) shares a word or two with many examples: the
# model's call stands only when the clause is close to one (撤回办不了, 不没这个说法). On the labelled
# scripts (no punctuation) its forbidden-phrase findings on clauses of 5-8 characters under this
# similarity are 12 misreadings to no offence (0.35-0.40: 1 to 1; 277 sets, `python
# bench/model_findings.py --text nopunct --no-brief-floor bench/unseen_calls/scripts_*`).
_BRIEF_MAX_CHARS = 8
_BRIEF_MIN_SIMILARITY = 0.35


def prepare_models(policy: Policy) -> int:
    """Fit (or load from the user's cache) the model of every intent with examples, so that the first
    call judged does not wait for it (``qa serve`` does this as it starts); the number prepared."""
    ready = [intent_model(i.examples) for i in policy.intents.values() if i.examples.all_positive]
    return len(ready)


@lru_cache(maxsize=16384)
def holds_any(text: str, words: tuple[str, ...]) -> bool:
    """One of ``words`` is in ``text``: a single character as written, a longer word also by sound."""
    form = match_form(text)
    if any(word in form for word in words):
        return True
    sounds = index_text(form).fuzzy_codes
    return any(len(word) > 1 and index_text(word).fuzzy_codes in sounds for word in words)


def _model_hit(utterance: Utterance, clause: Clause, intent: Intent) -> Judged | None:
    length = len(match_form(clause.text))
    if not intent.examples.all_positive or length < _SHORT_MIN_CHARS:
        return None
    resemblance = intent_model(intent.examples).resemble(clause.text)
    floor = intent.min_similarity
    if length < _MODEL_MIN_CHARS:
        floor = max(floor, _SHORT_MIN_SIMILARITY)
    elif length <= _BRIEF_MAX_CHARS:
        floor = max(floor, _BRIEF_MIN_SIMILARITY)
    if resemblance.probability < intent.threshold or resemblance.similarity < floor:
        return None
    if intent.model_needs and not holds_any(clause.text, intent.model_needs):
        return None  # 这个您别问我 is no promise however much it looks like 这个您别担心…
    if intent.model_unless and any(word in clause.text for word in intent.model_unless):
        return None  # 这是为了防止别人冒领: a rule's purpose explained, however it sounds
    match = PhraseMatch(resemblance.example, clause.text, clause.start_char, clause.end_char, resemblance.probability)
    return Judged(Hit(utterance, match), "model", resemblance.example, resemblance.probability, resemblance.similarity)


# A clause this long holds more than one clause's words: ASR wrote the sentence without its commas
# (对方账户名是对的钱已经到了您别在这瞎嚷嚷), and the words around an offence dilute what the model
# reads. Forbidden phrases only: on the labelled scripts without punctuation it agrees with the
# labels on 11 more calls of 1,280, with punctuation it changes nothing; promises and complaints lose
# there (`python bench/script_agreement.py --text nopunct bench/unseen_calls/scripts_[ijk]*`).
_RUN_ON_MIN_CHARS = 16
# Its heads and tails of this many characters (on jieba word boundaries) are read on their own.
_PART_MIN_CHARS, _PART_MAX_CHARS = 5, 12


def _run_on_hit(utterance: Utterance, clause: Clause, intent: Intent) -> Judged | None:
    """The model's surest finding among the heads and tails of a run-on clause, if any holds up."""
    if not intent.examples.all_positive or len(match_form(clause.text)) < _RUN_ON_MIN_CHARS:
        return None
    parts = _heads_and_tails(utterance.text, clause)
    intent_model(intent.examples).resemble_all(tuple(utterance.text[s:e] for s, e in parts))  # one transform
    best = None
    for start, end in parts:
        part = replace(clause, text=utterance.text[start:end], start_char=start, end_char=end)
        judged = _model_hit(utterance, part, intent)
        if judged is not None and (best is None or judged.score > best.score):
            best = judged
    return best


def _heads_and_tails(text: str, clause: Clause) -> list[tuple[int, int]]:
    """(start, end) of the clause's word-aligned heads and tails of ``_PART_MIN_CHARS`` to
    ``_PART_MAX_CHARS`` characters."""
    bounds = sorted({at for _, at in tokens_with_offsets(text) if clause.start_char < at < clause.end_char})
    parts = []
    for at in bounds:
        for start, end in ((clause.start_char, at), (at, clause.end_char)):
            if _PART_MIN_CHARS <= len(match_form(text[start:end])) <= _PART_MAX_CHARS:
                parts.append((start, end))
    return parts


def judge_clauses(
    utterance: Utterance,
    intent_name: str,
    policy: Policy,
    *,
    drop_questions: bool = False,
    drop_hypothetical: bool = False,
    drop_hedged: bool = False,
    drop_asked_suppositions: bool = False,
    model_spares_explanations: bool = False,
    read_run_ons: bool = False,
) -> list[Judged]:
    """Clauses of one utterance recognised as the intent (pattern first, then the model).

    ``model_spares_explanations``: the model does not judge a clause that the next one turns with
    不过/但是/可是 (这个改不了，不过有别的办法: a limit with an alternative, not a refusal), nor a
    supposition about a cause that does not address the customer (可能是网络问题导致的), nor a
    concession (不管是谁转的: whichever case).

    ``read_run_ons``: a long clause nothing was found in has its heads and tails read by the model
    too (``_run_on_hit``): an offence ends or opens the sentences ASR writes without commas.
    """
    intent = policy.intents.get(intent_name)
    if intent is None:
        return []
    found: list[Judged] = []
    all_clauses = clauses_of(utterance, policy)
    if intent.examples.all_positive:  # one model transform for the clauses the model may judge, not one each
        judged_by_model = tuple(c.text for c in all_clauses if len(match_form(c.text)) >= _SHORT_MIN_CHARS)
        intent_model(intent.examples).resemble_all(judged_by_model)
    for index, clause in enumerate(all_clauses):
        turned = index + 1 < len(all_clauses) and all_clauses[index + 1].text.startswith(_CONTRAST)
        turned = turned or (clause.text.startswith(TENTATIVE) and not clause.addresses_you)
        turned = turned or _CONCESSION.search(clause.text) is not None
        if (drop_questions and clause.question and not clause.only_by_ba) or (drop_hypothetical and clause.hypothetical):
            continue
        if drop_hedged and hedged(clause):
            continue
        if drop_asked_suppositions and clause.hypothetical and clause.in_question:
            continue
        judged, cancelled = _pattern_hit(utterance, clause, intent, policy)
        if judged is None and not cancelled and not (model_spares_explanations and turned):
            # a pattern's shape cancelled by the structure (您没记错, 帮您申请减免) is not for the model to overrule
            judged = _model_hit(utterance, clause, intent)
            if judged is None and read_run_ons:
                judged = _run_on_hit(utterance, clause, intent)
        if judged is not None:
            found.append(judged)
        if judged is not None and judged.via == "pattern":
            found += _patterns_around(utterance, clause, judged.hit.match, intent, policy)
    return found


# Words a clause must still hold beside a pattern's finding to be searched again: a sentence ASR wrote
# without its commas (你错了我们没有这种卡那是您自己没看清楚) is one clause holding two findings.
_REST_MIN_CHARS = 6


def _patterns_around(utterance: Utterance, clause: Clause, match: PhraseMatch, intent: Intent, policy: Policy) -> list[Judged]:
    """Further pattern findings in a clause before and after one (each side read as clauses of its own)."""
    before = _patterns_in(utterance, clause, clause.start_char, match.start_char, intent, policy)
    return before + _patterns_in(utterance, clause, match.end_char, clause.end_char, intent, policy)


def _patterns_in(utterance: Utterance, clause: Clause, start: int, end: int, intent: Intent, policy: Policy) -> list[Judged]:
    rest = utterance.text[start:end]
    if len(match_form(rest)) < _REST_MIN_CHARS:
        return []
    for part in clauses(rest):
        part = replace(part, start_char=part.start_char + start, end_char=part.end_char + start,
                       in_question=clause.in_question, hypothetical=part.hypothetical or clause.hypothetical)
        judged, _ = _pattern_hit(utterance, part, intent, policy)
        if judged is not None:
            return [judged, *_patterns_around(utterance, part, judged.hit.match, intent, policy)]
    return []
