"""The batch path: one recording in, a transcript or a finished, scored report out.

``transcribe_call`` decodes the audio once, finds speech per channel, sends only the
speech to the recognizer and assembles role-labelled utterances. ``audit_call`` adds
the rule checks and the score. Both return complete values; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.audio.channel import analyse_call
from qa_pipeline.audio.speakers import separate_speakers
from qa_pipeline.audio.io import CallAudio, load_call_audio
from qa_pipeline.config import PipelineOptions
from qa_pipeline.hooks import Hook, call_hook
from qa_pipeline.policy.policy import Policy
from qa_pipeline.rules.run import score_transcript
from qa_pipeline.asr.recognizer import ClipText, Recognizer
from qa_pipeline.types import AudioClip
from qa_pipeline.types import CallMeta, CallReport, ChannelActivity, Direction, Span, Transcript, Utterance
from qa_pipeline.text.segment import Segmenter, segmenter_for
from qa_pipeline.text.transcript_io import TRANSCRIPT_MODEL_ID, read_transcript
from qa_pipeline.text.diarize import HeardPiece, assign_roles
from qa_pipeline.text.utterances import build_utterance
from qa_pipeline.audio.io import clip_bounds_s, cut_clip



@dataclass(frozen=True, eq=False)
class _SpeechClip:
    """A speech span of one channel and the padded clip cut around it."""

    channel: int
    span: Span
    clip_start_s: float
    clip: AudioClip


def meta_path_for(audio_path: Path) -> Path:
    """``NAME.meta.json`` beside ``NAME.wav`` (the telephony sidecar)."""
    return audio_path.with_name(audio_path.name.rsplit(".", 1)[0] + ".meta.json")


def find_meta(audio_path: Path) -> CallMeta | None:
    """The sidecar metadata of a recording, or None when there is none."""
    path = meta_path_for(Path(audio_path))
    return CallMeta.load(path) if path.is_file() else None


def transcribe_audio(
    audio: CallAudio,
    call_id: str,
    recognizer: Recognizer,
    options: PipelineOptions,
    hook: Hook | None = None,
    segmenter: Segmenter | None = None,
    direction: Direction | None = None,
) -> Transcript:
    """Role-labelled utterances of already decoded audio; words cut by ``segmenter`` (default: bundled
    dictionary). ``direction`` (metadata) helps name the agent when two voices share one channel."""
    call_hook(hook, "vad", 0, len(audio.channels))
    activity = analyse_call(audio, options)
    call_hook(hook, "vad", len(audio.channels), len(audio.channels))
    if options.audio.separates(audio.source_channels):
        return _transcribe_separated(audio, call_id, recognizer, options, activity[0], hook, segmenter, direction)
    pieces = _speech_clips(audio, activity, options)
    results = _transcribe_by_channel(pieces, recognizer, hook)
    utterances: list[Utterance] = []
    for piece, result in zip(pieces, results):
        role = activity[piece.channel].role
        utterance = build_utterance(piece.span, piece.channel, role, piece.clip_start_s, result, segmenter)
        if utterance is not None:
            utterances.append(utterance)
    utterances.sort(key=lambda u: (u.start_s, u.channel))
    return Transcript(
        call_id=call_id,
        duration_s=audio.duration_s,
        sample_rate_hz=audio.source_rate_hz,
        channels=audio.source_channels,
        utterances=tuple(utterances),
        activity=activity,
    )


def _transcribe_separated(
    audio: CallAudio,
    call_id: str,
    recognizer: Recognizer,
    options: PipelineOptions,
    mixed: ChannelActivity,
    hook: Hook | None,
    segmenter: Segmenter | None,
    direction: Direction | None,
) -> Transcript:
    """A mono call: two voices separated (``audio.speakers``), each voice's pieces decoded together,
    the voices named agent and customer (``text.diarize``)."""
    samples = audio.channels[mixed.channel]
    pieces, _ = separate_speakers(samples, audio.sample_rate_hz, mixed.speech, options.speakers)
    clips = []
    for piece in pieces:
        bounds = clip_bounds_s(piece.span, options.vad.pad_ms, audio.duration_s)
        # The speaker stands in for the channel: a packed window never mixes two voices.
        clips.append(_SpeechClip(piece.speaker, piece.span, bounds.start_s, cut_clip(samples, audio.sample_rate_hz, bounds)))
    results = _transcribe_by_channel(clips, recognizer, hook)
    # _transcribe_by_channel answers speaker by speaker (a stable sort of the clips by speaker).
    order = sorted(range(len(clips)), key=lambda i: clips[i].channel)
    text_of = dict(zip(order, results))
    heard = [HeardPiece(piece, clip.clip_start_s, text_of[i]) for i, (piece, clip) in enumerate(zip(pieces, clips))]
    assigned = assign_roles(heard, mixed, segmenter, direction)
    return Transcript(
        call_id=call_id,
        duration_s=audio.duration_s,
        sample_rate_hz=audio.source_rate_hz,
        channels=audio.source_channels,
        utterances=assigned.utterances,
        activity=assigned.activity,
    )


def transcribe_call(
    audio_path: Path,
    meta: CallMeta | None,
    recognizer: Recognizer,
    options: PipelineOptions = PipelineOptions(),
    hook: Hook | None = None,
    segmenter: Segmenter | None = None,
) -> Transcript:
    """Decode ``audio_path`` and transcribe it; raises AudioFormatError on bad input."""
    audio_path = Path(audio_path)
    audio = load_call_audio(audio_path, options.audio)
    # Announces the decoded length (ms) so a progress display can decide to show itself.
    length_ms = int(audio.duration_s * 1000)
    call_hook(hook, "audio", length_ms, length_ms)
    call_id = (meta.call_id if meta else None) or audio_path.stem
    return transcribe_audio(audio, call_id, recognizer, options, hook, segmenter, meta.direction if meta else None)


def audit_call(
    audio_path: Path,
    meta: CallMeta | None,
    policy: Policy,
    options: PipelineOptions,
    recognizer: Recognizer,
    hook: Hook | None = None,
) -> CallReport:
    """Transcribe, check and score one call; words are cut with the policy's own dictionary."""
    meta = meta or CallMeta()
    transcript = transcribe_call(audio_path, meta, recognizer, options, hook, segmenter_for(policy.user_dict))
    return score_transcript(transcript, meta, policy, recognizer.model_id)


def audit_transcript(transcript_path: Path, meta: CallMeta | None, policy: "Policy") -> CallReport:
    """Check and score a call from a transcript JSON (no audio, no recognizer).

    Raises TranscriptFormatError on a bad file. The report's ``model_id`` is ``transcript``.
    """
    transcript = read_transcript(Path(transcript_path), segmenter_for(policy.user_dict))
    return score_transcript(transcript, meta or CallMeta(), policy, TRANSCRIPT_MODEL_ID)


def _transcribe_by_channel(
    pieces: list[_SpeechClip], recognizer: Recognizer, hook: Hook | None
) -> list[ClipText]:
    """One recognizer call per channel, so a packed window never mixes two voices.

    Whisper decodes a window holding one speaker reliably; a window that switches from the
    agent's voice to the customer's mid-way was seen to lose most of its text.
    """
    results: list[ClipText] = []
    total = len(pieces)
    for channel in sorted({p.channel for p in pieces}):
        group = [p.clip for p in pieces if p.channel == channel]
        offset = len(results)
        step = None if hook is None else (lambda s, done, _t, o=offset: hook(s, o + done, total))
        results.extend(recognizer.transcribe(group, hook=step))
    return results


def _speech_clips(
    audio: CallAudio, activity: tuple[ChannelActivity, ...], options: PipelineOptions
) -> list[_SpeechClip]:
    pieces = []
    for channel in activity:
        samples = audio.channels[channel.channel]
        for span in channel.speech:
            bounds = clip_bounds_s(span, options.vad.pad_ms, audio.duration_s)
            clip = cut_clip(samples, audio.sample_rate_hz, bounds)
            pieces.append(_SpeechClip(channel.channel, span, bounds.start_s, clip))
    return pieces
