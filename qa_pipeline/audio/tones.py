"""Signal facts the rules need besides speech: the disconnect tone and hold music.

``find_disconnect_tone`` finds the busy tone (a single frequency switched on and off) that
replaces a party's channel after it hangs up and runs to the end of the recording.
``classify_sound`` tells speech from music and tones inside one VAD span, so hold music never
reaches ASR nor counts as customer talk.

Both work on spectra of short frames computed with numpy (no heavy dependency). Times are
seconds from the start of the samples passed in (a trailing live buffer: add its offset).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from qa_pipeline.config import ToneOptions
from qa_pipeline.types import Span

SOUND_KINDS = ("speech", "music", "tone")

_HOP_S = 0.010
_TONE_FRAME_S = 0.100  # 10 Hz resolution: the busy tone's energy stays within +-tolerance
_TONE_MIN_DBFS = -40.0  # busy tones are sent at about -20 dBFS; line noise sits near -55
_PERIOD_TOLERANCE = 0.3  # burst length and spacing may deviate this share from the cadence
_CLASS_FRAME_S = 0.032
_ACTIVE_DB_BELOW_PEAK = 30.0
# Spectral stationarity (cosine of magnitude spectra) that makes a span music, at two lags.
_LONG_LAG_S = 0.100
_MUSIC_MIN_LONG = 0.75
_SHORT_LAG_S = 0.030
_MUSIC_MIN_SHORT = 0.95
_TONE_MIN_PEAK_SHARE = 0.85
_BLOCK_FRAMES = 2048


def find_disconnect_tone(
    samples: np.ndarray, sample_rate_hz: int, options: ToneOptions = ToneOptions()
) -> Span | None:
    """The busy-tone stretch that runs to the end of ``samples``, or None.

    The span starts at the onset of the first burst of the final unbroken on/off cadence
    and ends at the end of the samples.
    """
    x = _mono(samples, sample_rate_hz)
    duration_s = len(x) / sample_rate_hz
    on = _tone_frames(x, sample_rate_hz, options)
    bursts = _bursts(on, duration_s)
    chain = _final_cadence(bursts, duration_s, options)
    if chain is None:
        return None
    onset_s = _refine_onset(x, sample_rate_hz, chain[0].start_s, options)
    return Span(onset_s, duration_s)


def _mono(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    if sample_rate_hz <= 0:
        raise ValueError("sample_rate_hz must be positive")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D mono samples, got shape {x.shape}")
    return x


def _frame_spectra(
    x: np.ndarray, sample_rate_hz: int, frame_s: float
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Power spectra of Hann frames every 10 ms, in blocks; yields (freqs_hz, power[frames, bins]).

    Frame k is centred on sample k * hop, so frame times line up with hop times.
    """
    frame_len = int(round(frame_s * sample_rate_hz))
    hop = int(round(_HOP_S * sample_rate_hz))
    padded = np.pad(x, (frame_len // 2, frame_len - frame_len // 2))
    n_frames = max(0, (len(x) + hop - 1) // hop)
    window = np.hanning(frame_len).astype(np.float32)
    freqs_hz = np.fft.rfftfreq(frame_len, 1.0 / sample_rate_hz)
    view = np.lib.stride_tricks.sliding_window_view(padded, frame_len)[::hop][:n_frames]
    for first in range(0, len(view), _BLOCK_FRAMES):
        block = view[first : first + _BLOCK_FRAMES] * window
        yield freqs_hz, np.abs(np.fft.rfft(block, axis=1)) ** 2


def _tone_frames(x: np.ndarray, sample_rate_hz: int, options: ToneOptions) -> np.ndarray:
    """Per 10 ms hop: does the frame around it carry the tone (energy share and level)?"""
    parts = []
    window_gain = 0.375  # mean of hann^2: turns summed power into RMS power
    for freqs_hz, power in _frame_spectra(x, sample_rate_hz, _TONE_FRAME_S):
        in_band = np.abs(freqs_hz - options.frequency_hz) <= options.tolerance_hz
        total = power[:, 1:].sum(axis=1) + 1e-20
        band = power[:, in_band].sum(axis=1)
        frame_len = 2 * (power.shape[1] - 1)
        band_dbfs = 10 * np.log10(2 * band / (frame_len**2 * window_gain) + 1e-20)
        parts.append((band / total >= options.min_energy_share) & (band_dbfs >= _TONE_MIN_DBFS))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _bursts(on: np.ndarray, duration_s: float) -> list[Span]:
    if not on.any():
        return []
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [Span(s * _HOP_S, min(e * _HOP_S, duration_s)) for s, e in zip(starts, ends)]


def _final_cadence(
    bursts: list[Span], duration_s: float, options: ToneOptions
) -> list[Span] | None:
    """The last run of bursts that keeps the on/off cadence and reaches the end, or None."""
    if not bursts:
        return None
    period_s = options.on_s + options.off_s
    slack_s = _PERIOD_TOLERANCE * period_s
    last = bursts[-1]
    if duration_s - last.end_s > options.off_s + slack_s:
        return None  # the tone must continue to the end of the recording
    # The final burst may be cut short by the end of the recording.
    if not _burst_ok(last, options) and not (
        duration_s - last.end_s < _HOP_S * 2 and last.duration_s < options.on_s * (1 + _PERIOD_TOLERANCE)
    ):
        return None
    chain = [last]
    for burst in reversed(bursts[:-1]):
        gap_s = chain[0].start_s - burst.start_s
        if not (_burst_ok(burst, options) and abs(gap_s - period_s) <= slack_s):
            break
        chain.insert(0, burst)
    complete = sum(_burst_ok(b, options) for b in chain)
    if len(chain) < options.min_bursts or complete < 1:
        return None
    return chain


def _burst_ok(burst: Span, options: ToneOptions) -> bool:
    """A burst lasting about ``on_s``; the 100 ms analysis frame widens it by up to ~0.1 s."""
    low = options.on_s * (1 - _PERIOD_TOLERANCE)
    high = options.on_s * (1 + _PERIOD_TOLERANCE) + _TONE_FRAME_S
    return low <= burst.duration_s <= high


def _refine_onset(x: np.ndarray, sample_rate_hz: int, coarse_s: float, options: ToneOptions) -> float:
    """Sharpen the first burst's onset to 10 ms using the tone band's envelope."""
    lo = max(0, int((coarse_s - _TONE_FRAME_S) * sample_rate_hz))
    hi = min(len(x), int((coarse_s + 2 * _TONE_FRAME_S) * sample_rate_hz))
    segment = x[lo:hi].astype(np.float64)
    if len(segment) < 2:
        return coarse_s
    spectrum = np.fft.rfft(segment)
    freqs_hz = np.fft.rfftfreq(len(segment), 1.0 / sample_rate_hz)
    spectrum[np.abs(freqs_hz - options.frequency_hz) > options.tolerance_hz * 2] = 0
    band = np.fft.irfft(spectrum, len(segment))
    hop = int(_HOP_S * sample_rate_hz)
    n_hops = len(band) // hop
    if n_hops == 0:
        return coarse_s
    level = np.sqrt(np.mean(band[: n_hops * hop].reshape(n_hops, hop) ** 2, axis=1))
    above = np.flatnonzero(level >= 0.5 * level.max())
    return lo / sample_rate_hz + float(above[0]) * _HOP_S


def classify_sound(samples: np.ndarray, sample_rate_hz: int) -> str:
    """"speech", "music" or "tone" for the samples of one VAD span.

    Tone: one spectral peak holds nearly all the energy, at one frequency throughout.
    Music: the magnitude spectrum stays put over time (held notes and chords match 100 ms
    later; a fast melody's notes at least match 30 ms later), while speech keeps changing
    phone and pitch (on our calls: similarity at most ~0.5 after 100 ms and ~0.88 after 30 ms).
    """
    x = _mono(samples, sample_rate_hz)
    if len(x) < int((_LONG_LAG_S + 2 * _CLASS_FRAME_S) * sample_rate_hz):
        return "speech"
    magnitudes, levels_db, peak_shares, peak_bins = _band_spectra(x, sample_rate_hz)
    active = levels_db >= levels_db.max() - _ACTIVE_DB_BELOW_PEAK
    if _is_steady_tone(peak_shares[active], peak_bins[active]):
        return "tone"
    long_similarity = _stationarity(magnitudes, active, _LONG_LAG_S)
    short_similarity = _stationarity(magnitudes, active, _SHORT_LAG_S)
    if long_similarity >= _MUSIC_MIN_LONG or short_similarity >= _MUSIC_MIN_SHORT:
        return "music"
    return "speech"


def is_music(samples: np.ndarray, sample_rate_hz: int) -> bool:
    """True when one VAD span is music (e.g. hold music), not speech or a tone."""
    return classify_sound(samples, sample_rate_hz) == "music"


def _stationarity(magnitudes: np.ndarray, active: np.ndarray, lag_s: float) -> float:
    """Median cosine similarity of active frames' magnitude spectra ``lag_s`` apart."""
    lag = int(round(lag_s / _HOP_S))
    both = active[lag:] & active[:-lag]
    if not both.any():
        return 0.0
    a, b = magnitudes[lag:][both], magnitudes[:-lag][both]
    cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    return float(np.median(cosine))


def _is_steady_tone(peak_shares: np.ndarray, peak_bins: np.ndarray) -> bool:
    """One peak holds nearly all the energy, at the same frequency throughout (a melody moves)."""
    if float(np.median(peak_shares)) < _TONE_MIN_PEAK_SHARE:
        return False
    steady = np.abs(peak_bins - np.median(peak_bins)) <= 1
    return float(steady.mean()) >= _TONE_MIN_PEAK_SHARE


def _band_spectra(
    x: np.ndarray, sample_rate_hz: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per hop in the telephone band: magnitude spectrum, level (dB), the share of energy
    around the strongest peak, and that peak's bin."""
    mags, levels, shares, peaks = [], [], [], []
    for freqs_hz, power in _frame_spectra(x, sample_rate_hz, _CLASS_FRAME_S):
        band = power[:, (freqs_hz >= 250.0) & (freqs_hz <= 3500.0)] + 1e-12
        total = band.sum(axis=1)
        peak = band.argmax(axis=1)
        rows = np.arange(len(band))
        near = sum(band[rows, np.clip(peak + d, 0, band.shape[1] - 1)] for d in (-2, -1, 0, 1, 2))
        mags.append(np.sqrt(band))
        levels.append(10 * np.log10(total))
        shares.append(near / total)
        peaks.append(peak)
    return np.concatenate(mags), np.concatenate(levels), np.concatenate(shares), np.concatenate(peaks)
