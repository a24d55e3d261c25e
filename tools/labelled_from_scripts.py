"""Write a policy's ``labelled_<intent>.tsv`` files from labelled call scripts (run from the repo root).

Each script turn (``[[turn]]`` with ``role`` and ``text``, as in ``bench/unseen_calls/scripts_*``) may
label spans of an intent: ``forbidden``, ``promise`` and ``comfort`` on agent turns, ``complaint`` on
customer turns. For every intent asked:

* positives: the labelled spans of five characters or more, once each. The model judges clauses of
  that length (shorter ones only when they nearly repeat an example); a shorter span (不行, 不管这个)
  is the phrase lists' and patterns' to find, and as an example it would teach the model that any
  clause holding it offends (我们不管这个钱是谁转的，都得先冻结 concedes, it does not disown);
* negatives: the clauses of the same speaker's turns that hold no labelled span (for complaint, only
  in calls without any complaint; for comfort, only in calls whose complaint got none). Most of them are
  plain talk the model already reads as nothing, so only the hard ones are kept — those the policy's
  own model (its TOML examples, without any labelled file) scores at ``--hard`` or more — and a fixed
  sample of ``--easy`` others (the smallest CRC-32 of their text: the same every run).

    python tools/labelled_from_scripts.py bench/unseen_calls/scripts_* [--policy DIR] [--intent complaint ...]

The default policy ships ``labelled_forbidden.tsv``, ``labelled_complaint.tsv`` and
``labelled_comfort.tsv``: a promise file built the same way made no difference on 128 fresh calls
(stereo and mono) and turned three hand-written promise cases.

Sets whose calls still measure the product must not be given: their sentences would then be in the
policy they test. ``--never FILE`` leaves out every sentence found in that file's text: the default
policy's files are built with ``--never ../shared/calls/README.md``, so that no sentence the dev
calls' labels quote (writers read that README) becomes an example.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from qa_pipeline.paths import default_policy_dir  # noqa: E402
from qa_pipeline.policy.labelled import LABELLED_PREFIX  # noqa: E402
from qa_pipeline.policy.policy import load_policy  # noqa: E402
from qa_pipeline.text.analysis import clauses  # noqa: E402
from qa_pipeline.text.intent import intent_model  # noqa: E402
from qa_pipeline.text.normalize import match_form  # noqa: E402
from script_agreement import read_scripts  # noqa: E402  (bench/: the scripts' reader, every error named)

# intent -> (speaker whose turns carry it, label key of the turn)
INTENTS = {"forbidden": ("agent", "forbidden"), "promise": ("agent", "promise"),
           "complaint": ("customer", "complaint"), "comfort": ("agent", "comfort")}
MIN_CLAUSE_CHARS = 3
MIN_POSITIVE_CHARS = 5


def _phrases(turn: dict, key: str) -> list[str]:
    items = turn.get(key) or []
    return [str(i.get("phrase", "")) if isinstance(i, dict) else str(i) for i in items]


def _labels_any(script: dict, key: str) -> bool:
    return any(_phrases(turn, key) for turn in script.get("turn", []))


# Where an intent's negatives may come from. A writer labels a few complaint spans of a call and
# leaves the customer's other grumbles unlabelled, so only a call with no complaint at all vouches
# that its customer clauses are none; only a complaint left without comfort vouches for the agent's.
NEGATIVES_FROM = {
    "complaint": lambda script: not _labels_any(script, "complaint"),
    "comfort": lambda script: _labels_any(script, "complaint") and not _labels_any(script, "comfort"),
}


def sentences(scripts: list[dict], intent: str) -> tuple[list[str], list[str]]:
    """Labelled spans and unlabelled clauses of the intent's speaker, in script order, each once."""
    role, key = INTENTS[intent]
    vouches = NEGATIVES_FROM.get(intent, lambda script: True)
    positive: dict[str, None] = {}
    negative: dict[str, None] = {}
    for script in scripts:
        clean = vouches(script)
        for turn in script.get("turn", []):
            if turn.get("role") != role:
                continue
            spans = [p.strip() for p in _phrases(turn, key) if p.strip()]
            positive.update((p, None) for p in spans if len(match_form(p)) >= MIN_POSITIVE_CHARS)
            for clause in clauses(str(turn["text"])):
                text = clause.text.strip()
                if clean and len(match_form(text)) >= MIN_CLAUSE_CHARS and not any(p in text or text in p for p in spans):
                    negative[text] = None
    return list(positive), [n for n in negative if n not in positive]


def hard_negatives(negative: list[str], policy, intent: str, hard: float, easy: int) -> list[str]:
    """The clauses the policy's own model scores at ``hard`` or more, and ``easy`` fixed others."""
    scores = intent_model(policy.intents[intent].examples).resemble_all(tuple(negative))
    kept = [t for t, s in zip(negative, scores) if s.probability >= hard]
    rest = sorted((t for t, s in zip(negative, scores) if s.probability < hard), key=lambda t: zlib.crc32(t.encode()))
    chosen = set(kept) | set(rest[:easy])
    return [t for t in negative if t in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", type=Path, help="folders of labelled scripts (*.toml)")
    parser.add_argument("--policy", type=Path, default=default_policy_dir(), help="policy folder to write into")
    parser.add_argument("--intent", action="append", choices=sorted(INTENTS),
                        help="intent (repeatable; default: the three the default policy ships)")
    parser.add_argument("--hard", type=float, default=0.2, help="model probability of a kept negative")
    parser.add_argument("--easy", type=int, default=3000, help="other negatives kept")
    parser.add_argument("--never", type=Path, action="append", default=[],
                        help="a text file none of whose sentences may become an example (repeatable)")
    args = parser.parse_args()
    try:
        files, scripts = read_scripts(args.sets)
    except ValueError as error:
        parser.error(str(error))
    policy = load_policy(args.policy, labelled=False)
    never = [path.read_text(encoding="utf-8") for path in args.never]
    for intent in args.intent or ["forbidden", "complaint", "comfort"]:
        positive, negative = (
            [t for t in found if not any(t in text for text in never)] for found in sentences(scripts, intent))
        negative = hard_negatives(negative, policy, intent, args.hard, args.easy)
        out = args.policy / f"{LABELLED_PREFIX}{intent}.tsv"
        head = (f"# {intent}: labelled spans (+) and unlabelled clauses of the same speaker (-) of "
                f"{len(files)} scripts in {len(args.sets)} sets, written by tools/labelled_from_scripts.py\n"
                f"# (hard negatives at model probability >= {args.hard:g}, {args.easy} others)\n")
        lines = [f"+\t{p}" for p in positive] + [f"-\t{n}" for n in negative]
        out.write_text(head + "\n".join(lines) + "\n", encoding="utf-8")
        print(f"{out}: {len(positive)} positive, {len(negative)} negative")


if __name__ == "__main__":
    main()
