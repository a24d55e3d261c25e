"""README's check table lists every registered check with its default weight and live behaviour."""

from __future__ import annotations

import re
from pathlib import Path

from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import check_specs

README = Path(__file__).resolve().parents[1] / "README.md"
_LIVE = {"utterance": "said", "clock": "clock", "end": "end"}
_ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<zh>[^|]+) \|[^|]+\| (?P<weight>[\d.]+) \| (?P<live>\w+) \|$")


def _table() -> dict[str, dict[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- check-table", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["name"]] = match.groupdict()
    return rows


def test_readme_table_matches_the_registry() -> None:
    rows = _table()
    specs = check_specs()
    assert list(rows) == [s.name for s in specs], "README lists every check, in report order"
    for spec in specs:
        row = rows[spec.name]
        assert float(row["weight"]) == spec.default_weight, spec.name
        assert row["live"] == _LIVE[spec.live.value], spec.name
        assert row["zh"].strip() == spec.label_zh, spec.name


def test_bundled_weights_are_the_declared_defaults() -> None:
    policy = load_policy()
    for spec in check_specs():
        assert policy.weights.get(spec.name, spec.default_weight) == spec.default_weight, spec.name
