"""Signal check of rendered unseen calls against their labels (no qa_pipeline import).

    /tmp/ttsenv/bin/python bench/unseen_calls/verify.py /tmp/unseen_calls

Per call: encoding, duration, the largest distance (ms) between a labelled turn edge and the voiced edge
of the 10 ms RMS envelope (above -45 dBFS), stray voiced ms outside every labelled event (turns, hold
music, busy tone; should be 0), hold-music level on ch1 / ch0 (dBFS RMS), and the line-noise level.
Exit 1 when an edge is off by more than 20 ms or there is stray sound.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

EDGE_LIMIT_MS = 20
VOICED_DB = -45.0


def envelope_db(x: np.ndarray, step: int = 8, win: int = 80) -> np.ndarray:
    padded = np.pad(x, (win // 2, win // 2))
    csum = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    starts = np.arange(0, len(x), step)
    return 10 * np.log10((csum[starts + win] - csum[starts]) / win + 1e-20)


def rms_db(x: np.ndarray) -> float:
    return round(float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)), 1)


def channel_check(x: np.ndarray, truth: dict, channel: int, role: str) -> tuple[int, int]:
    """(largest edge error ms, stray voiced ms) of one channel."""
    voiced = envelope_db(x) > VOICED_DB
    labelled = np.zeros(len(voiced), bool)
    worst = 0
    for turn in truth["turns"]:
        if turn["role"] != role:
            continue
        a, b = int(turn["start_s"] * 1000), int(turn["end_s"] * 1000)
        labelled[max(0, a - 15):b + 15] = True
        lo = max(0, a - 200)
        near = np.flatnonzero(voiced[lo:b + 200]) + lo
        worst = max(worst, abs(int(near[0]) - a), abs(int(near[-1]) - b))
    for hold in truth["expected"]["holds"]:
        labelled[int(hold["start_s"] * 1000) - 15:int(hold["end_s"] * 1000) + 15] = True
    if truth["extra"]["tone_channel"] == channel:
        labelled[int(truth["extra"]["hangup_time_s"] * 1000) - 15:] = True
    return worst, int((voiced & ~labelled).sum())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    bad = 0
    for path in sorted(Path(argv[0]).glob("*.truth.json")):
        truth = json.loads(path.read_text("utf-8"))
        wav = path.with_name(path.name.replace(".truth.json", ".wav"))
        x, sr = sf.read(wav)
        checks = [channel_check(x[:, ch], truth, ch, role) for ch, role in ((0, "agent"), (1, "customer"))]
        edge, stray = max(c[0] for c in checks), sum(c[1] for c in checks)
        holds = [(rms_db(x[int(h["start_s"] * sr) + 800:int(h["end_s"] * sr) - 800, 1]),
                  rms_db(x[int(h["start_s"] * sr):int(h["end_s"] * sr), 0])) for h in truth["expected"]["holds"]]
        noise = rms_db(x[: int(0.3 * sr), 1])
        print(f"{wav.stem}: {sf.info(str(wav)).subtype} {len(x) / sr:.1f} s, edge max {edge} ms, stray {stray} ms, "
              f"holds ch1/ch0 dB {holds}, noise {noise} dB")
        bad += edge > EDGE_LIMIT_MS or stray > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
