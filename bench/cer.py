"""CER on the real-speech corpus: plain faster-whisper vs our pipeline path, same run.

(a) plain: faster-whisper on the whole clip (language zh, beam 5, no VAD, no prompt, library
    defaults otherwise) — the setting of ../shared/corpus/baseline_whisper_base.tsv;
(b) pipeline: mono clip -> qa_pipeline VAD spans (padded as the batch path cuts them) ->
    FasterWhisperRecognizer (packing within the file);
(c) with --across: like (b) but all clips of a subset go through one ``transcribe`` call, so
    utterances of different files share Whisper windows — the situation of a real call.

CER = Levenshtein(match_form(ref), match_form(hyp)) summed over files / reference characters.
Bar: (b) no worse than (a) by more than 1 CER point.

    python bench/cer.py [--limit N] [--subset ramc] [--across] [--gaps 0.3,0.6,1.0]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from _common import SHARED, Tally, make_recognizer, score, speech_clips, timed

from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import AudioOptions
from qa_pipeline.types import AudioClip

SUBSETS = (
    "magicdata_cs_16k/finance",
    "magicdata_cs_16k/general",
    "magicdata_cs_8k_tel/finance",
    "ramc",
    "toolkit",
)


@dataclass(frozen=True)
class Item:
    path: Path
    subset: str
    reference: str


def read_corpus(corpus: Path, subset: str | None, limit: int | None) -> list[Item]:
    items: list[Item] = []
    counts: dict[str, int] = {}
    for line in (corpus / "transcripts.tsv").read_text(encoding="utf-8").splitlines():
        rel, reference = line.split("\t", 1)
        name = next((s for s in SUBSETS if rel.startswith(s + "/")), None)
        if name is None or (subset and name != subset):
            continue
        if limit is not None and counts.get(name, 0) >= limit:
            continue
        counts[name] = counts.get(name, 0) + 1
        items.append(Item(corpus / rel, name, reference))
    return items


def plain_text(recognizer, samples) -> str:
    segments, _ = recognizer.load().transcribe(samples, language="zh", beam_size=5, vad_filter=False)
    return "".join(s.text for s in segments)


def pipeline_texts(recognizer, clip_lists: list[list[AudioClip]]) -> list[str]:
    """All files' clips in one transcribe() call; the texts joined back per file."""
    flat = [clip for clips in clip_lists for clip in clips]
    results = recognizer.transcribe(flat)
    texts, position = [], 0
    for clips in clip_lists:
        texts.append("".join(r.text for r in results[position : position + len(clips)]))
        position += len(clips)
    return texts


def across_files(recognizer, items: list[Item], clip_lists: list[list[AudioClip]]) -> list[str]:
    """Mode (c): one transcribe() call per subset, so clips of different files share windows."""
    texts = [""] * len(items)
    for subset in dict.fromkeys(item.subset for item in items):
        indices = [k for k, item in enumerate(items) if item.subset == subset]
        for k, text in zip(indices, pipeline_texts(recognizer, [clip_lists[k] for k in indices])):
            texts[k] = text
    return texts


def report(title: str, tallies: dict[str, dict[str, Tally]], seconds: dict[str, float]) -> None:
    modes = list(tallies)
    print(f"\n{title}", flush=True)
    print(f"{'subset':30s}" + "".join(f"{m:>22s}" for m in modes) + f"{'delta(b-a)':>12s}")
    for subset in [*SUBSETS, "all"]:
        row = [tallies[m].get(subset) for m in modes]
        if row[0] is None:
            continue
        delta = 100 * (row[1].cer - row[0].cer) if len(row) > 1 else 0.0
        print(f"{subset:30s}" + "".join(f"{str(t):>22s}" for t in row) + f"{delta:+11.1f}")
    print("decode seconds: " + ", ".join(f"{m} {seconds[m]:.1f}" for m in modes), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--subset", choices=SUBSETS)
    parser.add_argument("--limit", type=int, help="at most N files per subset")
    parser.add_argument("--across", action="store_true", help="also pack clips across files (mode c)")
    parser.add_argument("--gaps", default="", help="comma-separated pack_gap_s values for (c)")
    parser.add_argument("--window", type=float, default=None, help="pack_window_s override")
    parser.add_argument("--beam-size", type=int, default=None, help="beam for (b)/(c) (default: AsrOptions)")
    args = parser.parse_args()

    items = read_corpus(args.corpus, args.subset, args.limit)
    mono = AudioOptions(channel_mode="mono")
    audio = [load_call_audio(item.path, mono).channels[0] for item in items]
    clip_lists = [speech_clips(samples, 16000) for samples in audio]
    print(f"{len(items)} files; {sum(len(c) for c in clip_lists)} VAD clips; "
          f"{sum(1 for c in clip_lists if not c)} files where VAD found no speech")

    overrides: dict[str, float] = {} if args.window is None else {"pack_window_s": args.window}
    if args.beam_size is not None:
        overrides["beam_size"] = args.beam_size
    recognizer = make_recognizer(**overrides)
    print(f"(b) pipeline decoding: beam {recognizer.options.beam_size} (plain (a) stays at beam 5, the corpus baseline)")
    hyps: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    hyps["a plain"], seconds["a plain"] = timed(lambda: [plain_text(recognizer, s) for s in audio])
    label = f"b pipeline g{recognizer.options.pack_gap_s:g}"
    hyps[label], seconds[label] = timed(lambda: [pipeline_texts(recognizer, [c])[0] for c in clip_lists])
    print_table(items, hyps, seconds)
    gaps = [float(g) for g in args.gaps.split(",") if g] or [recognizer.options.pack_gap_s]
    for gap_s in gaps if args.across else []:
        packer = make_recognizer(pack_gap_s=gap_s, **overrides)
        label = f"c across g{gap_s:g}"
        hyps[label], seconds[label] = timed(lambda: across_files(packer, items, clip_lists))
        print_table(items, hyps, seconds)


def print_table(items: list[Item], hyps: dict[str, list[str]], seconds: dict[str, float]) -> None:
    tallies: dict[str, dict[str, Tally]] = {}
    for mode, texts in hyps.items():
        per: dict[str, Tally] = {}
        for item, text in zip(items, texts):
            tally = score(item.reference, text)
            per[item.subset] = per.get(item.subset, Tally()) + tally
            per["all"] = per.get("all", Tally()) + tally
        tallies[mode] = per
    report("CER (match form: simplified, no punctuation, Chinese numerals)", tallies, seconds)


if __name__ == "__main__":
    main()
