"""The calibration table (overturn rate per check) as text and as an HTML section for ``qa report``."""

from __future__ import annotations

import html
from typing import Sequence

from qa_pipeline.store.reviews import RuleCalibration


def calibration_text(rows: Sequence[RuleCalibration]) -> str:
    lines = [f"{'check':<24} {'reviewed':>8} {'overturned':>10} {'rate':>6} {'missed':>6}"]
    for r in rows:
        lines.append(f"{r.check_name:<24} {r.reviewed:>8} {r.overturned:>10} {100 * r.overturn_rate:>5.0f}% {r.missed:>6}")
    return "\n".join(lines) + "\n"


def calibration_section(rows: Sequence[RuleCalibration]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(r.check_name)}</td><td>{r.reviewed}</td><td>{r.overturned}</td>"
        f"<td>{100 * r.overturn_rate:.0f}%</td><td>{r.missed}</td></tr>" for r in rows)
    return ('<section id="calibration"><h2>规则校准 Calibration (reviewers\' overturn rate per check)</h2>'
            "<table><thead><tr><th>检查项 Check</th><th>已复核 Reviewed</th><th>推翻 Overturned</th>"
            f"<th>推翻率 Rate</th><th>补录 Missed</th></tr></thead><tbody>{body}</tbody></table></section>")


def add_calibration_section(page: str, rows: Sequence[RuleCalibration]) -> str:
    """``page`` with the calibration section before ``</body>`` (unchanged when nothing was reviewed)."""
    if not rows or "</body>" not in page:
        return page
    at = page.rindex("</body>")
    return page[:at] + calibration_section(rows) + page[at:]
