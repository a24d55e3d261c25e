"""Finding policy phrases in ASR text that has ~10 % character errors.

A phrase is compared with an utterance twice, on its match form (characters) and on toneless pinyin
(one code per syllable, so that homophones such as 来订/来电 or 道账/到账 meet), with rapidfuzz's
partial alignment. Short phrases (``short_max_chars`` or fewer, e.g. 不行) must match exactly, in
characters or in pinyin with any reading of a heteronym; longer ones tolerate substitutions down to
``min_similarity``. Matches carry display-text offsets, and ``evidence_for`` turns them into timed
:class:`~qa_pipeline.types.Evidence` using the utterance's word times.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from qa_pipeline.text.normalize import IndexedForm, index_match_form, match_form, normalize_display
from qa_pipeline.types import Evidence, Utterance

__all__ = [
    "MatchOptions", "PhraseMatch", "GappedPattern", "IndexedText", "evidence_for", "find_gapped", "syllables_of",
    "find_sound_alike", "find_phrase", "find_phrases", "index_text", "span_times",
]


@dataclass(frozen=True)
class MatchOptions:
    """How tolerant phrase matching is (values come from the policy)."""

    # Phrases of this many characters or fewer must match exactly (characters or pinyin).
    short_max_chars: int = 3
    # Minimum similarity in [0, 1] for longer phrases, on characters or on pinyin syllables.
    min_similarity: float = 0.8
    # Accept any reading of a heteronym when comparing pinyin.
    heteronyms: bool = True
    # Merge the sounds Mandarin speakers and ASR confuse most (zh/z, ch/c, sh/s, -ng/-n), as
    # Chinese input methods' 模糊音 do: 鹰航 meets 银行, 新陈 meets 星辰.
    fuzzy_pinyin: bool = True
    # find_sound_alike: minimum similarity of the spelled pinyin (letters), e.g. yanhang ~ yinhang.
    sound_min_similarity: float = 0.85

    def __post_init__(self) -> None:
        if self.short_max_chars < 1:
            raise ValueError("short_max_chars must be >= 1")
        if not 0.0 < self.min_similarity <= 1.0:
            raise ValueError("min_similarity must be in (0, 1]")
        if not 0.0 < self.sound_min_similarity <= 1.0:
            raise ValueError("sound_min_similarity must be in (0, 1]")


@dataclass(frozen=True)
class PhraseMatch:
    """Where a phrase was found in a display text."""

    phrase: str
    matched: str  # the display substring that matched
    start_char: int  # display-text offsets, end exclusive
    end_char: int
    similarity: float  # in [0, 1]; 1.0 for exact (characters or pinyin)


@dataclass(frozen=True)
class GappedPattern:
    """Two parts in order with at most ``max_gap_chars`` between them (保证…到账)."""

    head: str
    tail: str
    max_gap_chars: int

    @property
    def label(self) -> str:
        return f"{self.head}…{self.tail}"


@dataclass(frozen=True)
class IndexedText:
    """An utterance text prepared once for many phrase searches."""

    form: IndexedForm
    syllables: tuple[str, ...]  # one toneless syllable (or the char itself) per form char
    codes: str  # one code character per syllable, for rapidfuzz
    readings: tuple[frozenset[str], ...]  # every reading of each form char (heteronyms)
    fuzzy_codes: str  # codes of the syllables with confusable sounds merged
    fuzzy_readings: tuple[frozenset[str], ...]

    def codes_for(self, options: "MatchOptions") -> str:
        return self.fuzzy_codes if options.fuzzy_pinyin else self.codes

    def readings_for(self, options: "MatchOptions") -> tuple[frozenset[str], ...]:
        return self.fuzzy_readings if options.fuzzy_pinyin else self.readings


_SYLLABLE_CODES: dict[str, str] = {}
_READINGS_KEPT = 2


def _code(syllable: str) -> str:
    code = _SYLLABLE_CODES.get(syllable)
    if code is None:
        code = chr(0xE000 + len(_SYLLABLE_CODES))  # private-use area: never in real text
        _SYLLABLE_CODES[syllable] = code
    return code


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda s: [[c] for c in s])
    # only the two commonest readings: rare ones (不 fu, 还 fu) would make everything match
    return frozenset(found[0][:_READINGS_KEPT]) if found else frozenset({char})


def syllables_of(form: str) -> tuple[str, ...]:
    """The toneless pinyin of each character of ``form``, one per character (a non-Chinese one as itself)."""
    from pypinyin import lazy_pinyin

    out = lazy_pinyin(form, errors=lambda s: list(s))
    if len(out) != len(form):  # pypinyin grouped something unexpected: fall back char by char
        out = [lazy_pinyin(c, errors=lambda s: list(s))[0] if c else c for c in form]
    return tuple(out)


_RETROFLEX = (("zh", "z"), ("ch", "c"), ("sh", "s"))


@lru_cache(maxsize=4096)
def fuzzy_syllable(syllable: str) -> str:
    """A syllable with retroflex initials and -ng finals merged: zhang -> zan, ying -> yin."""
    for retroflex, plain in _RETROFLEX:
        if syllable.startswith(retroflex):
            syllable = plain + syllable[2:]
            break
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


@lru_cache(maxsize=4096)
def index_text(display: str) -> IndexedText:
    """Prepare a display-normalised text for matching (cached: phrases and texts repeat)."""
    form = index_match_form(display)
    syllables = syllables_of(form.text)
    codes = "".join(_code(s) for s in syllables)
    readings = tuple(_readings(c) | {s} for c, s in zip(form.text, syllables))
    fuzzy_codes = "".join(_code(fuzzy_syllable(s)) for s in syllables)
    fuzzy_readings = tuple(frozenset(fuzzy_syllable(r) for r in rs) for rs in readings)
    return IndexedText(form, syllables, codes, readings, fuzzy_codes, fuzzy_readings)


@lru_cache(maxsize=4096)
def _phrase_index(phrase: str) -> IndexedText:
    return index_text(normalize_display(phrase))


def _to_match(text: IndexedText, phrase: str, start: int, end: int, similarity: float) -> PhraseMatch:
    d_start, d_end = text.form.display_span(start, end)
    return PhraseMatch(phrase, text.form.display[d_start:d_end], d_start, d_end, similarity)


def _exact_positions(text: IndexedText, pattern: IndexedText, options: MatchOptions) -> Iterable[int]:
    size = len(pattern.form.text)
    codes, target = text.codes_for(options), pattern.codes_for(options)
    readings, wanted = text.readings_for(options), pattern.readings_for(options)
    for start in range(len(text.form.text) - size + 1):
        if text.form.text[start : start + size] == pattern.form.text:
            yield start
        elif codes[start : start + size] == target:
            yield start
        elif options.heteronyms and all(readings[start + k] & wanted[k] for k in range(size)):
            yield start


def _best_fuzzy(
    text: IndexedText, pattern: IndexedText, blocked: Sequence[bool], options: MatchOptions
) -> tuple[int, int, float] | None:
    """Best (start, end, similarity) of a long phrase over characters and pinyin codes."""
    size = len(pattern.form.text)
    length = len(text.form.text)
    best: tuple[int, int, float] | None = None
    best_rank = (-1.0, 0)
    pairs = ((text.form.text, pattern.form.text), (text.codes_for(options), pattern.codes_for(options)))
    for source, target in pairs:
        masked = "".join("\x00" if blocked[i] else c for i, c in enumerate(source))
        alignment = fuzz.partial_ratio_alignment(target, masked)
        if alignment is None or alignment.score <= 0:
            continue
        start, end = alignment.dest_start, alignment.dest_end
        # partial alignment may trim a differing edge (来订 for 来电) and only tries windows of the
        # phrase's length: try full-length windows, one character more or less (ASR drops and
        # inserts characters), and the window one character over (an alignment that took the
        # character before the phrase for its first: 我说了好多 for 说了好多遍 in 我说了好多电了)
        windows = {(start, end), (start, min(length, start + size)), (max(0, end - size), end)}
        windows |= {
            shifted
            for w_start, w_end in windows
            for shifted in (
                (w_start, w_end - 1),
                (w_start + 1, w_end),
                (w_start, min(length, w_end + 1)),
                (max(0, w_start - 1), w_end),
                (w_start + 1, min(length, w_end + 1)),
                (max(0, w_start - 1), w_end - 1),
            )
        }
        for w_start, w_end in windows:
            if any(blocked[w_start:w_end]) or w_end <= w_start:
                continue
            similarity = Levenshtein.normalized_similarity(target, source[w_start:w_end])
            rank = (similarity, -abs(w_end - w_start - size))
            if best is None or rank > best_rank:
                best, best_rank = (w_start, w_end, similarity), rank
    return best


def find_phrases(display: str, phrase: str, options: MatchOptions) -> list[PhraseMatch]:
    """Every non-overlapping occurrence of ``phrase`` in a display text.

    Results are cached: the live path re-checks the same utterances as a call grows.
    """
    return list(_find_phrases(display, phrase, options))


@lru_cache(maxsize=65536)
def _find_phrases(display: str, phrase: str, options: MatchOptions) -> tuple[PhraseMatch, ...]:
    return tuple(_search(display, phrase, options))


def _search(display: str, phrase: str, options: MatchOptions) -> list[PhraseMatch]:
    pattern = _phrase_index(phrase)
    size = len(pattern.form.text)
    text = index_text(display)
    if size == 0 or len(text.form.text) == 0:
        return []
    if size <= options.short_max_chars or len(text.form.text) < size:
        found = []
        last_end = -1
        for start in _exact_positions(text, pattern, options):
            if start >= last_end:
                found.append(_to_match(text, phrase, start, start + size, 1.0))
                last_end = start + size
        return found
    found = []
    blocked = [False] * len(text.form.text)
    while True:
        best = _best_fuzzy(text, pattern, blocked, options)
        if best is None or best[2] < options.min_similarity:
            break
        start, end, similarity = best
        if _keeps_negation(pattern, text, start, end):
            found.append(_to_match(text, phrase, start, end, similarity))
        for i in range(start, end):
            blocked[i] = True
    return found


_NEGATOR_CHARS = "不没别非无未"


def _keeps_negation(pattern: IndexedText, text: IndexedText, start: int, end: int) -> bool:
    """A tolerant match never forgives the phrase's negation (这是我们的问题 is no 这不是我们的问题; 部是 keeps it)."""
    wanted = [fuzzy_syllable(s) for c, s in zip(pattern.form.text, pattern.syllables) if c in _NEGATOR_CHARS]
    heard = [r for readings in text.fuzzy_readings[start:end] for r in readings]
    return all(heard.count(s) >= wanted.count(s) for s in set(wanted))


def find_phrase(display: str, phrase: str, options: MatchOptions) -> PhraseMatch | None:
    """The best occurrence of ``phrase`` in a display text, or None."""
    found = find_phrases(display, phrase, options)
    return max(found, key=lambda m: m.similarity) if found else None


def find_sound_alike(display: str, phrase: str, options: MatchOptions) -> list[PhraseMatch]:
    """Windows whose spelled pinyin is close to the phrase's, letter by letter.

    Looser than ``find_phrases``: for a word ASR keeps mangling in a place where it is expected
    (银行 heard as 延航 or 鹰航 right after a name in the greeting). Callers must restrict where
    they look.
    """
    pattern = _phrase_index(phrase)
    text = index_text(display)
    size = len(pattern.syllables)
    wanted = [fuzzy_syllable(s) for s in pattern.syllables]
    target = "".join(wanted)
    found: list[PhraseMatch] = []
    for start in range(len(text.syllables) - size + 1):
        choices = [sorted(text.fuzzy_readings[start + k]) for k in range(size)]
        similarity = max(
            (
                Levenshtein.normalized_similarity(target, "".join(spelled))
                for spelled in itertools.product(*choices)
                # initials are heard reliably; the finals are what ASR confuses (yan/yin/ying)
                if all(a[:1] == b[:1] for a, b in zip(spelled, wanted))
            ),
            default=0.0,
        )
        if similarity >= options.sound_min_similarity and (not found or start >= _form_end(text, found[-1])):
            found.append(_to_match(text, phrase, start, start + size, similarity))
    return found


def _form_end(text: IndexedText, match: PhraseMatch) -> int:
    return max(i for i in range(len(text.form.text)) if text.form.starts[i] < match.end_char) + 1


def find_gapped(display: str, pattern: GappedPattern, options: MatchOptions) -> list[PhraseMatch]:
    """Occurrences of ``head … tail`` with at most ``max_gap_chars`` characters between the parts."""
    text = index_text(display)
    heads = find_phrases(display, pattern.head, options)
    tails = find_phrases(display, pattern.tail, options)
    found = []
    for head in heads:
        for tail in tails:
            if tail.start_char < head.end_char:
                continue
            gap = len(match_form(display[head.end_char : tail.start_char]))
            if gap <= pattern.max_gap_chars:
                similarity = min(head.similarity, tail.similarity)
                found.append(
                    PhraseMatch(
                        pattern.label,
                        text.form.display[head.start_char : tail.end_char],
                        head.start_char,
                        tail.end_char,
                        similarity,
                    )
                )
                break
    return found


def span_times(utterance: Utterance, start_char: int, end_char: int) -> tuple[float, float]:
    """Times of display characters ``start_char:end_char`` of an utterance.

    Uses the word times when the words cover the text (aligned on match form, so punctuation and
    small differences do not matter); otherwise interpolates over the utterance.
    """
    text = utterance.text
    if not 0 <= start_char < end_char <= len(text):
        raise ValueError(f"bad span {start_char}:{end_char} for a text of {len(text)} chars")
    timed = _word_times(utterance, start_char, end_char)
    if timed is not None:
        return timed
    duration_s = utterance.duration_s
    total = max(len(text), 1)
    return (
        utterance.start_s + duration_s * start_char / total,
        utterance.start_s + duration_s * end_char / total,
    )


def _word_times(utterance: Utterance, start_char: int, end_char: int) -> tuple[float, float] | None:
    if not utterance.words:
        return None
    char_words: list[int] = []  # match-form char of the words -> word index
    word_chars: list[str] = []
    for index, word in enumerate(utterance.words):
        for char in match_form(word.text):
            word_chars.append(char)
            char_words.append(index)
    form = index_match_form(utterance.text)
    wanted = [i for i in range(len(form.text)) if form.starts[i] < end_char and form.ends[i] > start_char]
    if not wanted or not word_chars:
        return None
    mapping = _align(form.text, "".join(word_chars))
    hits = [mapping[i] for i in wanted if mapping[i] is not None]
    if not hits:
        return None
    first = utterance.words[char_words[min(hits)]]
    last = utterance.words[char_words[max(hits)]]
    return first.start_s, max(last.end_s, first.start_s)


def _align(source: str, target: str) -> list[int | None]:
    """For each char of ``source``, the index of the char of ``target`` it aligns with."""
    mapping: list[int | None] = [None] * len(source)
    for op in Levenshtein.opcodes(source, target):
        if op.tag in ("equal", "replace"):
            length = min(op.src_end - op.src_start, op.dest_end - op.dest_start)
            for k in range(length):
                mapping[op.src_start + k] = op.dest_start + k
    return mapping


def evidence_for(utterance: Utterance, match: PhraseMatch) -> Evidence:
    """Timed evidence of a phrase match, quoting the utterance's display text."""
    start_s, end_s = span_times(utterance, match.start_char, match.end_char)
    return Evidence(
        start_s=start_s,
        end_s=end_s,
        text=utterance.text,
        role=utterance.role,
        phrase=match.phrase,
        similarity=match.similarity,
    )
