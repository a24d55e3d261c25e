"""Two voices on one channel: cepstral features, two clusters, and the turns between them.

A mono call recording holds the agent and the customer on one channel. ``separate_speakers``
takes the channel's speech spans (VAD, music and tones already removed) and splits them into
``SpeakerPiece``s, each spoken by speaker 0 or speaker 1 (which of them is the agent is decided
from the words, ``text.roles``):

1. MFCCs every 10 ms (telephone band, own mel filterbank over scipy's DCT), mean-normalised
   over the call's speech so the shared line colour cancels out;
2. one vector per ~1 s window of speech (mean and spread of its MFCCs), clustered into two
   speakers (scikit-learn, Ward linkage);
3. a diagonal Gaussian mixture per speaker fitted on the frames of its windows, refitted once
   on the frame labels it gives; every frame gets the log-likelihood ratio of the two voices;
4. per VAD span, ``audio.turns``: a two-state Viterbi path over the ratios with a switching
   cost, so a span that holds both voices (a quick reply inside VAD's end-of-turn silence) is
   cut where the voice changes; short or weakly voiced runs join their neighbours, and every
   change of voice moves into the nearest pause.

When both speak at once the louder voice wins the frames; the quieter voice's words there
are attributed to it (or lost by ASR) — ``confidence`` of such a piece drops and the role
decision is flagged for review. ``SpeakerModel`` keeps the two mixtures so the live path can
label new spans as the call goes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.fft

from qa_pipeline.audio.turns import SpeakerPiece, voice_confidence, pieces_of_span, viterbi
from qa_pipeline.config import SpeakerOptions
from qa_pipeline.types import Span


@dataclass(frozen=True)
class _SpanFrames:
    span: Span
    features: np.ndarray  # (frames, ceps), normalised over the call
    loud: np.ndarray  # (frames,) bool: frames loud enough to tell the voice
    quiet: np.ndarray  # (frames,) bool: pause frames, where a change of voice is placed

    def llr(self, model: "SpeakerModel") -> np.ndarray:
        """The voice ratio of every frame; 0 (no opinion) for quiet frames."""
        return np.where(self.loud, model.llr(self.features), 0.0)


# -- features -----------------------------------------------------------------------------------


def mel_filterbank(sample_rate_hz: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale, shape (n_mels, n_fft // 2 + 1)."""

    def to_mel(hz: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    edges_hz = 700.0 * (10 ** (np.linspace(to_mel(fmin_hz), to_mel(fmax_hz), n_mels + 2) / 2595.0) - 1.0)
    bins_hz = np.linspace(0.0, sample_rate_hz / 2, n_fft // 2 + 1)
    bank = np.zeros((n_mels, len(bins_hz)))
    for m in range(n_mels):
        low, mid, high = edges_hz[m : m + 3]
        rising = (bins_hz - low) / (mid - low)
        falling = (high - bins_hz) / (high - mid)
        bank[m] = np.clip(np.minimum(rising, falling), 0.0, None)
    return bank


def mfcc(samples: np.ndarray, sample_rate_hz: int, options: SpeakerOptions) -> np.ndarray:
    """MFCCs 1..n_ceps (c0, the loudness, left out), one row per ``hop_ms``."""
    frame = sample_rate_hz * options.frame_ms // 1000
    hop = sample_rate_hz * options.hop_ms // 1000
    if len(samples) < frame:
        return np.zeros((0, options.n_ceps), dtype=np.float32)
    x = np.append(samples[0], samples[1:] - 0.97 * samples[:-1]).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop] * np.hamming(frame).astype(np.float32)
    n_fft = 1 << (frame - 1).bit_length()
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    bank = mel_filterbank(sample_rate_hz, n_fft, options.n_mels, options.fmin_hz,
                          min(options.fmax_hz, sample_rate_hz / 2))
    log_mel = np.log(power @ bank.T + 1e-8)
    ceps = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, 1 : options.n_ceps + 1]
    return ceps.astype(np.float32)


def log_pitch(samples: np.ndarray, sample_rate_hz: int, options: SpeakerOptions) -> np.ndarray:
    """log F0 per ``hop_ms`` frame from the autocorrelation peak (60-400 Hz); 0 where unvoiced."""
    frame = sample_rate_hz * options.pitch_frame_ms // 1000
    hop = sample_rate_hz * options.hop_ms // 1000
    short = sample_rate_hz * options.frame_ms // 1000
    n_out = 0 if len(samples) < short else (len(samples) - short) // hop + 1
    padded = np.append(samples, np.zeros(max(0, frame - short), dtype=np.float32))
    if n_out == 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop][:n_out]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(frame).astype(np.float32)
    n_fft = 1 << (2 * frame - 1).bit_length()
    acf = np.fft.irfft(np.abs(np.fft.rfft(frames, n_fft)) ** 2, n_fft)[:, :frame]
    lo, hi = sample_rate_hz // 400, sample_rate_hz // 60
    lag = lo + np.argmax(acf[:, lo:hi], axis=1)
    peak = acf[np.arange(len(acf)), lag] / (acf[:, 0] + 1e-9)
    return np.where(peak >= options.voicing_threshold, np.log(sample_rate_hz / lag), 0.0).astype(np.float32)


def span_features(samples: np.ndarray, sample_rate_hz: int, span: Span, options: SpeakerOptions) -> np.ndarray:
    """Raw frame features of one span of a channel (MFCCs and log F0; not yet normalised)."""
    start = int(round(span.start_s * sample_rate_hz))
    end = int(round(span.end_s * sample_rate_hz))
    piece = samples[start:end]
    ceps = mfcc(piece, sample_rate_hz, options)
    columns = [ceps]
    if options.use_pitch:
        columns.append(log_pitch(piece, sample_rate_hz, options)[: len(ceps), None])
    columns.append(_log_energy(piece, sample_rate_hz, options)[: len(ceps), None])
    return np.column_stack(columns).astype(np.float32)


def _log_energy(samples: np.ndarray, sample_rate_hz: int, options: SpeakerOptions) -> np.ndarray:
    """Frame power in dB, aligned with ``mfcc`` (the last column of ``span_features``)."""
    frame = sample_rate_hz * options.frame_ms // 1000
    hop = sample_rate_hz * options.hop_ms // 1000
    if len(samples) < frame:
        return np.zeros(0, dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop]
    return (10 * np.log10((frames.astype(np.float64) ** 2).mean(axis=1) + 1e-10)).astype(np.float32)


def _normalised(raw: list[np.ndarray], options: SpeakerOptions) -> list[_SpanFrames]:
    """Frames of each span (``span`` unset): features normalised over the call's loud frames,
    the loud-frame mask and the pause-frame mask.

    Frames more than ``quiet_below_db`` (35 dB) under the call's median speech level (pauses, breath,
    line noise inside a VAD span) say nothing about the voice: they are left out of the
    clustering and the voice models and count as neither voice. Frames ``pause_below_db`` under
    it are pauses, where ``audio.turns`` places a change of voice.
    """
    if not raw:
        return []
    stacked = np.concatenate(raw)
    none = Span(0.0, 0.0)
    if len(stacked) < 2:
        return [_SpanFrames(none, r[:, :-1], np.ones(len(r), dtype=bool), np.zeros(len(r), dtype=bool)) for r in raw]
    median_db = float(np.median(stacked[:, -1]))
    floor_db = median_db - options.quiet_below_db
    loud_all = stacked[:, -1] >= floor_db
    basis = stacked[loud_all, :-1] if loud_all.sum() >= 2 else stacked[:, :-1]
    mean, std = basis.mean(axis=0), basis.std(axis=0) + 1e-6
    pause_db = median_db - options.pause_below_db
    return [_SpanFrames(none, (r[:, :-1] - mean) / std, r[:, -1] >= floor_db, r[:, -1] < pause_db) for r in raw]


def _windows(frames: np.ndarray, options: SpeakerOptions) -> list[np.ndarray]:
    """Slices of one span's frames, ``window_s`` long every ``window_hop_s`` (the whole span if shorter)."""
    size = int(options.window_s * 1000 / options.hop_ms)
    step = int(options.window_hop_s * 1000 / options.hop_ms)
    if len(frames) <= size:
        return [frames] if len(frames) >= options.min_window_frames else []
    starts = range(0, len(frames) - size + 1, step)
    return [frames[s : s + size] for s in starts]


def _embed(window: np.ndarray) -> np.ndarray:
    return np.concatenate([window.mean(axis=0), window.std(axis=0)])


# -- clustering and the two voice models --------------------------------------------------------


class SpeakerModel:
    """Two diagonal Gaussian mixtures, one per voice; ``llr`` > 0 means "sounds like speaker 0"."""

    def __init__(self, options: SpeakerOptions) -> None:
        self.options = options
        self._mixtures: list = []

    @property
    def ready(self) -> bool:
        return len(self._mixtures) == 2

    def fit(self, frames_by_speaker: list[np.ndarray]) -> "SpeakerModel":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        mixtures = []
        for index, frames in enumerate(frames_by_speaker):
            # Neighbouring 10 ms frames overlap and say the same: every few of them fit as well.
            frames = frames[:: max(1, len(frames) // self.options.fit_max_frames + 1)]
            components = max(1, min(self.options.gmm_components, len(frames) // 50))
            start = self._mixtures[index] if self.ready else None
            if start is not None and start.n_components == components:
                # A refit starts from the voice as last fitted: it moves little, so EM converges fast.
                mixture = GaussianMixture(components, covariance_type="diag", reg_covar=1e-3, max_iter=30,
                                          weights_init=start.weights_, means_init=start.means_,
                                          precisions_init=start.precisions_, random_state=0)
            else:
                mixture = GaussianMixture(components, covariance_type="diag", reg_covar=1e-3,
                                          max_iter=30, init_params="k-means++", random_state=0)
            with warnings.catch_warnings():
                # 30 EM rounds are plenty to tell two voices apart; a last small change is not news.
                warnings.simplefilter("ignore", ConvergenceWarning)
                mixtures.append(mixture.fit(frames))
        self._mixtures = mixtures
        return self

    def llr(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros(0)
        return self._mixtures[0].score_samples(frames) - self._mixtures[1].score_samples(frames)


def cluster_windows(embeddings: np.ndarray) -> np.ndarray:
    """Two clusters of window vectors (Ward linkage on standardised vectors); labels 0/1."""
    from sklearn.cluster import AgglomerativeClustering

    if len(embeddings) < 2:
        return np.zeros(len(embeddings), dtype=int)
    scaled = (embeddings - embeddings.mean(axis=0)) / (embeddings.std(axis=0) + 1e-6)
    return AgglomerativeClustering(n_clusters=2, linkage="ward").fit_predict(scaled)


def fit_speakers(spans: list[_SpanFrames], options: SpeakerOptions) -> SpeakerModel | None:
    """Cluster the windows of all spans into two voices and fit one mixture per voice.

    None when the call holds too little speech to tell two voices apart.
    """
    windows = [w for s in spans for w in _windows(s.features[s.loud], options)]
    if len(windows) < options.min_windows:
        return None
    labels = cluster_windows(np.stack([_embed(w) for w in windows]))
    by_speaker = [np.concatenate([w for w, l in zip(windows, labels) if l == k]) for k in (0, 1)]
    if min(len(f) for f in by_speaker) < options.min_window_frames:
        return None
    model = SpeakerModel(options).fit(by_speaker)
    for _ in range(options.refits):
        paths = [viterbi(s.llr(model), options) for s in spans]
        loud = np.concatenate([s.loud for s in spans])
        frames = np.concatenate([s.features for s in spans])[loud]
        path = np.concatenate(paths)[loud]
        if min(int((path == k).sum()) for k in (0, 1)) < options.min_window_frames:
            break
        model.fit([frames[path == 0], frames[path == 1]])
    return model


def separate_speakers(
    samples: np.ndarray, sample_rate_hz: int, spans: tuple[Span, ...] | list[Span], options: SpeakerOptions
) -> tuple[list[SpeakerPiece], SpeakerModel | None]:
    """The speech of a mono channel as pieces of speaker 0 and 1, in time order, and the model."""
    raw = [span_features(samples, sample_rate_hz, s, options) for s in spans]
    frames = [replace(f, span=s) for s, f in zip(spans, _normalised(raw, options))]
    model = fit_speakers(frames, options)
    if model is None:
        return [SpeakerPiece(s, 0, 0.5, s) for s in spans], None
    pieces = [p for f in frames for p in pieces_of_span(f.span, f.llr(model), options, f.quiet)]
    return pieces, model


# -- whole spans (the live path: spans are already transcribed, so they are labelled, not cut) ----


@dataclass(frozen=True)
class SpanLabel:
    """The speaker of a whole span and how sure (0.5 = a coin toss)."""

    speaker: int
    confidence: float


def label_spans(raw: list[np.ndarray], options: SpeakerOptions, fit: bool) -> list[SpanLabel] | None:
    """A speaker for each whole span from its raw features (``span_features``).

    ``fit=False`` is the quick labelling used while a call goes on: windows clustered, each span
    takes the majority of its windows. ``fit=True`` (the end of a call) fits the two voice
    mixtures as ``separate_speakers`` does and labels each span by its summed voice ratio.
    None while there is too little speech to tell two voices apart.
    """
    frames = _normalised(raw, options)
    if fit:
        model = fit_speakers(frames, options)
        if model is None:
            return None
        labels = []
        for f in frames:
            llr = f.llr(model)
            speaker = 0 if llr.sum() >= 0 else 1
            own = llr if speaker == 0 else -llr
            labels.append(SpanLabel(speaker, voice_confidence(float(own.sum() * options.llr_scale))))
        return labels
    windows = [_windows(f.features[f.loud], options) for f in frames]
    flat = [w for ws in windows for w in ws]
    if len(flat) < options.min_windows:
        return None
    cluster = cluster_windows(np.stack([_embed(w) for w in flat]))
    labels, index = [], 0
    for ws in windows:
        mine = cluster[index : index + len(ws)]
        index += len(ws)
        share = float(np.mean(mine == 0)) if len(mine) else 0.5
        labels.append(SpanLabel(0, share) if share >= 0.5 else SpanLabel(1, 1.0 - share))
    return labels


def fit_raw(raw: list[np.ndarray], options: SpeakerOptions) -> SpeakerModel | None:
    """The two voice mixtures fitted on spans' raw features (the live path refits as speech comes)."""
    return fit_speakers(_normalised(raw, options), options)


def cut_raw(span: Span, raw: list[np.ndarray], model: SpeakerModel, options: SpeakerOptions) -> list[SpeakerPiece]:
    """``span`` (whose raw features are ``raw[-1]``, the call's earlier spans before it) cut
    where the voice changes, as ``separate_speakers`` cuts it."""
    frames = _normalised(raw, options)[-1]
    return pieces_of_span(span, frames.llr(model), options, frames.quiet)
