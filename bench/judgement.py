"""Precision and recall of the judgement per check on labelled corpora (default tests/judgement/corpus.tsv).

Prints, for every split found in the corpora (in order of first appearance), clean and ASR-corrupted
(punctuation dropped, same-sound swaps): precision, recall, agreement and near-misses flagged per check,
and the median milliseconds to judge one utterance once the models are fitted. Run from the repo root: ``python bench/judgement.py
[POLICY] [--corpus PATH ...] [-v]`` (``--corpus`` is repeatable, e.g. ``--corpus tests/judgement/fresh.tsv``
for the held-out corpus nobody tunes on).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from qa_pipeline.eval.judgement import CHECKS, corrupt, flagged, load_corpus, score
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.text.intent import IntentModel, intent_model
from qa_pipeline.text.segment import default_segmenter

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "judgement" / "corpus.tsv"


def main() -> None:
    parser = argparse.ArgumentParser(description="precision and recall of the judgement per check")
    parser.add_argument("policy", nargs="?", type=Path, help="policy folder (default: the bundled policy)")
    parser.add_argument("--corpus", action="append", type=Path, help="labelled TSV (repeatable)")
    parser.add_argument("-v", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    for path in args.corpus or []:
        if not path.is_file():
            parser.error(f"{path}: no such corpus file")
    policy = load_policy(args.policy)
    items = [item for path in (args.corpus or [CORPUS]) for item in load_corpus(path)]
    alphabet = "".join(sorted({c for item in items for c in item.text}))
    started = time.perf_counter()
    default_segmenter()("热身")  # jieba's dictionary, loaded once per process
    print(f"jieba dictionary load: {1000 * (time.perf_counter() - started):.0f} ms")
    started = time.perf_counter()
    for intent in policy.intents.values():
        IntentModel(intent.examples)
    print(f"fitting {len(policy.intents)} intent models from the policy's examples: "
          f"{1000 * (time.perf_counter() - started):.0f} ms")
    for intent in policy.intents.values():
        intent_model(intent.examples)  # fitted or loaded, and kept in the user's cache
    intent_model.cache_clear()
    started = time.perf_counter()
    for intent in policy.intents.values():
        intent_model(intent.examples)
    print(f"loading them from the user's cache (a later process): {1000 * (time.perf_counter() - started):.0f} ms")
    times_ms: list[float] = []
    for split in dict.fromkeys(item.split for item in items):
        for variant in ("clean", "corrupted"):
            rows = [i for i in items if i.split == split]
            verdicts = []
            for n, item in enumerate(rows):
                text = item.text if variant == "clean" else corrupt(item.text, n, alphabet)
                t0 = time.perf_counter()
                verdicts.append(flagged(item.check, text, policy))
                times_ms.append(1000 * (time.perf_counter() - t0))
            print(f"\n{split} / {variant} ({len(rows)} utterances)")
            print(f"{'check':10} {'precision':>9} {'recall':>7} {'agree':>6} {'near-miss flagged':>18}")
            for check in CHECKS:
                s = score(rows, verdicts, check)
                near_total = sum(1 for r in rows if r.check == check and r.kind == "near_miss")
                print(f"{check:10} {s.precision:9.1%} {s.recall:7.1%} {s.agreement:6.1%} "
                      f"{s.near_miss_flagged:>10}/{near_total}")
                if args.v:
                    for r, v in zip(rows, verdicts):
                        if r.check == check and v != r.label:
                            print(f"    {'FP' if v else 'FN'} {r.kind:9} {r.text}")
    print(f"\nper utterance (first pass, uncached): median {statistics.median(times_ms):.2f} ms, "
          f"p90 {statistics.quantiles(times_ms, n=10)[-1]:.2f} ms")
    started = time.perf_counter()
    for item in items[:200]:
        flagged(item.check, item.text, policy)
    print(f"per utterance again (cached, as the live path re-runs checks): "
          f"{1000 * (time.perf_counter() - started) / 200:.2f} ms")


if __name__ == "__main__":
    main()
