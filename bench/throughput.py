"""Batch throughput: call-minutes scored per wall-minute of ``qa batch`` on the dev calls.

For each beam size, runs the real ``qa batch`` command (fresh store each time, so model loading and
worker start-up are included) with 1 worker and with the default worker count, and next to it plain
faster-whisper transcribing each channel of the same audio whole (one process, all cores).

    python bench/throughput.py                       # beams 5 and 1, workers 1 and default
    python bench/throughput.py --beams 1 --workers 2 # one configuration
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CALLS = REPO.parent / "shared" / "calls"

def call_durations_s(calls: Path) -> dict[Path, float]:
    import soundfile

    return {p: soundfile.info(str(p)).duration for p in sorted(calls.glob("*.wav"))}


def run_qa_batch(calls: Path, workers: int, beam: int) -> float:
    """Wall seconds of one ``qa batch`` run into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        args = [sys.executable, "-m", "qa_pipeline.cli", "batch", str(calls), "--db", str(db),
                "--workers", str(workers), "--beam-size", str(beam)]
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, cwd=REPO)
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"qa batch failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return wall_s


def plain_whisper(durations: dict[Path, float], beam: int, threads: int) -> tuple[float, list[float]]:
    """faster-whisper on each whole channel (16 kHz), no VAD, no packing: the baseline."""
    from faster_whisper import WhisperModel

    from qa_pipeline.audio.io import load_call_audio
    from qa_pipeline.config import AsrOptions
    from qa_pipeline.asr.model_cache import resolve_model_dir

    started = time.perf_counter()
    model = WhisperModel(str(resolve_model_dir(AsrOptions())), device="cpu", compute_type="int8",
                         cpu_threads=threads, local_files_only=True)
    per_call = []
    for path in durations:
        t0 = time.perf_counter()
        audio = load_call_audio(path)
        for channel in audio.channels:
            segments, _ = model.transcribe(channel, language="zh", beam_size=beam, vad_filter=False,
                                           condition_on_previous_text=False)
            list(segments)
        per_call.append(time.perf_counter() - t0)
    return time.perf_counter() - started, per_call


def main() -> None:
    from qa_pipeline.batch.driver import available_cores, default_workers

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=Path, default=CALLS)
    parser.add_argument("--beams", type=int, nargs="+", default=[5, 1])
    parser.add_argument("--workers", type=int, nargs="+", default=sorted({1, default_workers()}))
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    durations = call_durations_s(args.calls)
    audio_min = sum(durations.values()) / 60
    print(f"{len(durations)} calls, {audio_min:.1f} call-minutes, {available_cores()} cores")
    print(f"{'what':<40} {'beam':>4} {'wall s':>8} {'x real time':>12} {'median s/call':>14}")
    for beam in args.beams:
        for workers in args.workers:
            wall_s = run_qa_batch(args.calls, workers, beam)
            print(f"{f'qa batch --workers {workers}':<40} {beam:>4} {wall_s:>8.1f} {audio_min * 60 / wall_s:>11.1f}x"
                  f" {'':>14}", flush=True)
        if not args.no_baseline:
            wall_s, per_call = plain_whisper(durations, beam, available_cores())
            ratios = [durations[p] / s for p, s in zip(durations, per_call)]
            print(f"{'plain faster-whisper, whole channels':<40} {beam:>4} {wall_s:>8.1f} "
                  f"{audio_min * 60 / wall_s:>11.1f}x {statistics.median(per_call):>14.1f}"
                  f"  (median {statistics.median(ratios):.1f}x per call)", flush=True)


if __name__ == "__main__":
    main()
