"""Each forbidden-phrase finding on the agent turns of labelled scripts, and whether a label stands there.

Every agent turn of every script is checked alone (``rules.phrases.forbidden_hits``, the same code the
forbidden-phrase check runs per utterance) and each finding is counted as an offence when it overlaps a
labelled span of that turn, otherwise as a misreading. The table splits the findings by how they were
made (a listed phrase, a pattern, the model) and the model's findings by the clause's length and by
their similarity to the nearest positive example, the figures behind ``judge._BRIEF_MIN_SIMILARITY`` and
the forbidden intent's threshold. ``--text nopunct`` drops punctuation first, as Whisper often writes;
``--no-brief-floor`` lifts that floor for the run, to count what it keeps out.

Sets merged after their measurement have been read while tuning: these are not held-out figures.

    python bench/model_findings.py --text nopunct bench/unseen_calls/scripts_*  [-v]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_pipeline.policy.policy import load_policy  # noqa: E402
from qa_pipeline.rules import judge  # noqa: E402
from qa_pipeline.rules.phrases import forbidden_hits  # noqa: E402
from qa_pipeline.text.normalize import normalize_display  # noqa: E402
from qa_pipeline.types import Role, Utterance  # noqa: E402
from script_agreement import _S_PER_CHAR, read_scripts, turn_text  # noqa: E402

# Similarity bands (lower bounds) and clause lengths the model's findings are split by.
_BANDS = (0.0, 0.3, 0.35, 0.4, 0.5)
_BRIEF_MAX_CHARS = 8


@dataclass(frozen=True)
class Finding:
    script: str
    turn: int
    via: str
    clause: str
    similarity: float | None
    offence: bool


def findings_of(path: Path, script: dict, mode: str, policy) -> list[Finding]:
    """The findings on each agent turn of one script, each marked offence or misreading."""
    found = []
    for index, turn in enumerate(script["turn"]):
        if turn["role"] != "agent":
            continue
        text = normalize_display(turn_text(turn["text"], mode, "", ""))
        labels = [normalize_display(turn_text(label["phrase"], mode, "", "")) for label in turn.get("forbidden", [])]
        spans = [(at, at + len(label)) for label in labels if (at := text.find(label)) >= 0]
        utterance = Utterance(Role.AGENT, 0, 1.0, 1.0 + _S_PER_CHAR * len(text), text)
        for _, judged in forbidden_hits((utterance,), policy):
            start, end = judged.hit.match.start_char, judged.hit.match.end_char
            offence = any(start < span_end and span_start < end for span_start, span_end in spans)
            found.append(Finding(path.stem, index, judged.via, judged.hit.match.matched, judged.similarity, offence))
    return found


def _band(similarity: float | None) -> str:
    value = similarity or 0.0
    low = max(b for b in _BANDS if value >= b)
    following = [b for b in _BANDS if b > low]
    return f"{low:.2f}–{following[0]:.2f}" if following else f"≥ {low:.2f}"


def table(found: list[Finding]) -> list[str]:
    """Offences and misreadings by how found, and the model's by clause length and similarity band."""
    rows = [f"{'findings':34} {'offence':>8} {'misread':>8}"]
    by_via = Counter((f.via, f.offence) for f in found)
    for via in sorted({f.via for f in found}):
        rows.append(f"{via:34} {by_via[(via, True)]:8} {by_via[(via, False)]:8}")
    model = [f for f in found if f.via == "model"]
    for brief in (True, False):
        kind = f"≤ {_BRIEF_MAX_CHARS} chars" if brief else f"> {_BRIEF_MAX_CHARS} chars"
        part = [f for f in model if (len(f.clause) <= _BRIEF_MAX_CHARS) == brief]
        counts = Counter((_band(f.similarity), f.offence) for f in part)
        for band in sorted({b for b, _ in counts}):
            rows.append(f"{'model, ' + kind + ', sim ' + band:34} {counts[(band, True)]:8} {counts[(band, False)]:8}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="folders of labelled scripts (*.toml)")
    parser.add_argument("--text", choices=("clean", "nopunct"), default="clean")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every model finding")
    parser.add_argument("--no-brief-floor", action="store_true", help="no similarity floor for brief clauses")
    args = parser.parse_args()
    if args.no_brief_floor:
        judge._BRIEF_MIN_SIMILARITY = 0.0  # this run only: what the floor keeps out is counted too
    try:
        files, scripts = read_scripts(args.sets)
    except ValueError as error:
        parser.error(str(error))
    policy = load_policy(None)
    found = [f for path, script in zip(files, scripts) for f in findings_of(path, script, args.text, policy)]
    print(f"{len(found)} findings on agent turns of {len(args.sets)} sets ({args.text})")
    print("\n".join(table(found)))
    if args.verbose:
        for f in sorted((f for f in found if f.via == "model"), key=lambda f: f.similarity or 0.0):
            print(f"{f.similarity or 0:.2f} {'offence' if f.offence else 'misread':7} {f.script}#{f.turn} {f.clause}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
