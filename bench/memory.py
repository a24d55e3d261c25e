"""Worker memory over a long batch: peak RSS per worker, and that it stays flat over >= 200 calls.

Writes N distinct calls (the samples again and again, each with a different few ms of trailing
silence so every file has its own sha256 and is scored anew) and runs the local engine on them,
sampling each worker's RSS from /proc after every call (Linux only).

    python bench/memory.py                 # 210 calls, default workers
    python bench/memory.py --calls 60 --workers 1 --max-seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile

from qa_pipeline.batch.jobs import CallOutcome, PipelineScorerFactory, discover_calls
from qa_pipeline.batch.driver import BatchProgress, LocalEngine, default_workers, run_batch
from qa_pipeline.config import PipelineOptions
from qa_pipeline.store.results import ResultStore

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def write_calls(target: Path, count: int, max_seconds: float | None = None) -> None:
    sources = sorted(SAMPLES.glob("*.wav"))
    for i in range(count):
        src = sources[i % len(sources)]
        data, rate = soundfile.read(str(src), dtype="int16", always_2d=True)
        if max_seconds is not None:
            data = data[: int(max_seconds * rate)]
        pad = np.zeros(((i + 1) * rate // 1000, data.shape[1]), dtype=np.int16)  # i+1 ms of silence
        info = soundfile.info(str(src))
        out = target / f"call_{i:04d}.wav"
        soundfile.write(str(out), np.concatenate([data, pad]), rate, subtype=info.subtype)
        meta = json.loads(src.with_name(src.stem + ".meta.json").read_text(encoding="utf-8"))
        meta["call_id"] = f"MEM-{i:04d}"
        out.with_name(out.stem + ".meta.json").write_text(json.dumps(meta), encoding="utf-8")


def worker_pids() -> list[int]:
    me = os.getpid()
    children = []
    for task in Path(f"/proc/{me}/task").iterdir():
        text = (task / "children").read_text().split()
        children.extend(int(pid) for pid in text)
    return sorted(p for p in children if "spawn_main" in _cmdline(p))  # not the resource tracker


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=210)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--beam-size", type=int, default=None)
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="keep only the first seconds of each sample (a quicker run; memory per call is what counts)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="qa-mem-"))
    try:
        (tmp / "calls").mkdir()
        write_calls(tmp / "calls", args.calls, args.max_seconds)
        options = PipelineOptions()
        if args.beam_size:
            options = replace(options, asr=replace(options.asr, beam_size=args.beam_size))
        samples: list[tuple[int, dict[int, float]]] = []
        peaks: dict[int, float] = {}

        def hook(progress: BatchProgress, outcome: CallOutcome | None) -> None:
            if outcome is not None:
                pids = worker_pids()
                samples.append((progress.done, {pid: rss_mb(pid) for pid in pids}))
                peaks.update({pid: rss_mb(pid, "VmHWM") for pid in pids})
                if progress.done % 10 == 0:  # as we go, so a long run shows its trend early
                    print(f"{progress.done:>10}  " + "  ".join(f"{v:7.1f}" for _, v in sorted(samples[-1][1].items())),
                          flush=True)

        print(f"{'calls done':>10}  RSS per worker (MB)", flush=True)
        started = time.perf_counter()
        with ResultStore(tmp / "mem.sqlite") as store:
            result = run_batch(discover_calls(tmp / "calls"), store, LocalEngine(args.workers),
                               PipelineScorerFactory(None, options), hook)
        wall = time.perf_counter() - started
        report(samples, peaks, result.scored, len(result.failures), wall, result.audio_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(samples, peaks, scored, failed, wall_s, audio_s) -> None:
    print(f"{scored} calls scored ({failed} failed) in {wall_s:.0f} s, {audio_s / wall_s:.1f}x real time")
    print("peak RSS per worker (VmHWM, MB): " + ", ".join(f"{v:.1f}" for v in peaks.values()))
    early = [sum(r.values()) / max(len(r), 1) for _, r in samples[10:30]]
    late = [sum(r.values()) / max(len(r), 1) for _, r in samples[-20:]]
    if early and late:
        print(f"mean worker RSS, calls 10-30: {sum(early) / len(early):.1f} MB; "
              f"last 20 calls: {sum(late) / len(late):.1f} MB; growth {sum(late) / len(late) - sum(early) / len(early):+.1f} MB")


if __name__ == "__main__":
    main()
