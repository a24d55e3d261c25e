"""The score card of the HTML call page: points per check, the renormalisation, and the caps.

Rendered from the report dict's ``score_explanation`` (nothing for reports stored before it existed);
every text is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from qa_pipeline.report.writers import explanation_caps, explanation_rows, score_explanation

__all__ = ["score_explanation_html"]


def score_explanation_html(report: Mapping[str, Any]) -> str:
    """A ``<section class="card score-explained">`` for the page, or "" without an explanation."""
    explanation = score_explanation(report)
    if explanation is None:
        return ""
    base = float(explanation.get("counted_weight") or 0)
    rows = "".join(
        f'<tr class="{"counted" if points != "—" else "na"}"><td>{escape(label)}</td><td>{escape(weight)}</td>'
        f"<td>{escape(max_points)}</td><td>{escape(earned)}</td><td>{escape(points)}</td></tr>"
        for label, weight, max_points, earned, points in explanation_rows(explanation)
    )
    caps = "".join(
        f'<li class="{"binding" if cap.get("binding") else "not-binding"}">{escape(line)}</li>'
        for cap, line in zip(explanation.get("caps") or (), explanation_caps(explanation))
    )
    return (
        '<section class="card score-explained"><h2>得分明细 Score</h2>'
        f'<p class="summary">{escape(str(explanation.get("summary") or ""))}</p>'
        f'<p class="muted">权重按适用检查项重新归一 (weights renormalised over the {base:g} of applicable checks)</p>'
        '<table class="points"><thead><tr><th>检查项 check</th><th>权重 weight</th><th>满分 max</th>'
        "<th>得分率 earned</th><th>得分 points</th></tr></thead><tbody>"
        f"{rows}</tbody><tfoot><tr><td>封顶前 before caps</td><td></td><td></td><td></td>"
        f"<td>{float(explanation.get('uncapped') or 0):.1f}</td></tr></tfoot></table>"
        + (f'<ul class="caps">{caps}</ul>' if caps else "")
        + "</section>"
    )
