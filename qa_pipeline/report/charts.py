"""Horizontal bar charts as inline SVG for the self-contained report pages.

One row per bar: the label sits in its own column on the left, sized to the longest label, so
labels never overlap however long they are (Chinese + English check names) or however many bars
there are; the count follows the bar. Every bar carries ``data-label``/``data-value``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape
from typing import Sequence

CHART_WIDTH_PX = 640
ROW_HEIGHT_PX = 26
LABEL_FONT_PX = 13
MAX_LABEL_WIDTH_PX = 300
VALUE_WIDTH_PX = 48


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    highlight: bool = False


def text_width_px(text: str, font_px: float = LABEL_FONT_PX) -> float:
    """An estimate of the rendered width: CJK and other wide characters 1 em, the rest ~0.6 em."""
    return sum(font_px if unicodedata.east_asian_width(ch) in "WF" else font_px * 0.6 for ch in text)


def fit_label(text: str, max_width_px: float) -> str:
    """``text`` cut with an ellipsis so it fits ``max_width_px`` (the full label stays in the tooltip)."""
    if text_width_px(text) <= max_width_px:
        return text
    while text and text_width_px(text + "…") > max_width_px:
        text = text[:-1]
    return text.rstrip() + "…"


def bar_chart_svg(chart_id: str, bars: Sequence[Bar], unit: str = "calls") -> str:
    """A horizontal bar chart, one labelled row per bar."""
    label_w = min(max((text_width_px(b.label) for b in bars), default=0.0) + 12, MAX_LABEL_WIDTH_PX)
    track_w = CHART_WIDTH_PX - label_w - VALUE_WIDTH_PX
    height = ROW_HEIGHT_PX * max(len(bars), 1) + 8
    peak = max((b.value for b in bars), default=0) or 1
    parts = [
        f'<svg id="{escape(chart_id, quote=True)}" class="chart" viewBox="0 0 {CHART_WIDTH_PX} {height}" '
        f'width="{CHART_WIDTH_PX}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * ROW_HEIGHT_PX
        mid = y + ROW_HEIGHT_PX / 2
        w = track_w * bar.value / peak
        value = f"{bar.value:g}"
        label = escape(bar.label, quote=True)
        parts.append(
            f'<text class="axis" x="{label_w - 8:.1f}" y="{mid + 4.5:.1f}" text-anchor="end">'
            f"{escape(fit_label(bar.label, label_w - 12))}</text>"
            f'<rect class="track" x="{label_w:.1f}" y="{y + 4}" width="{track_w:.1f}" height="{ROW_HEIGHT_PX - 8}"/>'
            f'<rect class="bar{" warn" if bar.highlight else ""}" x="{label_w:.1f}" y="{y + 4}" '
            f'width="{w:.1f}" height="{ROW_HEIGHT_PX - 8}" data-label="{label}" data-value="{value}">'
            f"<title>{label}: {value} {escape(unit)}</title></rect>"
            f'<text class="count" x="{label_w + w + 6:.1f}" y="{mid + 4.5:.1f}">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["Bar", "bar_chart_svg", "fit_label", "text_width_px"]
