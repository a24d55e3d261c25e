"""Set phrases said with an adverb slipped inside them.

Agents slip 也, 都 or 还 into a set phrase without changing what it does: 我们这边也管不了 is
这边管不了 said with 也. The syllable-by-syllable matcher cannot see through the inserted character,
so ``read_past`` seeks a phrase that has none of them in the clause with them left out, and maps
what it finds back to the text as heard, adverb included.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from qa_pipeline.text.match import MatchOptions, PhraseMatch

ADVERBS = frozenset("也都还")

#: Finds a word in ``text[start_char:end_char]`` (offsets into ``text``), as ``rules.judge`` does.
Finder = Callable[[str, int, int, str, MatchOptions], tuple[PhraseMatch, ...]]


@lru_cache(maxsize=65536)
def read_past(text: str, start_char: int, end_char: int, word: str, matching: MatchOptions,
              find: Finder) -> tuple[PhraseMatch, ...]:
    """``find`` on the clause with the adverbs ``word`` lacks left out, mapped back to ``text``: a
    match must span an adverb it read past (one with none was already sought as written)."""
    skip = ADVERBS - set(word)
    kept = [i for i in range(start_char, end_char) if text[i] not in skip]
    if not skip or len(kept) == end_char - start_char:
        return ()
    reduced = "".join(text[i] for i in kept)
    out = []
    for m in find(reduced, 0, len(reduced), word, matching):
        start, end = kept[m.start_char], kept[m.end_char - 1] + 1
        if end - start > m.end_char - m.start_char:
            out.append(PhraseMatch(m.phrase, text[start:end], start, end, m.similarity))
    return tuple(out)
