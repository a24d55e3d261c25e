"""The unseen-call scripts (bench/unseen_calls/scripts, the second set scripts_b, the third set scripts_c and the
later sets scripts_d, scripts_e, scripts_f, scripts_g and scripts_h when present on the branch) are renderable and their labels are
well formed.

Rendering needs the TTS venv (see bench/unseen_calls/README.md), so this checks what can go wrong in a
script without it: keys and values of the schema documented in bench/unseen_calls/synth.py, text the TTS
can speak, and every labelled phrase sitting in a turn of the right speaker.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "unseen_calls"
ALL_SETS = ("scripts", "scripts_b", "scripts_c", "scripts_d", "scripts_e", "scripts_f", "scripts_g", "scripts_h", "scripts_i", "scripts_j", "scripts_k")
# scripts_d, scripts_e, scripts_f, scripts_g and scripts_h were written on separate branches: a set whose folder is missing here is skipped
SETS = tuple(name for name in ALL_SETS if (BENCH / name).is_dir())
PUNCT = set("，。！？、；：")
GREETING_ELEMENTS = {"您好", "bank", "agent_id", "很高兴为您服务"}
AGENT_KEYS = ("forbidden", "promise", "comfort")


def _scripts(name: str) -> list[Path]:
    return sorted((BENCH / name).glob("*.toml"))


def _all_scripts() -> list[Path]:
    return [p for name in SETS for p in _scripts(name)]


def _load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _phrase(item) -> str:
    return item if isinstance(item, str) else item["phrase"]


@pytest.mark.parametrize("name", SETS)
def test_sixteen_scripts_with_every_hangup_kind(name: str):
    scripts = [_load(p) for p in _scripts(name)]
    assert len(scripts) == 16
    kinds = {(s["hangup"]["by"], s["hangup"]["evidence"]) for s in scripts}
    assert {("agent", "tone"), ("customer", "tone"), ("agent", "metadata"), ("customer", "metadata"),
            ("unknown", "none")} <= kinds
    assert {s["direction"] for s in scripts} == {"inbound", "outbound"}
    assert {s["encoding"] for s in scripts} == {"pcm16", "mulaw"}


@pytest.mark.parametrize("path", _all_scripts(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_script_is_well_formed(path: Path):
    script = _load(path)
    if path.parent.name != "scripts":  # the later sets name each call by its file
        assert script["call_id"] == path.stem
    assert len(script["agent_id"]) == 4 and script["agent_id"].isdigit()
    assert script["direction"] in ("inbound", "outbound")
    assert script["encoding"] in ("pcm16", "mulaw")
    hang = script["hangup"]
    assert hang["evidence"] in ("tone", "metadata", "none")
    assert (hang["by"] == "unknown") == (hang["evidence"] == "none")
    greeting = script["labels"]["greeting"]
    assert set(greeting["missing"]) <= GREETING_ELEMENTS
    assert greeting["compliant"] == (greeting["present"] and not greeting["missing"])
    assert isinstance(script["labels"]["closing"], bool)
    for turn in script["turn"]:
        assert turn["role"] in ("agent", "customer")
        spoken = [c for c in turn["text"] if c not in PUNCT]
        assert spoken and all("\u4e00" <= c <= "\u9fff" for c in spoken), turn["text"]
        for key in (*AGENT_KEYS, "complaint", "near_miss"):
            for item in turn.get(key, []):
                assert _phrase(item) in turn["text"], (key, item)
        if turn["role"] == "customer":
            assert not any(turn.get(k) for k in AGENT_KEYS) and not turn.get("hold_s"), turn["text"]
        else:
            assert not turn.get("complaint"), turn["text"]


@pytest.mark.parametrize(("earlier", "later"),
                         [(a, b) for i, a in enumerate(SETS) for b in SETS[i + 1:]])
def test_later_set_is_independent_of_earlier_ones(earlier: str, later: str):
    """Each later set uses other banks, agent IDs and call IDs than the sets before it, so it measures
    unseen wording."""
    first = [_load(p) for p in _scripts(earlier)]
    second = [_load(p) for p in _scripts(later)]
    for key in ("bank", "agent_id", "call_id"):
        assert not {s[key] for s in first} & {s[key] for s in second}, key
