"""Two synthetic voices for the speaker-separation tests: a low voice and a high one.

Each voice is a glottal-like harmonic source (its pitch wandering around ``f0_hz``) through
three formant resonators, in syllables of changing vowels; the high voice has a higher pitch
and formants scaled up, as a different vocal tract would. Deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

RATE_HZ = 16000
#: Vowel formants (Hz) of the base tract; a voice scales them by its ``tract_scale``.
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


@dataclass(frozen=True)
class Voice:
    f0_hz: float
    tract_scale: float


LOW = Voice(f0_hz=115.0, tract_scale=0.92)
HIGH = Voice(f0_hz=225.0, tract_scale=1.15)


def speak(voice: Voice, duration_s: float, seed: int) -> np.ndarray:
    """``duration_s`` of syllables in ``voice`` at 16 kHz, peak about 0.3."""
    rng = np.random.default_rng(seed)
    out = []
    left = int(duration_s * RATE_HZ)
    while left > 0:
        n = min(left, int(rng.uniform(0.18, 0.3) * RATE_HZ))
        out.append(_syllable(voice, n, rng))
        left -= n
    signal = np.concatenate(out)
    return (0.3 * signal / (np.abs(signal).max() + 1e-9)).astype(np.float32)


def _syllable(voice: Voice, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / RATE_HZ
    f0 = voice.f0_hz * rng.uniform(0.9, 1.1) * (1 + 0.06 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE_HZ
    source = sum(np.sin(k * phase) / k for k in range(1, int(3800 / voice.f0_hz)))
    signal = source + 0.02 * rng.standard_normal(n)
    for formant_hz in VOWELS[rng.integers(len(VOWELS))]:
        freq = formant_hz * voice.tract_scale
        radius = np.exp(-np.pi * 90.0 / RATE_HZ)
        a = [1.0, -2 * radius * np.cos(2 * np.pi * freq / RATE_HZ), radius**2]
        signal = lfilter([1.0 - radius], a, signal)
    envelope = np.sin(np.pi * np.arange(n) / n) ** 0.6
    return signal * envelope


def dialogue(turns: list[tuple[Voice, float, float]], total_s: float, seed: int = 0) -> np.ndarray:
    """One channel holding ``(voice, start_s, end_s)`` turns, with faint line noise elsewhere."""
    rng = np.random.default_rng(seed)
    mix = (0.002 * rng.standard_normal(int(total_s * RATE_HZ))).astype(np.float32)
    for index, (voice, start_s, end_s) in enumerate(turns):
        piece = speak(voice, end_s - start_s, seed * 100 + index)
        start = int(start_s * RATE_HZ)
        mix[start : start + len(piece)] += piece
    return mix
