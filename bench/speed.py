"""Real-time factor on the dev calls: whole channel vs utterance by utterance vs packed, same run.

(1) plain: each whole channel decoded once (same decode settings as ours: zh, the default beam unless --beam-size, word
    timestamps, no VAD, no conditioning on previous text);
(2) one-by-one: every VAD clip sent alone (Whisper pads each to a 30 s window);
(3) packed: ours, the `qa transcribe` path after decoding (tone, music and VAD per channel, each
    channel's clips packed into shared windows).
All three use one loaded model. VAD is qa_pipeline.audio.vad.speech_spans, clips padded as in the batch path.
RTF = decode seconds / call seconds (lower is faster); "x rt" = its inverse. The CER of each mode
against the truth turns (agent + customer text, match form) shows what the speed costs.

    python bench/speed.py [CALLS_DIR] [--calls dev_call_01,dev_call_04] [--gaps 0.6,1.0] [--windows 28]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

from _common import SHARED, Tally, make_recognizer, median, score, speech_clips, timed

from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import PipelineOptions
from qa_pipeline.pipeline import transcribe_audio
from qa_pipeline.types import Role


@dataclass(frozen=True)
class CallRun:
    name: str
    duration_s: float
    seconds: dict[str, float]
    tallies: dict[str, Tally]


def truth_text(truth_path: Path, role: Role) -> str:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    return "".join(t["text"] for t in truth["turns"] if t["role"] == role.value)


def run_call(wav: Path, modes: dict[str, object]) -> CallRun:
    audio = load_call_audio(wav)
    name = wav.name.removesuffix(".wav")
    per_channel = [speech_clips(samples, audio.sample_rate_hz) for samples in audio.channels]
    references = [truth_text(wav.with_name(f"{name}.truth.json"), role) for role in audio.roles]
    seconds: dict[str, float] = {}
    tallies: dict[str, Tally] = {}
    for label, recognizer in modes.items():
        if label == "plain":
            words, spent = timed(lambda: [recognizer.decode(samples) for samples in audio.channels])
            texts = ["".join(w.text for w in channel_words) for channel_words in words]
        elif label == "one-by-one":
            results, spent = timed(lambda: [[recognizer.transcribe([c])[0] for c in clips] for clips in per_channel])
            texts = ["".join(r.text for r in rs) for rs in results]
        else:
            # Ours, as `qa transcribe` runs it after decoding: tone/music/VAD per channel, then the
            # channel's clips packed into windows (one recognizer call per channel).
            options = replace(PipelineOptions(), asr=recognizer.options)
            transcript, spent = timed(lambda: transcribe_audio(audio, name, recognizer, options))
            texts = ["".join(u.text for u in transcript.utterances if u.role == role) for role in audio.roles]
        seconds[label] = spent
        tallies[label] = sum((score(ref, hyp) for ref, hyp in zip(references, texts)), Tally())
    return CallRun(name, audio.duration_s, seconds, tallies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calls_dir", nargs="?", type=Path, default=SHARED / "calls")
    parser.add_argument("--calls", default="", help="comma-separated call names (default: all)")
    parser.add_argument("--gaps", default="", help="pack_gap_s values for packed mode (default: options)")
    parser.add_argument("--windows", default="", help="pack_window_s values for packed mode")
    parser.add_argument("--skip", default="", help="modes to skip: plain,one-by-one")
    parser.add_argument("--beam-size", type=int, default=None, help="decoding beam for every mode (default: AsrOptions)")
    args = parser.parse_args()

    wavs = sorted(args.calls_dir.glob("*.wav"))
    if args.calls:
        wanted = set(args.calls.split(","))
        wavs = [w for w in wavs if w.name.removesuffix(".wav") in wanted]
    beam = {} if args.beam_size is None else {"beam_size": args.beam_size}
    base = make_recognizer(**beam)
    print(f"decoding: beam {base.options.beam_size}, {base.options.compute_type}, threads {base.options.cpu_threads or 'default'}")
    modes: dict[str, object] = {"plain": base, "one-by-one": base}
    for mode in filter(None, args.skip.split(",")):
        modes.pop(mode)
    gaps = [float(g) for g in args.gaps.split(",") if g] or [base.options.pack_gap_s]
    windows = [float(w) for w in args.windows.split(",") if w] or [base.options.pack_window_s]
    for gap_s in gaps:
        for window_s in windows:
            modes[f"packed g{gap_s:g} w{window_s:g}"] = make_recognizer(pack_gap_s=gap_s, pack_window_s=window_s, **beam)

    labels = list(modes)
    print(f"{'call':12s}{'dur s':>7s}" + "".join(f"{l:>26s}" for l in labels) + "   (RTF, CER vs truth)")
    runs = []
    for wav in wavs:
        run = run_call(wav, modes)
        runs.append(run)
        cells = [f"{run.seconds[l] / run.duration_s:.3f} {run.tallies[l]}" for l in labels]
        print(f"{run.name:12s}{run.duration_s:7.1f}" + "".join(f"{c:>26s}" for c in cells), flush=True)
    print("\nmode                         median RTF   x real time   total s   CER vs truth")
    med = {l: median([r.seconds[l] / r.duration_s for r in runs]) for l in labels}
    for l in labels:
        total = sum((r.tallies[l] for r in runs), Tally())
        print(f"{l:28s}{med[l]:10.3f}{1 / med[l]:13.1f}{sum(r.seconds[l] for r in runs):10.1f}   {total}")
    packed = [l for l in labels if l.startswith("packed")]
    for l in packed:
        for other in ("plain", "one-by-one"):
            if other in med:
                ratios = [r.seconds[other] / r.seconds[l] for r in runs]
                print(f"speed-up {l} over {other}: median {median(ratios):.2f}x")


if __name__ == "__main__":
    main()
