"""Turn-boundary and hold-music benchmark on the DEV calls (reads truth files; the product never does).

    python bench/boundaries.py [CALLS_DIR] [--end-silence-ms N] [--tolerance-s 0.3]

For every call: load_call_audio + analyse_call with the default PipelineOptions, then match each
truth turn to the speech span of its role's channel with the largest overlap. A turn is a hit when
both its start and its end are within the tolerance. Prints per call and overall the hit share and
the median absolute start/end errors, and checks the music spans against the truth holds (every
hold covered by music, no real turn classified music).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from qa_pipeline.audio.channel import analyse_call
from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import PipelineOptions
from qa_pipeline.types import ChannelActivity, Role, Span

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CALLS = REPO_ROOT.parent / "shared" / "calls"


@dataclass(frozen=True)
class CallScore:
    name: str
    turns: int
    hits: int
    start_errors_s: tuple[float, ...]
    end_errors_s: tuple[float, ...]
    holds: int
    holds_found: int
    turns_as_music: int


def score_call(wav: Path, options: PipelineOptions, tolerance_s: float) -> CallScore:
    truth = json.loads(wav.with_suffix(".truth.json").read_text(encoding="utf-8"))
    audio = load_call_audio(wav, options.audio)
    activity = {a.role: a for a in analyse_call(audio, options)}
    hits, starts, ends, as_music = 0, [], [], 0
    for turn in truth["turns"]:
        target = Span(turn["start_s"], turn["end_s"])
        channel = activity[Role(turn["role"])]
        best = max(channel.speech, key=target.overlap_s, default=None)
        if best is None or best.overlap_s(target) == 0:
            starts.append(target.duration_s)
            ends.append(target.duration_s)
        else:
            starts.append(abs(best.start_s - target.start_s))
            ends.append(abs(best.end_s - target.end_s))
            hits += starts[-1] <= tolerance_s and ends[-1] <= tolerance_s
        as_music += any(m.overlap_s(target) > 0.5 * target.duration_s for m in channel.music)
    holds = truth["expected"].get("holds", [])
    customer = activity.get(Role.CUSTOMER)
    found = sum(_covered(Span(h["start_s"], h["end_s"]), customer) for h in holds)
    return CallScore(wav.stem, len(truth["turns"]), hits, tuple(starts), tuple(ends), len(holds), found, as_music)


def _covered(hold: Span, activity: ChannelActivity | None) -> bool:
    """At least 90% of the hold is music, and no speech span sits inside it."""
    if activity is None:
        return False
    music_s = sum(m.overlap_s(hold) for m in activity.music)
    speech_s = sum(s.overlap_s(hold) for s in activity.speech)
    return music_s >= 0.9 * hold.duration_s and speech_s == 0


def _line(label: str, turns: int, hits: int, starts: list[float], ends: list[float]) -> str:
    share = hits / turns if turns else float("nan")
    return (
        f"{label:<12} turns {turns:3d}  within tol {hits:3d} ({share:6.1%})  "
        f"median |start err| {statistics.median(starts) * 1000:5.0f} ms  "
        f"median |end err| {statistics.median(ends) * 1000:5.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calls_dir", nargs="?", type=Path, default=DEFAULT_CALLS)
    parser.add_argument("--tolerance-s", type=float, default=0.3)
    parser.add_argument("--end-silence-ms", type=int, default=None, help="override VadOptions.end_silence_ms")
    args = parser.parse_args(argv)
    options = PipelineOptions()
    if args.end_silence_ms is not None:
        options = replace(options, vad=replace(options.vad, end_silence_ms=args.end_silence_ms))
    wavs = sorted(p for p in args.calls_dir.glob("*.wav") if p.with_suffix(".truth.json").exists())
    if not wavs:
        print(f"no calls with truth files in {args.calls_dir}", file=sys.stderr)
        return 2
    print(f"VAD {options.vad}")
    scores = [score_call(wav, options, args.tolerance_s) for wav in wavs]
    all_starts, all_ends = [], []
    for s in scores:
        print(_line(s.name, s.turns, s.hits, list(s.start_errors_s), list(s.end_errors_s)))
        all_starts += s.start_errors_s
        all_ends += s.end_errors_s
    turns, hits = sum(s.turns for s in scores), sum(s.hits for s in scores)
    print(_line("OVERALL", turns, hits, all_starts, all_ends))
    holds, found = sum(s.holds for s in scores), sum(s.holds_found for s in scores)
    as_music = sum(s.turns_as_music for s in scores)
    print(f"hold music: {found}/{holds} holds classified music; {as_music}/{turns} real turns classified music")
    for s in scores:
        if s.holds or s.turns_as_music:
            print(f"  {s.name}: holds {s.holds_found}/{s.holds}, turns as music {s.turns_as_music}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
