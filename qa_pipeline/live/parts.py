"""Long utterances transcribed in parts while the speaker goes on (the live path only).

VAD closes an utterance after ``end_silence_ms`` of quiet, so a 10 s agent turn would be
decoded whole after it ended, and an alert on its last words would wait for all of it.
Speakers pause between clauses (0.3-0.6 s at the commas of the dev calls), so once an open
utterance holds ``part_min_s`` of speech not yet sent to ASR and its channel has been quiet for
``part_pause_ms``, the stretch so far is cut off as a part and transcribed at once. When VAD
closes the utterance only what follows the last cut is left to decode (nothing, when the
speaker stopped at that pause), and the utterance's text is its parts' texts joined.

Cuts fall inside pauses: a part's clip ends ``pad_s`` after its last loud frame and the next
part's clip starts there, so no sound is heard twice or lost. The utterance (its VAD span) is
exactly the one batch sees; only where ASR cuts the audio differs.

``PartBook`` is plain bookkeeping (no audio, no model): which parts an utterance has, which
texts are back, and the merged text once all are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import Role, Span

# Texts of parts are joined with this when the earlier one ends without punctuation (a part
# always ends at a pause).
_JOINER = "，"
_PUNCTUATION = set("，。！？、；：,.!?;:")
_EPS_S = 1e-6


@dataclass
class PartedUtterance:
    """An utterance (open or closed by VAD) whose audio goes to ASR in several clips."""

    channel: int
    role: Role
    start_s: float
    ids: list[int] = field(default_factory=list)
    clip_starts_s: list[float] = field(default_factory=list)
    texts: dict[int, ClipText] = field(default_factory=dict)
    voiced_end_s: float = 0.0  # end of the speech the parts so far hold (the next clip starts pad_s later)
    span: Span | None = None  # set when VAD closes the utterance

    @property
    def complete(self) -> bool:
        return self.span is not None and len(self.texts) == len(self.ids)

    @property
    def last_text(self) -> str | None:
        """Text of the newest part, if it is back (the next part's context)."""
        return self.texts[self.ids[-1]].text if self.ids and self.ids[-1] in self.texts else None

    def rest_bounds(self, end_s: float, pad_s: float) -> Span | None:
        """Clip bounds of the speech after the last part up to ``end_s``; None if there is none."""
        if end_s <= self.voiced_end_s + _EPS_S:
            return None
        return Span(self.voiced_end_s + pad_s, end_s + pad_s)

    def add(self, part_id: int, clip_start_s: float) -> None:
        self.ids.append(part_id)
        self.clip_starts_s.append(clip_start_s)

    def merged(self) -> tuple[float, ClipText]:
        """(clip start of the first part, the parts' texts joined, word times relative to it)."""
        first_s = self.clip_starts_s[0]
        text, words = "", []
        for part_id, clip_start_s in zip(self.ids, self.clip_starts_s):
            part = self.texts[part_id]
            piece = part.text.strip()
            if not piece:
                continue
            if text and text[-1] not in _PUNCTUATION:
                text += _JOINER
            text += piece
            words += [w.with_offset(clip_start_s - first_s) for w in part.words]
        return first_s, ClipText(text, tuple(words))


class PartBook:
    """The parted utterances of one call: open ones by channel, and every part id awaiting text."""

    def __init__(self, min_part_s: float, pad_s: float) -> None:
        if min_part_s <= 0 or pad_s < 0:
            raise ValueError("min_part_s must be > 0 and pad_s >= 0")
        self.min_part_s = min_part_s
        self.pad_s = pad_s
        self._open: dict[int, PartedUtterance] = {}
        self._by_id: dict[int, PartedUtterance] = {}
        self._abandoned: set[int] = set()

    def open(self, channel: int) -> PartedUtterance | None:
        return self._open.get(channel)

    @property
    def waiting_ids(self) -> tuple[int, ...]:
        """Part ids whose text has not come back (abandoned ones included)."""
        return tuple(i for i, u in self._by_id.items() if i not in u.texts) + tuple(self._abandoned)

    def due(self, channel: int, likely: Span) -> Span | None:
        """Clip bounds of a new part for the open utterance VAD would close as ``likely`` (its
        channel quiet since ``likely.end_s``), or None while less than ``min_part_s`` is new."""
        parted = self._open.get(channel)
        if parted is not None and parted.start_s != likely.start_s:
            self._abandon(self._open.pop(channel))  # VAD restarted the utterance
            parted = None
        if parted is None:
            from_s, clip_start_s = likely.start_s, max(0.0, likely.start_s - self.pad_s)
        else:
            clip_start_s = parted.voiced_end_s + self.pad_s
            from_s = clip_start_s + self.pad_s
        if likely.end_s - from_s < self.min_part_s:
            return None
        return Span(clip_start_s, likely.end_s + self.pad_s)

    def add_part(self, channel: int, role: Role, likely: Span, part_id: int, bounds: Span) -> None:
        """Record the part ``due`` proposed, now sent to ASR as ``part_id``."""
        parted = self._open.setdefault(channel, PartedUtterance(channel, role, likely.start_s))
        parted.add(part_id, bounds.start_s)
        parted.voiced_end_s = likely.end_s
        self._by_id[part_id] = parted

    def close(self, channel: int, span: Span) -> PartedUtterance | None:
        """VAD closed ``span`` on ``channel``: the parted utterance it ends, or None when it has
        no parts (or parts that do not fit it, which are abandoned: decode ``span`` whole)."""
        parted = self._open.pop(channel, None)
        if parted is None:
            return None
        if parted.start_s != span.start_s or span.end_s < parted.voiced_end_s - _EPS_S:
            self._abandon(parted)
            return None
        parted.span = span
        return parted

    def add_rest(self, parted: PartedUtterance, part_id: int, clip_start_s: float) -> None:
        """The closed utterance's last clip (after its last part) was sent to ASR as ``part_id``."""
        parted.add(part_id, clip_start_s)
        self._by_id[part_id] = parted

    def knows(self, part_id: int) -> bool:
        return part_id in self._by_id or part_id in self._abandoned

    def accept(self, part_id: int, text: ClipText) -> PartedUtterance | None:
        """Store a part's text; returns its utterance once VAD closed it and every text is back."""
        if part_id in self._abandoned:
            self._abandoned.discard(part_id)
            return None
        parted = self._by_id.get(part_id)
        if parted is None:
            raise ValueError(f"no part {part_id} is waiting for text")
        parted.texts[part_id] = text
        return self.take_if_complete(parted)

    def take_if_complete(self, parted: PartedUtterance) -> PartedUtterance | None:
        if not parted.complete:
            return None
        for part_id in parted.ids:
            self._by_id.pop(part_id, None)
        return parted

    def _abandon(self, parted: PartedUtterance) -> None:
        for part_id in parted.ids:
            self._by_id.pop(part_id, None)
            if part_id not in parted.texts:
                self._abandoned.add(part_id)
