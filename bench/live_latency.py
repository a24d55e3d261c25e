"""Live latency: K concurrent calls tapped at real-time speed into a real ``qa serve`` process.

For every K it prints p50/p95 of
- alert latency: arrival of a phrase alert (forbidden phrase, unauthorized promise) minus the end
  of the offending utterance in audio time (tap start + utterance end / speed);
- final-utterance latency: arrival of an utterance's final text minus its end in audio time;
and the largest K that keeps up (p95 final-utterance latency <= --keep-up-s, default 2.0 s).
Target: p95 alert latency <= 1.5 s with 4 concurrent stereo calls on 2 cores, default model.

The server transcribes with the live recognizer (``asr.factory.build_recognizer``): beam 5, one
clip-length window per clip, agent clips first, long utterances in parts cut at pauses. ``--recognizer full --beam-size 5`` measures the
batch-style 30 s windows for comparison. The 1-minute load average is printed before each K.

    python bench/live_latency.py --ks 1,2,4,6 [--calls ../shared/calls] [--limit-s 60] [--recognizer clip|full]
        [--names dev_call_02,dev_call_03,dev_call_04,dev_call_09] [--rounds 3] [--verbose] [--no-parts]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.cli.tap import Recording, load_recording, tap_call
from qa_pipeline.types import CallMeta

REPO = Path(__file__).resolve().parents[1]
INGEST, CONSOLE = "bench-ingest-token", "bench-console-token"
PHRASE_CHECKS = {"forbidden_phrases", "unauthorized_promise"}

SERVER_SCRIPT = r"""
import json, sys, uvicorn
from dataclasses import replace
from pathlib import Path
from qa_pipeline.config import PipelineOptions
from qa_pipeline.asr.factory import build_recognizer
from qa_pipeline.config import LiveAsrOptions
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.server.app import ServerConfig, create_app
from qa_pipeline.live.session import LiveOptions

options = PipelineOptions()
live = LiveOptions(**json.loads(sys.argv[6]))
beam, customer_beam = (int(b) for b in sys.argv[4].split(","))
live_asr = LiveAsrOptions(beam_size=beam, customer_beam_size=customer_beam, clip_windows=sys.argv[5] == "clip")
config = ServerConfig(ingest_token="bench-ingest-token", console_token="bench-console-token",
                      db_path=Path(sys.argv[2]), max_calls=int(sys.argv[3]), options=options, asr=live_asr,
                      live=live)
app = create_app(config, build_recognizer(options.asr, live_asr), load_policy(None))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(db: Path, max_calls: int, beams: str, recognizer: str, live: dict) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(port), str(db), str(max_calls), beams,
                             recognizer, json.dumps(live)], cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


def _load_calls(calls_dir: Path, limit_s: float | None, names: list[str]) -> list[tuple[str, Recording, CallMeta]]:
    calls = []
    for wav in [calls_dir / f"{n}.wav" for n in names] if names else sorted(calls_dir.glob("*.wav")):
        recording = load_recording(wav)
        if limit_s is not None:
            keep = int(limit_s * recording.format.sample_rate_hz) * recording.format.frame_bytes
            recording = dataclasses.replace(recording, data=recording.data[:keep])
        meta_path = wav.with_name(wav.stem + ".meta.json")
        calls.append((wav.stem, recording, CallMeta.load(meta_path) if meta_path.exists() else CallMeta()))
    if not calls:
        raise SystemExit(f"no .wav files in {calls_dir}")
    return calls


async def _run_k(url: str, calls: list, k: int, speed: float, rounds: int = 1, verbose: bool = False) -> tuple[list[float], list[float], list[float]]:
    alert_lat: list[float] = []
    utt_lat: list[float] = []
    agent_lat: list[float] = []

    def collector(started: list[float], call_id: str):
        def on_message(message: dict, arrived_s: float) -> None:
            if message.get("type") == "alert" and message.get("check") in PHRASE_CHECKS:
                alert_lat.append(arrived_s - (started[0] + message["ref_end_s"] / speed))
                if verbose:
                    print(f"    {call_id} {message['check']} at {message['ref_end_s']:.2f}s: {alert_lat[-1]:.2f}s")
            elif message.get("type") == "utterance":
                utt_lat.append(arrived_s - (started[0] + message["end_s"] / speed))
                if message.get("role") == "agent":
                    agent_lat.append(utt_lat[-1])
        return on_message

    async def lane(i: int) -> None:
        await asyncio.sleep(i * 0.37)  # calls do not start in lock-step
        for r in range(rounds):  # each lane taps ``rounds`` calls back to back
            name, recording, meta = calls[(i + r) % len(calls)]
            started = [time.monotonic()]
            call_id = f"bench-k{k}-{i}-{r}-{name}"
            await tap_call(url, INGEST, recording, meta, call_id, speed, on_message=collector(started, call_id))

    await asyncio.gather(*(lane(i) for i in range(k)))
    return alert_lat, utt_lat, agent_lat


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=Path, default=REPO.parent / "shared" / "calls")
    parser.add_argument("--ks", default="1,2,4")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--limit-s", type=float, default=None, help="stream only the first N s of each call")
    parser.add_argument("--names", default="", help="comma-separated recordings to cycle through (default: all), "
                        "e.g. the dev calls with phrase alerts: dev_call_02,dev_call_03,dev_call_04,dev_call_09")
    parser.add_argument("--beam-size", type=int, default=LiveAsrOptions().beam_size)
    parser.add_argument("--customer-beam-size", type=int, default=LiveAsrOptions().customer_beam_size)
    parser.add_argument("--recognizer", choices=("clip", "full"), default="clip",
                        help="clip: clip-length windows batched across voices; full: 30 s windows per voice")
    parser.add_argument("--keep-up-s", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1,
                        help="calls each of the K lanes taps one after another (more alerts, a firmer p95)")
    parser.add_argument("--verbose", action="store_true", help="print every phrase alert's latency")
    parser.add_argument("--no-guess", action="store_true", help="do not start ASR on likely utterances before VAD closes them")
    parser.add_argument("--guess-after-ms", type=int, default=None, help="quiet after which a likely close is guessed")
    parser.add_argument("--no-parts", action="store_true", help="never send long utterances to ASR in parts")
    parser.add_argument("--part-pause-ms", type=int, default=None, help="quiet that lets a long utterance be cut into a part")
    parser.add_argument("--part-min-s", type=float, default=None, help="speech an open utterance holds before a part is cut")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    calls = _load_calls(args.calls, args.limit_s, [n for n in args.names.split(",") if n])
    with tempfile.TemporaryDirectory() as tmp:
        live: dict = {}
        if args.no_guess:
            live["likely_after_silence_ms"] = None
        if args.no_parts:
            live["part_min_s"] = None
        if args.guess_after_ms is not None:
            live["likely_after_silence_ms"] = args.guess_after_ms
        if args.part_pause_ms is not None:
            live["part_pause_ms"] = args.part_pause_ms
        if args.part_min_s is not None:
            live["part_min_s"] = args.part_min_s
        proc, url = _start_server(Path(tmp) / "bench.sqlite", max(ks) * args.rounds,
                                  f"{args.beam_size},{args.customer_beam_size}", args.recognizer, live)
        try:
            print(f"{len(calls)} recordings ({', '.join(n for n, _, _ in calls)}), speed {args.speed}x, "
                  f"recognizer {args.recognizer}, beam {args.beam_size} (customer {args.customer_beam_size}), guesses {'off' if args.no_guess else 'on'}, "
                  f"parts {'off' if args.no_parts else json.dumps(live) if live else 'default'}, {args.rounds} round(s), {os.cpu_count()} CPUs")
            print(f"{'K':>3} {'load':>9} {'alerts':>6} {'alert p50':>9} {'alert p95':>9} {'utts':>5} {'utt p50':>8} {'utt p95':>8} {'agent p95':>9}")
            best = 0
            for k in ks:
                load_1m = os.getloadavg()[0]
                alert_lat, utt_lat, agent_lat = asyncio.run(_run_k(url, calls, k, args.speed, args.rounds, args.verbose))
                load = f"{load_1m:.1f}/{os.getloadavg()[0]:.1f}"  # 1-min load average before/after
                keeps_up = _pct(utt_lat, 0.95) <= args.keep_up_s
                best = k if keeps_up else best
                print(f"{k:>3} {load:>9} {len(alert_lat):>6} {_pct(alert_lat, .5):>8.2f}s {_pct(alert_lat, .95):>8.2f}s "
                      f"{len(utt_lat):>5} {_pct(utt_lat, .5):>7.2f}s {_pct(utt_lat, .95):>7.2f}s {_pct(agent_lat, .95):>8.2f}s"
                      f"{'' if keeps_up else '  (falls behind)'}")
            print("load: 1-minute load average before/after each K (includes this benchmark's server)")
            print(f"largest K keeping up (p95 final-utterance latency <= {args.keep_up_s} s): {best}")
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
