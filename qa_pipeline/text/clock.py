"""Times as people read them in transcripts and reports: ``mm:ss.s`` and ``[mm:ss.s–mm:ss.s]``."""

from __future__ import annotations


def format_time(seconds: float) -> str:
    """``mm:ss.s``, tenths rounded half up (minutes may exceed 59)."""
    tenths = int(float(seconds) * 10 + 0.5 + 1e-6)
    minutes, tenths_in_minute = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths_in_minute // 10:02d}.{tenths_in_minute % 10}"


def format_span(start_s: float, end_s: float) -> str:
    return f"[{format_time(start_s)}–{format_time(end_s)}]"


def format_mmss(seconds: float) -> str:
    """``mm:ss`` of the second a moment falls in (truncated, minutes may exceed 59): "at 00:40"."""
    whole = int(max(0.0, float(seconds)) + 1e-6)
    return f"{whole // 60:02d}:{whole % 60:02d}"
