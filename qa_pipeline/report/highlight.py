"""Where a finding's phrase sits in an utterance's text, so a page marks those words only.

Evidence quotes the whole utterance; the words a rule matched come from the check's hits (or
the policy phrase). ASR errors mean the phrase may not appear verbatim: rapidfuzz's partial
alignment finds the closest window instead.
"""

from __future__ import annotations

from html import escape

from rapidfuzz import fuzz

#: A fuzzy phrase location below this partial-ratio score (0-100) is not highlighted.
MIN_HIGHLIGHT_SCORE = 60.0


def locate_phrase(text: str, phrase: str) -> tuple[int, int] | None:
    """Character offsets of ``phrase`` in ``text``: exact, else the closest fuzzy window."""
    phrase = phrase.strip("，。？！、,.?! ")
    if not phrase or len(phrase) > len(text):
        return None
    position = text.find(phrase)
    if position >= 0:
        return position, position + len(phrase)
    alignment = fuzz.partial_ratio_alignment(phrase, text, score_cutoff=MIN_HIGHLIGHT_SCORE)
    if alignment is None or alignment.dest_end <= alignment.dest_start:
        return None
    return alignment.dest_start, alignment.dest_end


def mark_phrase(text: str, phrase: str) -> str:
    """Escaped ``text`` with ``phrase`` (where found) wrapped in ``<mark>``."""
    found = locate_phrase(text, phrase)
    if found is None:
        return escape(text)
    start, end = found
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


__all__ = ["MIN_HIGHLIGHT_SCORE", "locate_phrase", "mark_phrase"]
