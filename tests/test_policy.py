"""Policy loading: the bundled default, and errors that name file:line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.files import check_policy, default_policy_dir
from qa_pipeline.policy.policy import load_policy


@pytest.fixture()
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(default_policy_dir(), target)
    return target


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` (once) and return the 1-based line where the change is."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    index = text.index(old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:index].count("\n") + 1


def test_default_policy_loads() -> None:
    policy = load_policy()
    assert check_policy() == []
    assert policy.thresholds.rate_min_cpm == 200.0 and policy.thresholds.rate_max_cpm == 300.0
    assert policy.thresholds.inbound_limit_s == 180.0 and policy.thresholds.outbound_limit_s == 300.0
    assert policy.thresholds.hold_limit_s == 60.0 and policy.thresholds.max_rings == 3
    assert len(policy.banks) > 10  # not just the dev-call banks
    assert "很高兴为您服务" in policy.hotwords()
    assert any(f.phrase == "不知道" and "不知道您" in f.exceptions for f in policy.forbidden)
    assert len(policy.policy_id) == 12


def test_policy_id_follows_file_bytes(policy_dir: Path) -> None:
    same = load_policy(policy_dir)
    assert same.policy_id == load_policy().policy_id
    _edit(policy_dir / "policy.toml", "hold_limit_s = 60.0", "hold_limit_s = 90.0")
    changed = load_policy(policy_dir)
    assert changed.thresholds.hold_limit_s == 90.0
    assert changed.policy_id != same.policy_id


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        ("policy.toml", "hold_limit_s = 60.0", "hold_limit_s = -5.0", "must be between"),
        ("policy.toml", "max_rings = 3", "max_rings = \"three\"", "must be an integer"),
        ("policy.toml", "overtalk_s = 1.0", "overtalk_sec = 1.0", "unknown key 'overtalk_sec'"),
        ("phrases.toml", 'agent_id_markers = ["号", "工号"]', 'agent_id_markers = "号"', "must be a list of non-empty strings"),
        ("phrases.toml", 'phrase = "不行"', 'phrase = "不行"\nseverity = "high"', "unknown key 'severity'"),
        ("policy.toml", "short_max_chars = 3", "short_max_chars = 3 4", "invalid TOML"),
        # the service-standard tables of issue 11 (standard.toml) are validated the same way
        ("standard.toml", "min_kinds = 3", "min_kinds = 9", "must be between"),
        ("standard.toml", "interrupt_max_s = 4.0", "interrupt_max_s = \"4s\"", "must be a number"),
        ("standard.toml", 'representative = ["客户服务代表"', 'representatives = ["客户服务代表"', "unknown key 'representatives'"),
        ("standard.toml", "opening_turns = 2", "opening_turns = 2.5", "must be an integer"),
    ],
)
def test_errors_name_file_and_line(policy_dir, file, old, new, problem) -> None:
    path = policy_dir / file
    line = _edit(path, old, new)
    if "severity" in new:
        line += 1  # the new key is on the line after the phrase
    errors = check_policy(policy_dir)
    assert errors, "the broken file must be reported"
    assert errors[0].source == f"{path}:{line}"
    assert problem in errors[0].problem
    with pytest.raises(PolicyError) as raised:
        load_policy(policy_dir)
    assert raised.value.one_line().startswith(f"{path}:{line}: ")


def test_missing_table_and_missing_dir(policy_dir: Path, tmp_path: Path) -> None:
    (policy_dir / "phrases.toml").unlink()
    errors = check_policy(policy_dir)
    assert any("missing table [greeting]" in e.problem for e in errors)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nowhere")


def test_cross_field_check(policy_dir: Path) -> None:
    line = _edit(policy_dir / "policy.toml", "rate_target_cpm = 250.0", "rate_target_cpm = 350.0")
    (error,) = check_policy(policy_dir)
    assert error.source.endswith(f"policy.toml:{line}")
    assert "rate_target_cpm" in error.problem


def test_single_file_policy(policy_dir: Path, tmp_path: Path) -> None:
    single = tmp_path / "all.toml"
    # every file of the default policy (policy, phrases and, since issue 11, standard.toml) in one
    single.write_text(
        "".join(f.read_text(encoding="utf-8") for f in sorted(policy_dir.glob("*.toml"))),
        encoding="utf-8",
    )
    assert load_policy(single).thresholds.hold_limit_s == 60.0


def test_bundled_user_dictionary_feeds_the_tokenizer(tmp_path: Path) -> None:
    from qa_pipeline.text.normalize import Tokenizer

    policy = load_policy()
    assert policy.user_dict is not None and policy.user_dict.name == "userdict.txt"
    words = Tokenizer(tmp_path, policy.user_dict).cut("我想办理口头挂失，工本费多少")
    assert "口头挂失" in words and "工本费" in words
