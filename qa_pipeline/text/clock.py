"""Times as people read them in transcripts and reports: ``mm:ss.s`` and ``[mm:ss.s–mm:ss.s]``."""

from __future__ import annotations


def format_time(seconds: float) -> str:
    """``mm:ss.s``, tenths rounded half up (minutes may exceed 59)."""
    tenths = int(float(seconds) * 10 + 0.5 + 1e-6)
    minutes, tenths_in_minute = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths_in_minute // 10:02d}.{tenths_in_minute % 10}"


def format_span(start_s: float, end_s: float) -> str:
    return f"[{format_time(start_s)}–{format_time(end_s)}]"
