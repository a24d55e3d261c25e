"""Held-out voices: mono mixes built from real speakers the separation was never tuned on.

Each call puts real recorded speech of two people into a telephone dialogue: the agent is the
MagicData customer-service speaker (finance utterances after a telephone simulation, in
../shared/corpus), the customer one of seven other real speakers of the corpus (two sides of a
RAMC phone call, AISHELL and toolkit clips), cut in two turns. Gaps between turns are drawn from
0.25-1.5 s, so VAD often merges a reply into the previous turn and the separation has to cut it.
Every call is written as stereo (agent ch0, customer ch1) and as its mono mix.

Prints the share of speech time with the right role on each mono mix (the real model decodes,
the words name the agent), and for every check how many calls get the same verdict from the
mono mix as from the stereo original.

    python bench/unseen_mixes.py [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from scipy.signal import butter, sosfilt

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SHARED, make_recognizer  # noqa: E402
from _mono import mix_to_mono  # noqa: E402

from qa_pipeline.config import PipelineOptions  # noqa: E402
from qa_pipeline.eval.roles import RoleTime, role_time  # noqa: E402
from qa_pipeline.pipeline import audit_call, find_meta  # noqa: E402
from qa_pipeline.policy.policy import load_policy  # noqa: E402

RATE_HZ = 8000
CUSTOMERS = (
    "ramc/CTS-CN-F2F-2019-11-11-423-012-A.flac",
    "ramc/CTS-CN-F2F-2019-11-11-423-012-B.flac",
    "toolkit/masr_test.flac",
    "toolkit/funasr_asr_example.flac",
    "toolkit/paddlespeech_zh.flac",
    "toolkit/firered_BAC009S0764W0121.flac",
    "toolkit/wenet_aishell-BAC009S0724W0121.flac",
)
_BAND = butter(6, [300, 3400], btype="bandpass", fs=RATE_HZ, output="sos")


def _read(path: Path) -> np.ndarray:
    """A clip at 8 kHz in the telephone band, speech edges trimmed, RMS at -22 dBFS."""
    data, rate_hz = sf.read(str(path), dtype="float32", always_2d=True)
    x = soxr.resample(data.mean(axis=1), rate_hz, RATE_HZ).astype(np.float32)
    x = sosfilt(_BAND, x).astype(np.float32)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 0.1 * np.sqrt((frames**2).mean(axis=1)).max())
    x = x[loud[0] * 160 : (loud[-1] + 1) * 160]
    return x * (10 ** (-22 / 20) / (np.sqrt((x**2).mean()) + 1e-9))


def _halves(x: np.ndarray) -> list[np.ndarray]:
    """Two turns, cut at the quietest 20 ms near the middle."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    mid = len(energy) // 2
    lo, hi = max(1, mid - len(energy) // 4), min(len(energy) - 1, mid + len(energy) // 4)
    cut = (lo + int(np.argmin(energy[lo:hi]))) * 160
    return [x[:cut], x[cut:]]


def build_call(corpus: Path, index: int, dest: Path) -> Path:
    rng = np.random.default_rng(1000 + index)
    agent_files = sorted((corpus / "magicdata_cs_8k_tel" / "finance").glob("*.flac"))[index * 6 : index * 6 + 6]
    agent = [_read(p) for p in agent_files]
    customer = _halves(_read(corpus / CUSTOMERS[index]))
    order = [("agent", agent[0]), ("agent", agent[1]), ("customer", customer[0]), ("agent", agent[2]),
             ("agent", agent[3]), ("customer", customer[1]), ("agent", agent[4]), ("agent", agent[5])]
    turns, t = [], 0.4
    pieces = []
    for k, (role, x) in enumerate(order):
        if k and order[k - 1][0] == role:
            t += rng.uniform(0.9, 1.5)  # a pause inside one party's talk
        elif k:
            t += rng.uniform(0.25, 1.5)  # a reply: often too quick for VAD to close the turn
        turns.append({"role": role, "start_s": round(t, 3), "end_s": round(t + len(x) / RATE_HZ, 3)})
        pieces.append((role, t, x))
        t += len(x) / RATE_HZ
    total = int((t + 1.0) * RATE_HZ)
    stereo = (10 ** (-55 / 20) * rng.standard_normal((total, 2))).astype(np.float32)
    for role, start_s, x in pieces:
        start = int(start_s * RATE_HZ)
        stereo[start : start + len(x), 0 if role == "agent" else 1] += x
    name = f"unseen_{index + 1:02d}"
    path = dest / f"{name}.wav"
    sf.write(str(path), np.clip(stereo, -1, 1), RATE_HZ, subtype="PCM_16")
    (dest / f"{name}.meta.json").write_text(json.dumps({"call_id": name, "agent_id": "5501", "direction": "inbound"}))
    (dest / f"{name}.truth.json").write_text(json.dumps({"turns": turns}, ensure_ascii=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--keep", type=Path, help="write every report (stereo/NAME.json, mono/NAME.json) here")
    args = parser.parse_args()
    policy = load_policy(None)
    recognizer = make_recognizer()
    total = RoleTime()
    same: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stereo_dir, mono_dir = Path(tmp) / "stereo", Path(tmp) / "mono"
        stereo_dir.mkdir()
        mono_dir.mkdir()
        print("call        role-acc  coverage  flagged/utterances")
        for index in range(len(CUSTOMERS)):
            stereo = build_call(args.corpus, index, stereo_dir)
            mono = mono_dir / stereo.name
            mix_to_mono(stereo, mono)
            (mono_dir / f"{stereo.stem}.meta.json").write_text((stereo_dir / f"{stereo.stem}.meta.json").read_text())
            truth = json.loads((stereo_dir / f"{stereo.stem}.truth.json").read_text())
            s_report = audit_call(stereo, find_meta(stereo), policy, PipelineOptions(), recognizer)
            m_report = audit_call(mono, find_meta(mono), policy, PipelineOptions(), recognizer)
            if args.keep:
                for kind, report in (("stereo", s_report), ("mono", m_report)):
                    (args.keep / kind).mkdir(parents=True, exist_ok=True)
                    (args.keep / kind / f"{stereo.stem}.json").write_text(
                        json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
            rt = role_time(truth["turns"], [u.to_dict() for u in m_report.transcript.utterances], m_report.transcript.duration_s)
            total = total + rt
            flagged = m_report.check("speaker_roles").details["review"]
            print(f"{stereo.stem:11} {100 * rt.accuracy:7.1f} % {100 * rt.coverage:7.1f} %  {flagged}/{len(m_report.transcript.utterances)}")
            for s_check in s_report.checks:
                m_check = m_report.check(s_check.name)
                if s_check.name == "speaker_roles":
                    continue
                agree = s_check.passed == m_check.passed and (
                    s_check.name != "speaking_rate" or s_check.details.get("verdict") == m_check.details.get("verdict"))
                same[s_check.name] = same.get(s_check.name, 0) + int(agree)
        print(f"{'all':11} {100 * total.accuracy:7.1f} % {100 * total.coverage:7.1f} %   (speech time with the right role)")
    print("\ncheck                     mono verdict == stereo verdict")
    for name, count in same.items():
        print(f"{name:24} {count:3}/{len(CUSTOMERS)}")


if __name__ == "__main__":
    main()
