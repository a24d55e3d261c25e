"""How fast ``qa batch --rescore`` re-scores a store under a new policy (no ASR).

Fills a fresh SQLite store with ``--calls`` calls scored under the bundled policy — the transcripts
are the reference turns of the dev calls in ``../shared/calls`` (cycled; each copy its own key) —
then rescores the store under a copy of the policy with another forbidden-phrase cap, ``--rounds``
times into fresh copies of the store, and prints calls per second (median of the rounds), the median
time per call, call-minutes rescored per second, and calls per CPU-second (less distorted than wall
time on a shared, loaded machine). Run from the repository root:

    python bench/rescore.py --calls 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa_pipeline.batch.rescore import rescore_store
from qa_pipeline.paths import default_policy_dir
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import score_transcript
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.text.transcript_io import transcript_from_dict
from qa_pipeline.types import CallMeta

REPO = Path(__file__).resolve().parent.parent
CALLS = REPO.parent / "shared" / "calls"
CHANNEL_OF = {"agent": 0, "customer": 1}


def reference_calls(folder: Path) -> list[tuple[dict, CallMeta]]:
    """The dev calls' reference turns as transcript JSON values, with their metadata."""
    calls = []
    for truth_path in sorted(folder.glob("*.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        utterances = [{"role": t["role"], "channel": CHANNEL_OF[t["role"]], "start_s": t["start_s"],
                       "end_s": t["end_s"], "text": t["text"]} for t in truth["turns"]]
        meta_path = truth_path.with_name(truth_path.name.replace(".truth.json", ".meta.json"))
        calls.append(({"call_id": truth["call_id"], "duration_s": truth["duration_s"], "utterances": utterances},
                      CallMeta.load(meta_path)))
    if not calls:
        sys.exit(f"no *.truth.json under {folder}")
    return calls


def fill_store(path: Path, count: int, folder: Path) -> float:
    """``count`` calls scored under the bundled policy and stored with their transcripts; seconds taken."""
    policy = load_policy()
    calls = [(transcript_from_dict(data, "bench"), meta) for data, meta in reference_calls(folder)]
    started = time.perf_counter()
    with ResultStore(path) as store:
        for i in range(count):
            transcript, meta = calls[i % len(calls)]
            report = score_transcript(transcript, meta, policy, "bench-model")
            sha = hashlib.sha256(f"bench call {i}".encode()).hexdigest()
            store.record_result(CallKey(sha, policy.policy_id, "bench-model"), report.to_dict(),
                                f"/bench/call_{i:05d}.wav", meta, transcript=transcript)
    return time.perf_counter() - started


def stricter_policy(folder: Path) -> Path:
    shutil.copytree(default_policy_dir(), folder)
    toml = folder / "policy.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("\nforbidden_phrase = 60.0\n",
                                                             "\nforbidden_phrase = 40.0\n"), encoding="utf-8")
    return folder


def one_round(filled: Path, work: Path, policy_dir: Path) -> tuple[float, float, float, int, float]:
    """Rescore a fresh copy of the filled store:
    (calls/s, median s per call, call-minutes/s, calls, calls per CPU-second of this process)."""
    db = work / "round.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(filled, db)
    policy = load_policy(policy_dir)
    marks: list[float] = []
    with ResultStore(db) as store:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = rescore_store(store, policy, hook=lambda done, total: marks.append(time.perf_counter()))
        elapsed_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
    per_call = [b - a for a, b in zip([started] + marks[:-1], marks)]
    batch = result.batch
    return (batch.scored / elapsed_s, statistics.median(per_call), batch.audio_s / 60 / elapsed_s, batch.scored,
            batch.scored / cpu_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls-dir", type=Path, default=CALLS, help="dev calls with NAME.truth.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        filled = work / "filled.sqlite"
        fill_s = fill_store(filled, args.calls, args.calls_dir)  # closing the last connection folds the WAL into the file
        print(f"filled a store with {args.calls} calls (scored without ASR) in {fill_s:.1f} s")
        policy_dir = stricter_policy(work / "policy")
        rounds = [one_round(filled, work, policy_dir) for _ in range(args.rounds)]
        for i, (rate, per_call_s, minutes_per_s, scored, per_cpu_s) in enumerate(rounds, 1):
            print(f"round {i}: rescored {scored} calls, {rate:.1f} calls/s, median {1000 * per_call_s:.1f} ms/call, "
                  f"{minutes_per_s:.1f} call-minutes/s, {per_cpu_s:.1f} calls per CPU-second")
        print(f"median over {len(rounds)} rounds: {statistics.median(r[0] for r in rounds):.1f} calls/s "
              f"({statistics.median(r[2] for r in rounds):.1f} call-minutes per second; "
              f"{statistics.median(r[4] for r in rounds):.1f} calls per CPU-second, less distorted by a "
              f"loaded box)")


if __name__ == "__main__":
    main()
