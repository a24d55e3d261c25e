"""What separating two voices costs on a mono call, against the ASR time of the same call.

For each call (default: the dev calls, summed to one channel) the separation
(``audio.channel.reclaim_mixed`` and ``audio.speakers.separate_speakers``: speech given back from
music edges, features, clustering, voice models, cuts) is timed, then
the ASR of the separated pieces as the pipeline runs it (greedy, packed windows per speaker).
Prints extra seconds per call-minute and separation as a share of ASR time (target < 10 %),
per call and as medians, by wall-clock time and by CPU time of the process (all threads; on a shared
machine the CPU time moves less with the other users' load). scikit-learn's one-time import is paid once per process (per batch
worker) and printed apart.

    python bench/diarize_cost.py [--calls DIR] [--names a,b] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SHARED, make_recognizer, median  # noqa: E402
from _mono import make_mixes  # noqa: E402

from qa_pipeline.audio.channel import analyse_channel, reclaim_mixed  # noqa: E402
from qa_pipeline.audio.io import load_call_audio  # noqa: E402
from qa_pipeline.audio.speakers import separate_speakers  # noqa: E402
from qa_pipeline.config import PipelineOptions  # noqa: E402
from qa_pipeline.types import Role  # noqa: E402
from qa_pipeline.audio.io import clip_bounds_s, cut_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=Path, default=SHARED / "calls")
    parser.add_argument("--names", default="")
    parser.add_argument("--repeats", type=int, default=3, help="separation runs per call (the median counts)")
    args = parser.parse_args()
    wanted = [n for n in args.names.split(",") if n]
    stereo = sorted(p for p in args.calls.glob("*.wav") if not wanted or p.stem in wanted)
    options = PipelineOptions()
    started = time.perf_counter()
    import sklearn.cluster  # noqa: F401
    import sklearn.mixture  # noqa: F401

    print(f"one-time import of scikit-learn: {time.perf_counter() - started:.2f} s per process")
    recognizer = make_recognizer()
    shares, per_minute, cpu_shares = [], [], []
    print("call           minutes  separate_s  asr_s   extra s/call-min  share of ASR  (CPU time: share)")
    with tempfile.TemporaryDirectory() as tmp:
        for mono in make_mixes(stereo, Path(tmp)):
            audio = load_call_audio(mono, options.audio)
            samples, rate_hz = audio.channels[0], audio.sample_rate_hz
            # sorted as one voice's channel would be: parting words from music is mono-only work
            sorted_ = analyse_channel(samples, rate_hz, 0, Role.CUSTOMER, options.vad, options.tone)

            def samples_of(span, samples=samples, rate_hz=rate_hz):
                return samples[int(span.start_s * rate_hz): int(span.end_s * rate_hz)]
            runs, cpu_runs = [], []
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                speech, _ = reclaim_mixed(sorted_.speech, sorted_.music, samples_of, rate_hz)  # timed with it
                pieces, _ = separate_speakers(samples, rate_hz, speech, options.speakers)
                runs.append(time.perf_counter() - t0)
                cpu_runs.append(time.process_time() - c0)
            separate_s, separate_cpu_s = median(runs), median(cpu_runs)
            t0, c0 = time.perf_counter(), time.process_time()
            for speaker in (0, 1):
                clips = [cut_clip(samples, rate_hz, clip_bounds_s(p.span, options.vad.pad_ms, audio.duration_s))
                         for p in pieces if p.speaker == speaker]
                if clips:
                    recognizer.transcribe(clips)
            asr_s, asr_cpu_s = time.perf_counter() - t0, time.process_time() - c0
            minutes = audio.duration_s / 60
            shares.append(separate_s / asr_s)
            cpu_shares.append(separate_cpu_s / asr_cpu_s)
            per_minute.append(separate_s / minutes)
            print(f"{mono.stem:14} {minutes:7.2f}  {separate_s:10.2f}  {asr_s:6.1f}  {separate_s / minutes:16.2f}  "
                  f"{100 * separate_s / asr_s:10.1f} %  {100 * separate_cpu_s / asr_cpu_s:8.1f} %")
    print(f"median: {median(per_minute):.2f} extra s per call-minute, {100 * median(shares):.1f} % of ASR time "
          f"(max {100 * max(shares):.1f} %); CPU time: {100 * median(cpu_shares):.1f} % of ASR's "
          f"(max {100 * max(cpu_shares):.1f} %)")

if __name__ == "__main__":
    main()
