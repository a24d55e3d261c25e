"""Check agreement of the LIVE path: every labelled call replayed through ``LiveSession``.

Each call is streamed in 20 ms chunks through the session (the server's code path minus the
sockets), its closed utterances transcribed by the live recognizer, and the final report compared
with the labels exactly as ``qa eval`` compares the batch reports.

    python bench/live_agreement.py [--calls ../shared/calls] [--recognizer clip|full] [--beam-size 5]
        [--customer-beam-size 5] [--no-parts] [--part-min-s 8] [--part-pause-ms 300]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from qa_pipeline.config import PipelineOptions
from qa_pipeline.eval.run import labelled_calls
from qa_pipeline.eval.evaluate import EvalPair, evaluate, format_eval_text
from qa_pipeline.asr.factory import build_recognizer
from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.pipeline import find_meta
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.live.session import LiveOptions, LiveSession, StreamStart, replay, stream_chunks
from qa_pipeline.cli.tap import load_recording
from qa_pipeline.types import CallMeta

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, default=REPO.parent / "shared" / "calls")
    parser.add_argument("--recognizer", choices=("clip", "full"), default="clip")
    parser.add_argument("--beam-size", type=int, default=LiveAsrOptions().beam_size)
    parser.add_argument("--customer-beam-size", type=int, default=LiveAsrOptions().customer_beam_size)
    parser.add_argument("--no-parts", action="store_true", help="never send long utterances to ASR in parts")
    parser.add_argument("--part-pause-ms", type=int, default=LiveOptions().part_pause_ms)
    parser.add_argument("--part-min-s", type=float, default=LiveOptions().part_min_s)
    args = parser.parse_args()
    live = LiveOptions(part_min_s=None if args.no_parts else args.part_min_s, part_pause_ms=args.part_pause_ms)
    options = PipelineOptions()
    live_asr = LiveAsrOptions(beam_size=args.beam_size, customer_beam_size=args.customer_beam_size,
                              clip_windows=args.recognizer == "clip")
    recognizer = build_recognizer(options.asr, live_asr)
    recognizer.load()
    policy = load_policy(None)
    pairs, started = [], time.perf_counter()
    for audio, truth_path in labelled_calls(args.calls):
        meta = find_meta(audio) or CallMeta()
        recording = load_recording(audio)
        live_meta = replace(meta, hangup_by=None)  # telephony signals the hang-up at the end
        session = LiveSession(StreamStart(live_meta, recording.format), policy, options, recognizer.model_id, live)
        fmt = recording.format
        replay(session, stream_chunks(recording.data, fmt.frame_bytes, 0.02, fmt.sample_rate_hz), recognizer,
               hangup_by=meta.hangup_by, asr=live_asr)
        pairs.append(EvalPair(name=audio.stem, truth=json.loads(truth_path.read_text(encoding="utf-8")), report=session.final_report().to_dict()))
        print(f"{audio.stem}: {time.perf_counter() - started:.0f} s", flush=True)
    parts = "off" if args.no_parts else f"after {args.part_min_s} s (pause {args.part_pause_ms} ms)"
    print(f"live path, recognizer {args.recognizer}, beam {args.beam_size} (customer {args.customer_beam_size}), parts {parts}")
    print(format_eval_text(evaluate(pairs)))


if __name__ == "__main__":
    main()
