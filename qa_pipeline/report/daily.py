"""The daily report a QA manager opens: one self-contained HTML page built from the results store.

``daily_stats`` is pure arithmetic over stored calls (the batch summary table uses it too);
``render_daily_html`` draws it with inline SVG charts and a sortable agent table (no external
resources); ``write_daily_report`` writes the page plus per-call pages for the worst calls, each
with its recording copied beside it (relative links: the folder can be moved as a whole).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from qa_pipeline.report.charts import Bar, bar_chart_svg
from qa_pipeline.report.media import page_audio
from qa_pipeline.report.writers import check_label
from qa_pipeline.store.results import ResultStore, StoredCall
from qa_pipeline.report.html import render_html
from qa_pipeline.text.pii import mask_identifier

SCORE_BIN_WIDTH = 10
RATE_BIN_EDGES_CPM = (150, 175, 200, 225, 250, 275, 300, 325, 350)
HANGUP_PARTIES = ("agent", "customer", "unknown")
HANGUP_LABELS = {"agent": "座席 agent", "customer": "客户 customer", "unknown": "未知 unknown"}
#: A scored call is among the worst when a check failed or it scored below this.
WORST_BELOW_SCORE = 80.0
FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", '
              '"Microsoft YaHei", sans-serif')


@dataclass(frozen=True)
class CheckStats:
    name: str
    applicable: int
    failed: int

    @property
    def pass_rate(self) -> float | None:
        return None if self.applicable == 0 else 1.0 - self.failed / self.applicable


@dataclass(frozen=True)
class AgentStats:
    agent_id: str
    calls: int
    mean_score: float | None
    violations: int  # failed checks over all their calls
    failed_checks: tuple[tuple[str, int], ...]  # most frequent first

    @property
    def violations_per_call(self) -> float:
        return self.violations / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class DailyStats:
    calls: int
    scored: int
    failed: tuple[StoredCall, ...]
    mean_score: float | None
    score_bins: tuple[Bar, ...]
    checks: tuple[CheckStats, ...]
    agents: tuple[AgentStats, ...]  # most violations first
    rate_bins: tuple[Bar, ...]
    hangups: tuple[Bar, ...]
    worst: tuple[StoredCall, ...]


def daily_stats(calls: Iterable[StoredCall], worst: int = 20, worst_below: float = WORST_BELOW_SCORE) -> DailyStats:
    calls = list(calls)
    ok = [c for c in calls if c.ok and c.report is not None]
    scores = [float(c.score) for c in ok if c.score is not None]
    return DailyStats(
        calls=len(calls),
        scored=len(ok),
        failed=tuple(c for c in calls if not c.ok),
        mean_score=statistics.fmean(scores) if scores else None,
        score_bins=score_histogram(scores),
        checks=check_stats(ok),
        agents=agent_stats(ok),
        rate_bins=rate_histogram([r for r in (_agent_cpm(c) for c in ok) if r is not None]),
        hangups=tuple(Bar(HANGUP_LABELS[p], n) for p, n in _hangup_counts(ok).items()),
        worst=worst_calls(ok, worst, worst_below),
    )


def worst_calls(calls: Sequence[StoredCall], limit: int, below: float = WORST_BELOW_SCORE) -> tuple[StoredCall, ...]:
    """At most ``limit`` calls that failed a check or scored below ``below``, lowest score first."""
    bad = [c for c in calls if c.score is not None and (float(c.score) < below or _failed_checks(c))]
    return tuple(sorted(bad, key=lambda c: (float(c.score), c.row_id))[:max(limit, 0)])


def score_histogram(scores: Sequence[float]) -> tuple[Bar, ...]:
    """Ten bins 0-9, 10-19, ..., 90-100 (100 joins the last bin)."""
    counts = Counter(min(int(s // SCORE_BIN_WIDTH), 9) for s in scores)
    return tuple(Bar(f"{i * 10}–{i * 10 + 9 if i < 9 else 100}", counts[i], highlight=i < 6) for i in range(10))


def rate_histogram(rates_cpm: Sequence[float], band_cpm: tuple[float, float] = (200.0, 300.0)) -> tuple[Bar, ...]:
    """25-cpm bins with open ends; bins outside the policy's ok band are highlighted."""
    edges = RATE_BIN_EDGES_CPM
    labels = [f"<{edges[0]}"] + [f"{a}–{b}" for a, b in zip(edges, edges[1:])] + [f"≥{edges[-1]}"]
    counts = Counter(sum(rate >= e for e in edges) for rate in rates_cpm)
    lows = [float("-inf"), *edges]
    highs = [*edges, float("inf")]
    return tuple(
        Bar(label, counts[i], highlight=not (band_cpm[0] <= lows[i] and highs[i] <= band_cpm[1]))
        for i, label in enumerate(labels)
    )


def check_stats(calls: Sequence[StoredCall]) -> tuple[CheckStats, ...]:
    applicable: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for call in calls:
        for name, check in (call.report or {}).get("checks", {}).items():
            if check.get("passed") is not None:
                applicable[name] += 1
                failed[name] += check["passed"] is False
    return tuple(CheckStats(n, applicable[n], failed[n]) for n in sorted(applicable, key=lambda n: (-failed[n], n)))


def agent_stats(calls: Sequence[StoredCall]) -> tuple[AgentStats, ...]:
    by_agent: dict[str, list[StoredCall]] = {}
    for call in calls:
        by_agent.setdefault(call.agent_id or "?", []).append(call)
    rows = []
    for agent_id, mine in by_agent.items():
        failed = Counter(n for c in mine for n in _failed_checks(c))
        scores = [float(c.score) for c in mine if c.score is not None]
        rows.append(AgentStats(agent_id, len(mine), statistics.fmean(scores) if scores else None,
                               sum(failed.values()), tuple(failed.most_common())))
    return tuple(sorted(rows, key=lambda a: (-a.violations, a.agent_id)))


def _failed_checks(call: StoredCall) -> list[str]:
    return [n for n, c in (call.report or {}).get("checks", {}).items() if c.get("passed") is False]


def _agent_cpm(call: StoredCall) -> float | None:
    value = (call.report or {}).get("checks", {}).get("speaking_rate", {}).get("agent_cpm")
    return None if value is None else float(value)


def _hangup_counts(calls: Sequence[StoredCall]) -> dict[str, int]:
    counts = Counter((c.report or {}).get("checks", {}).get("hangup", {}).get("hangup_by") for c in calls)
    return {p: counts[p] for p in HANGUP_PARTIES}


# -- rendering ---------------------------------------------------------------------------------


def render_daily_html(stats: DailyStats, title: str, call_links: Mapping[int, str] | None = None) -> str:
    links = call_links or {}
    mean = "–" if stats.mean_score is None else f"{stats.mean_score:.1f}"
    body = [
        f"<h1>{escape(title)}</h1>",
        '<section class="tiles">'
        f'<div class="tile"><b id="total-calls">{stats.calls}</b>通话 calls</div>'
        f'<div class="tile"><b id="scored-calls">{stats.scored}</b>已评分 scored</div>'
        f'<div class="tile"><b id="failed-calls">{len(stats.failed)}</b>失败 failed</div>'
        f'<div class="tile"><b id="mean-score">{mean}</b>平均分 mean score</div></section>',
        '<section class="charts">',
        f"<figure><figcaption>得分分布 Score distribution</figcaption>{bar_chart_svg('score-chart', stats.score_bins)}</figure>",
        "<figure><figcaption>各项违规 Violations per check</figcaption>"
        f"{bar_chart_svg('violations-chart', [Bar(check_label(c.name), c.failed, c.failed > 0) for c in stats.checks])}</figure>",
        f"<figure><figcaption>语速分布 Agent speaking rate (chars/min)</figcaption>{bar_chart_svg('rate-chart', stats.rate_bins)}</figure>",
        f"<figure><figcaption>挂机方 Who hung up</figcaption>{bar_chart_svg('hangup-chart', stats.hangups)}</figure>",
        "</section>",
        _checks_table(stats.checks),
        _agents_table(stats.agents),
        _worst_table(stats.worst, links),
        _failed_table(stats.failed),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body) + f"\n<script>{_SORT_JS}</script>\n</body>\n</html>\n"
    )


def _checks_table(checks: Sequence[CheckStats]) -> str:
    rows = "".join(
        f"<tr><td>{escape(check_label(c.name))}</td><td>{c.applicable}</td><td>{c.failed}</td>"
        f"<td>{'–' if c.pass_rate is None else f'{100 * c.pass_rate:.1f}%'}</td></tr>"
        for c in checks
    )
    return ('<h2>检查项 Checks</h2><table id="checks"><thead><tr><th>check</th><th>applicable</th>'
            f"<th>failed</th><th>pass rate</th></tr></thead><tbody>{rows}</tbody></table>")


def _agents_table(agents: Sequence[AgentStats]) -> str:
    def cell(value: object, sort_value: object) -> str:
        return f'<td data-sort="{escape(str(sort_value))}">{escape(str(value))}</td>'

    rows = "".join(
        "<tr>" + cell(a.agent_id, a.agent_id) + cell(a.calls, a.calls)
        + cell("–" if a.mean_score is None else f"{a.mean_score:.1f}", -1 if a.mean_score is None else a.mean_score)
        + cell(a.violations, a.violations) + cell(f"{a.violations_per_call:.2f}", a.violations_per_call)
        + cell(", ".join(f"{check_label(n)} ×{k}" for n, k in a.failed_checks) or "–", a.violations) + "</tr>"
        for a in agents
    )
    head = "".join(f'<th data-type="{t}">{h}</th>' for h, t in (
        ("座席 agent", "text"), ("calls", "num"), ("mean score", "num"), ("violations", "num"),
        ("per call", "num"), ("failed checks", "num")))
    return (f'<h2>座席 Agents <small>(click a column to sort)</small></h2><table id="agents" class="sortable">'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def _worst_table(worst: Sequence[StoredCall], links: Mapping[int, str]) -> str:
    rows = []
    for call in worst:
        name = escape(mask_identifier(call.call_id or Path(call.source).stem))
        link = links.get(call.row_id)
        label = f'<a href="{escape(link)}">{name}</a>' if link else name
        rows.append(f"<tr><td>{label}</td><td>{escape(call.agent_id or '?')}</td><td>{call.score:g}</td>"
                    f"<td>{escape(', '.join(map(check_label, _failed_checks(call))) or '–')}</td></tr>")
    if not worst:
        return '<h2>最低分通话 Worst calls</h2><p id="worst-none">没有不合格的通话 · no call failed a check</p>'
    return ('<h2>最低分通话 Worst calls</h2><table id="worst"><thead><tr><th>call</th><th>agent</th>'
            f"<th>score</th><th>failed checks</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _failed_table(failed: Sequence[StoredCall]) -> str:
    if not failed:
        return ""
    rows = "".join(f"<tr><td>{escape(mask_identifier(c.source))}</td><td>{escape(mask_identifier(c.error or ''))}</td></tr>"
                   for c in failed)
    return ('<h2>未能评分 Calls that could not be scored</h2><table id="failed"><thead><tr><th>file</th>'
            f"<th>reason</th></tr></thead><tbody>{rows}</tbody></table>")


def write_daily_report(store: ResultStore, out: Path, date: str | None = None, worst: int = 20) -> DailyStats:
    """Write ``out`` and, in ``<out stem>_calls/``, the per-call pages of the worst calls it links."""
    stats = daily_stats(store.iter_calls(date=date), worst=worst)
    pages = out.parent / f"{out.stem}_calls"
    links: dict[int, str] = {}
    if stats.worst:
        pages.mkdir(parents=True, exist_ok=True)
    for call in stats.worst:
        name = f"{_safe_name(mask_identifier(call.call_id or Path(call.source).stem))}_{call.row_id}.html"
        audio = page_audio(Path(call.source), call.report or {}, pages, Path(name).stem)
        html = render_html(call.report or {}, audio, html_dir=pages, max_embed_bytes=0)
        (pages / name).write_text(html, encoding="utf-8")
        links[call.row_id] = f"{pages.name}/{name}"
    title = f"质检日报 QA daily report — {date or 'all dates'}"
    out.write_text(render_daily_html(stats, title, links), encoding="utf-8")
    return stats


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[:80] or "call"


_CSS = """
body{font-family:FONT_STACK;margin:24px;color:#222;background:#fafafa}
.tiles{display:flex;gap:16px}.tile{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px 20px}
.tile b{display:block;font-size:28px}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
figure{background:#fff;border:1px solid #ddd;border-radius:8px;margin:16px 0 0;padding:8px}
figcaption{font-weight:600;margin-bottom:6px}
.chart{display:block;width:100%;max-width:640px;height:auto}.bar{fill:#4a7bd0}.bar.warn{fill:#d9534f}.track{fill:#f0f2f5}
.count,.axis{font-size:13px;fill:#333}
table{border-collapse:collapse;margin:8px 0 24px;background:#fff}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}
.sortable th{cursor:pointer;background:#eef}.sortable th:after{content:" ⇅";color:#999}
""".replace("FONT_STACK", FONT_STACK)

_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var numeric = th.dataset.type === "num", asc = th.dataset.asc !== "1";
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
        var d = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return asc ? d : -d;
      });
      th.dataset.asc = asc ? "1" : "0";
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""
