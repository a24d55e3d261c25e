"""The one place a recogniser is built from decoding options, and the id of that decoding.

Batch decodes every clip with ``AsrOptions.beam_size``; live decodes agent clips with
``LiveAsrOptions.beam_size`` and customer clips with ``customer_beam_size`` (``beam_for``), whichever
recogniser serves them. ``decoding_id`` names the model *and* the beams, so a stored result says
how it was decoded and a call re-decoded with other beams is a different result, in batch and live.
"""

from __future__ import annotations

from dataclasses import replace

from qa_pipeline.asr.recognizer import Recognizer
from qa_pipeline.config import AsrOptions, LiveAsrOptions


def build_recognizer(asr: AsrOptions, live: LiveAsrOptions | None = None) -> Recognizer:
    """The recogniser for batch (``live`` None: packed 30 s windows) or for ``qa serve`` (clip windows
    unless ``live.clip_windows`` is off, agent beam and live thread count). The model is not loaded."""
    from qa_pipeline.asr.packed import FasterWhisperRecognizer  # faster-whisper stays out of `qa --help`

    if live is None:
        return FasterWhisperRecognizer(asr)
    options = replace(asr, beam_size=live.beam_size, cpu_threads=live.cpu_threads)
    if live.clip_windows:
        from qa_pipeline.asr.clips import ClipWindowOptions, ClipWindowRecognizer

        return ClipWindowRecognizer(options, ClipWindowOptions(max_batch=live.batch_max_clips))
    return FasterWhisperRecognizer(options)


def decoding_id(model_id: str, asr: AsrOptions, live: LiveAsrOptions | None = None) -> str:
    """``whisper-base-ct2@d01c3014/beam1`` (batch), ``…/beam5-customer1`` (live, customer beam differs)."""
    if live is None:
        return f"{model_id}/beam{asr.beam_size}"
    customer = "" if live.customer_beam_size == live.beam_size else f"-customer{live.customer_beam_size}"
    return f"{model_id}/beam{live.beam_size}{customer}"
