"""Precision and recall of the judgement per check on tests/judgement/corpus.tsv.

Prints, for the dev and held-out splits, clean and ASR-corrupted (punctuation dropped, same-sound
swaps): precision, recall, agreement and near-misses flagged per check, and the median milliseconds
to judge one utterance once the models are fitted. Run from the repo root: ``python bench/judgement.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from qa_pipeline.eval.judgement import CHECKS, corrupt, flagged, load_corpus, score
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.text.intent import intent_model
from qa_pipeline.text.segment import default_segmenter

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "judgement" / "corpus.tsv"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    policy = load_policy(Path(args[0]) if args else None)
    items = load_corpus(CORPUS)
    alphabet = "".join(sorted({c for item in items for c in item.text}))
    started = time.perf_counter()
    default_segmenter()("热身")  # jieba's dictionary, loaded once per process
    print(f"jieba dictionary load: {1000 * (time.perf_counter() - started):.0f} ms")
    started = time.perf_counter()
    for intent in policy.intents.values():
        intent_model(intent.examples)
    print(f"fitting {len(policy.intents)} intent models from the policy's examples: "
          f"{1000 * (time.perf_counter() - started):.0f} ms")
    times_ms: list[float] = []
    for split in ("dev", "heldout"):
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
                if "-v" in sys.argv:
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
