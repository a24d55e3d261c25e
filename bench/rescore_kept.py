"""Text checks against the labels on kept transcripts: the current rules, no ASR, no audio decoding.

``mono_agreement.py --keep DIR`` writes every stereo and mono report of a run to DIR. This re-runs the
checks on those stored transcripts with the code and policy as they are now and compares them with
the labels as ``qa eval`` does, so a change to a rule or a policy file is measured on hundreds of calls
in minutes (the transcripts stay those of the run that kept them). Separated (mono) transcripts get
``text.replies.split_replies`` first, as the pipeline now gives them, so runs kept before that step
are scored as a new run would be (on runs kept after it, the step finds nothing more to move).

    python bench/rescore_kept.py --set ../shared/calls:/tmp/kept/dev --set /tmp/unseen_calls_z:/tmp/kept/z
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa_pipeline.eval.evaluate import EvalPair, evaluate  # noqa: E402
from qa_pipeline.pipeline import find_meta  # noqa: E402
from qa_pipeline.policy.policy import load_policy  # noqa: E402
from qa_pipeline.rules.run import score_transcript  # noqa: E402
from qa_pipeline.text.replies import split_replies  # noqa: E402
from qa_pipeline.text.segment import segmenter_for  # noqa: E402
from qa_pipeline.text.transcript_io import transcript_from_dict  # noqa: E402
from qa_pipeline.types import CallMeta  # noqa: E402

CHECKS = ("greeting", "closing", "forbidden_phrases", "unauthorized_promise", "complaint", "comfort_after_complaint")
MODES = ("stereo", "mono")


def rescored_pairs(calls: Path, kept: Path, mode: str, policy, segmenter) -> list[EvalPair]:
    """One pair per kept report of ``mode``: the labels and the report with its checks run anew."""
    pairs = []
    for path in sorted((kept / mode).glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        transcript = transcript_from_dict(report, str(path), segmenter, normalized=True)
        if any(u.role_confidence is not None for u in transcript.utterances):
            transcript = replace(transcript, utterances=tuple(split_replies(transcript.utterances, policy.pause_s)))
            report["utterances"] = [u.to_dict() for u in transcript.utterances]  # qa eval reads the hits' roles here
        meta = find_meta(calls / f"{path.stem}.wav") or CallMeta()
        report["checks"] = score_transcript(transcript, meta, policy, "rescore").to_dict()["checks"]
        truth = json.loads((calls / f"{path.stem}.truth.json").read_text(encoding="utf-8"))
        pairs.append(EvalPair(path.stem, truth, report))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", required=True, metavar="CALLS:KEPT",
                        help="a labelled call directory and the --keep directory of a mono_agreement run")
    args = parser.parse_args()
    policy = load_policy(None)
    segmenter = segmenter_for(policy.user_dict)
    pairs: dict[str, list[EvalPair]] = {mode: [] for mode in MODES}
    for item in args.set:
        calls, kept = (Path(part) for part in item.split(":", 1))
        for mode in MODES:
            pairs[mode] += rescored_pairs(calls, kept, mode, policy, segmenter)
    results = {mode: evaluate(pairs[mode]) for mode in MODES}
    print(f"{'check':24} {'stereo':>9} {'mono':>9}  disagreeing calls (stereo | mono)")
    for name in CHECKS:
        row = {mode: results[mode].check(name) for mode in MODES}
        wrong = {mode: ",".join(o.call.removeprefix("unseen_") for o in row[mode].disagreements) for mode in MODES}
        print(f"{name:24} {row['stereo'].agreed:4}/{row['stereo'].total:<4} {row['mono'].agreed:4}/{row['mono'].total:<4}"
              f"  {wrong['stereo']} | {wrong['mono']}")


if __name__ == "__main__":
    main()
