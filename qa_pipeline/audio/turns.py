"""Turns inside one VAD span of a mono channel: where the voice changes, from frame voice ratios.

``pieces_of_span`` takes the voice ratio of every 10 ms frame of a span (> 0: sounds like speaker
0; ``audio.speakers`` fits the two voices) and cuts the span into ``SpeakerPiece``s:

1. a two-state Viterbi path over the ratios, every change of voice costing ``switch_cost`` nats;
2. runs shorter than ``min_run_s`` join a neighbour (cut-out bits under 1 s were mostly wrong),
   unless a turn gap (``turn_gap_s`` of pause) sets them off from every neighbour: then half of
   ``min_run_s`` will do (an agent's 喂，说吧 before the customer's first turn);
3. a cut-out piece whose own frames do not hold ``min_piece_evidence`` nats for its voice joins
   its neighbours: a second of greeting that sounds a little like the other voice (您好 and the
   customer's 你好 are the same syllables) is not a turn of its own;
4. each change of voice is moved into the longest pause (frames ``pause_below_db`` under the
   call's median level, at least ``min_pause_s`` long) within ``snap_s``: people take turns in
   pauses, and a turn gap outlasts the breath at a comma, while the ratio path, smoothed by the
   switching cost, changes late or early;
5. the pause a change went into is left out of both pieces: each piece ends and starts at its voice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_pipeline.config import SpeakerOptions
from qa_pipeline.types import Span

#: (first frame, last frame, speaker) of one stretch of a span.
Run = tuple[int, int, int]


@dataclass(frozen=True)
class SpeakerPiece:
    """A stretch of one VAD span spoken by one speaker (0 or 1).

    ``confidence`` is how likely the voice label is right, from the voice ratio of its frames
    (0.5 = a coin toss).
    """

    span: Span
    speaker: int
    confidence: float
    source: Span  # the VAD span it was cut from


def viterbi(llr: np.ndarray, options: SpeakerOptions) -> np.ndarray:
    """The speaker (0/1) of every frame: the best path over the ratios, paying ``switch_cost``
    (nats) for every change of voice."""
    if len(llr) == 0:
        return np.zeros(0, dtype=int)
    gain = np.stack([llr / 2, -llr / 2], axis=1) * options.llr_scale
    score = gain[0].copy()
    back = np.zeros((len(llr), 2), dtype=np.int8)
    for t in range(1, len(llr)):
        stay, cross = score, score[::-1] - options.switch_cost
        back[t] = np.where(stay >= cross, [0, 1], [1, 0])
        score = np.maximum(stay, cross) + gain[t]
    path = np.zeros(len(llr), dtype=int)
    path[-1] = int(np.argmax(score))
    for t in range(len(llr) - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def pieces_of_span(span: Span, llr: np.ndarray, options: SpeakerOptions,
                   quiet: np.ndarray | None = None) -> list[SpeakerPiece]:
    """Cut one VAD span where the voice changes (steps 1-4 above); ``quiet`` marks pause frames."""
    if len(llr) == 0:
        return [SpeakerPiece(span, 0, 0.5, span)]
    hop_s = options.hop_ms / 1000
    runs = _runs(viterbi(llr, options))
    gapped = _gapped(runs, quiet, int(options.turn_gap_s / hop_s)) if quiet is not None else frozenset()
    runs = _merge_short(runs, llr, int(options.min_run_s / hop_s), gapped)
    runs = _drop_weak(runs, llr, options)
    if quiet is not None and len(runs) > 1:
        # a change moved into a pause can leave a piece under min_run_s: it stays with its neighbour
        runs = _merge_short(_snap_to_pauses(runs, llr, quiet, options), llr, int(options.min_run_s / hop_s))
    pieces = []
    for index, (first, last, speaker) in enumerate(runs):
        if quiet is not None:
            first, last = _voiced_edges(first, last, quiet, index > 0, index < len(runs) - 1)
        start_s = span.start_s if index == 0 else span.start_s + first * hop_s
        end_s = span.end_s if index == len(runs) - 1 else span.start_s + (last + 1) * hop_s
        confidence = voice_confidence(_evidence(llr, (first, last, speaker), options))
        if len(runs) > 1 and end_s - start_s < options.short_piece_s:
            # Short pieces cut out of a span were often wrong on our trial mixes, however
            # sure their frames looked: never more than a coin toss and a half.
            confidence = min(confidence, options.short_piece_confidence)
        pieces.append(SpeakerPiece(Span(start_s, end_s), speaker, confidence, span))
    return pieces


def _voiced_edges(first: int, last: int, quiet: np.ndarray, at_start: bool, at_end: bool) -> tuple[int, int]:
    """A run's frames without the pause its cut went into: the turn gap belongs to neither voice
    (left in, it lengthens both turns and slows the measured speaking rate)."""
    while at_start and first < last and quiet[first]:
        first += 1
    while at_end and last > first and quiet[last]:
        last -= 1
    return first, last


def _evidence(llr: np.ndarray, run: Run, options: SpeakerOptions) -> float:
    """Nats for the run's own voice: its summed ratio, scaled as in the Viterbi path (frames overlap)."""
    first, last, speaker = run
    own = llr[first : last + 1] if speaker == 0 else -llr[first : last + 1]
    return float(own.sum() * options.llr_scale)


def voice_confidence(evidence: float) -> float:
    """How likely the piece's voice is right: the logistic of its evidence, never under 0.5."""
    return max(0.5, 1.0 / (1.0 + float(np.exp(-np.clip(evidence, -50.0, 50.0)))))


def _runs(path: np.ndarray) -> list[Run]:
    """(first frame, last frame, speaker) of each stretch of one label."""
    changes = np.flatnonzero(np.diff(path)) + 1
    bounds = [0, *changes.tolist(), len(path)]
    return [(bounds[i], bounds[i + 1] - 1, int(path[bounds[i]])) for i in range(len(bounds) - 1)]


def _joined(runs: list[Run]) -> list[Run]:
    """Neighbouring runs of one speaker as one run."""
    merged: list[Run] = []
    for run in runs:
        if merged and merged[-1][2] == run[2]:
            merged[-1] = (merged[-1][0], run[1], run[2])
        else:
            merged.append(run)
    return merged


def _gapped(runs: list[Run], quiet: np.ndarray, gap_frames: int) -> frozenset[tuple[int, int]]:
    """(first, last) of the runs set off from every neighbour by a pause of ``gap_frames``: a short
    reply after a turn gap (喂，说吧 … then the customer) is a turn, not a blip inside one."""
    def pause_at(frame: int) -> bool:
        # the path changes voice a little early or late: look for the gap around the change
        lo, hi = max(0, frame - 2 * gap_frames), min(len(quiet), frame + 2 * gap_frames)
        return bool(_pauses(quiet[lo:hi], gap_frames))

    if len(runs) < 2:
        return frozenset()
    last_index = len(runs) - 1
    return frozenset(
        (first, last) for index, (first, last, _) in enumerate(runs)
        if (index == 0 or pause_at(first)) and (index == last_index or pause_at(last + 1))
    )


def _merge_short(runs: list[Run], llr: np.ndarray, min_frames: int,
                 gapped: frozenset[tuple[int, int]] = frozenset()) -> list[Run]:
    """Give the shortest run under ``min_frames`` to its neighbours until none is left; a run set
    off by turn gaps (``gapped``) needs only half of ``min_frames``."""
    def frames(run: Run) -> int:
        return run[1] - run[0] + 1

    def too_short(run: Run) -> bool:
        return frames(run) < (min_frames // 2 if run[:2] in gapped else min_frames)

    runs = list(runs)
    while len(runs) > 1:
        short = [i for i in range(len(runs)) if too_short(runs[i])]
        if not short:
            break
        index = min(short, key=lambda i: frames(runs[i]))
        first, last, _ = runs[index]
        if index == 0 or (index < len(runs) - 1 and frames(runs[index + 1]) > frames(runs[index - 1])):
            target = index + 1
        else:
            target = index - 1
        lo, hi = min(runs[target][0], first), max(runs[target][1], last)
        runs[min(index, target)] = (lo, hi, runs[target][2])
        del runs[max(index, target)]
        runs = _joined(runs)
    return runs


def _drop_weak(runs: list[Run], llr: np.ndarray, options: SpeakerOptions) -> list[Run]:
    """Give the weakest cut-out run to the other voice while it holds under ``min_piece_evidence``."""
    while len(runs) > 1:
        evidence = [_evidence(llr, run, options) for run in runs]
        index = int(np.argmin(evidence))
        if evidence[index] >= options.min_piece_evidence:
            break
        first, last, speaker = runs[index]
        runs = _joined(runs[:index] + [(first, last, 1 - speaker)] + runs[index + 1 :])
    return runs


def _pauses(quiet: np.ndarray, min_frames: int) -> list[tuple[int, int]]:
    """(middle frame, length in frames) of every stretch of at least ``min_frames`` quiet frames."""
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_frames
    return [(int(m), int(n)) for m, n in zip((starts[keep] + ends[keep]) // 2, (ends - starts)[keep])]


def _crossed(llr: np.ndarray, quiet: np.ndarray, change: int, pause: int, leaving: int, options: SpeakerOptions) -> float:
    """Nats the voiced frames between a change and a pause hold for the voice the move takes them
    from (pause frames carry only line noise: they are no evidence)."""
    lo, hi = sorted((change, pause))
    voiced = llr[lo:hi][~quiet[lo:hi]]
    return float((voiced if leaving == 0 else -voiced).sum() * options.llr_scale)


def _snap_to_pauses(runs: list[Run], llr: np.ndarray, quiet: np.ndarray, options: SpeakerOptions) -> list[Run]:
    """Every change of voice moved to the middle of the longest pause within ``snap_s`` (kept
    between the neighbouring changes) unless the frames it crosses speak clearly for the voice they
    would leave (``snap_max_evidence``: a reply over the end of a turn starts inside speech);
    left where it is when there is none."""
    hop_s = options.hop_ms / 1000
    pauses = _pauses(quiet, max(1, int(options.min_pause_s / hop_s)))
    reach = int(options.snap_s / hop_s)
    starts = [run[0] for run in runs]
    for i in range(1, len(runs)):
        lower = starts[i - 1] + 1
        upper = runs[i][1] if i == len(runs) - 1 else starts[i + 1] - 1
        # a pause before the change takes frames from the voice before it, one after from the voice after
        near = [(m, n) for m, n in pauses if abs(m - starts[i]) <= reach and lower <= m <= upper
                and _crossed(llr, quiet, starts[i], m, runs[i - 1 if m < starts[i] else i][2], options)
                <= options.snap_max_evidence]
        if near:  # the longest pause (a turn gap outlasts a comma's breath), then the nearest
            starts[i] = max(near, key=lambda p: (p[1], -abs(p[0] - starts[i])))[0]
    ends = [s - 1 for s in starts[1:]] + [runs[-1][1]]
    return [(start, end, run[2]) for start, end, run in zip(starts, ends, runs)]
