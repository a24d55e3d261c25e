"""Mono mixes of stereo calls for the separation benchmarks: both channels summed into one.

``make_mixes`` writes ``NAME.wav`` (8 kHz 16-bit PCM, one channel: agent + customer summed,
clipped to full scale) with the call's ``NAME.meta.json`` and ``NAME.truth.json`` beside it,
as a mono call-centre recorder would have stored the same call.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf


def mix_to_mono(stereo: Path, mono: Path) -> None:
    data, rate_hz = sf.read(str(stereo), dtype="float32", always_2d=True)
    mixed = np.clip(data.sum(axis=1), -1.0, 1.0)
    sf.write(str(mono), mixed, rate_hz, subtype="PCM_16")


def make_mixes(calls: list[Path], dest: Path) -> list[Path]:
    """Mono mixes of ``calls`` (stereo WAVs) in ``dest``, with their sidecars; the mix paths."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for call in calls:
        stem = call.name[: -len(call.suffix)]
        mono = dest / f"{stem}.wav"
        mix_to_mono(call, mono)
        for sidecar in (".meta.json", ".truth.json"):
            if call.with_name(stem + sidecar).is_file():
                shutil.copy(call.with_name(stem + sidecar), dest / (stem + sidecar))
        out.append(mono)
    return out
