"""Held-out openings and closings (tests/heldout/script_openings_closings.toml): written before the
outbound script was built and not tuned on. Every compliant one must pass, every other one fail."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import CallContext, run_checks
from qa_pipeline.text.normalize import normalize_display
from qa_pipeline.types import CallMeta, Role, Transcript, Utterance

HELDOUT = Path(__file__).parent / "heldout" / "script_openings_closings.toml"
CASES = tomllib.loads(HELDOUT.read_text(encoding="utf-8"))["case"]
POLICY = load_policy()
_S_PER_CHAR = 0.22  # about 270 characters a minute
_PAUSE_S = 0.6


def _transcript(turns: list[list[str]]) -> Transcript:
    """Turns one after another, each as long as its text takes to say."""
    utterances, at_s = [], 0.5
    for role, text in turns:
        duration_s = 0.4 + _S_PER_CHAR * len(text)
        channel = 0 if role == "agent" else 1
        utterances.append(Utterance(Role(role), channel, at_s, at_s + duration_s, normalize_display(text)))
        at_s += duration_s + _PAUSE_S
    return Transcript("heldout", at_s + 0.5, 8000, 2, tuple(utterances))


def test_the_held_out_set_is_big_and_balanced() -> None:
    kinds = {(c["check"], c.get("meta", {}).get("direction"), c["passed"]) for c in CASES}
    assert len(CASES) >= 40
    for check in ("greeting", "closing"):
        for direction in ("inbound", "outbound", None):
            for passed in (True, False):
                assert (check, direction, passed) in kinds, (check, direction, passed)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_held_out_case(case: dict[str, Any]) -> None:
    context = CallContext(_transcript(case["turns"]), CallMeta.from_dict(case.get("meta", {})))
    (result,) = run_checks(context, POLICY, [case["check"]])
    assert result.passed is case["passed"], f"{case['name']}: {result.to_dict()}"
    if case["passed"] is False:
        assert result.findings and result.findings[0].evidence, "a failure shows its evidence"
