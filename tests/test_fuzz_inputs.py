"""Issue 14: malformed audio, metadata, policies and stores through the real ``qa`` CLI (subprocesses).

The suite runs a representative sample (every 16th generated case, all four kinds); the full set of
400+ runs with ``QA_FUZZ_FULL=1`` (or ``python bench/fuzz_inputs.py``). Each case must end without a
traceback or a hang: a refused input with exit code 2 and one ``error: FILE: problem`` line, an
accepted one with exit code 0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import fuzz_inputs  # noqa: E402  (the bench module is the generator and the judge)


def _failures(every: int) -> list[str]:
    outcomes = fuzz_inputs.run_all(REPO, every=every, jobs=2)
    kinds = {o.case.kind for o in outcomes}
    assert kinds == set(fuzz_inputs.KINDS), kinds
    return [f"{o.case.kind}: {o.case.label}: {'; '.join(o.problems)}: {o.stderr[-300:]}" for o in outcomes if o.problems]


def test_a_sample_of_malformed_inputs_gives_one_line_and_exit_2():
    assert _failures(every=16) == []


@pytest.mark.fuzz
@pytest.mark.skipif(os.environ.get("QA_FUZZ_FULL") != "1", reason="the full fuzz set runs with QA_FUZZ_FULL=1")
def test_every_malformed_input_gives_one_line_and_exit_2():
    assert _failures(every=1) == []


def test_the_fuzz_set_is_large_enough(tmp_path):
    cases = fuzz_inputs.build_cases(tmp_path)
    assert len(cases) >= 300
    assert {c.kind for c in cases} == set(fuzz_inputs.KINDS)
    for path in tmp_path.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() else 0o600)
