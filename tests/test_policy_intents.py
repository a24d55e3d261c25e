"""[[intent]] and [judgement] in policy files: validated with file:line, optional, loaded as data."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from qa_pipeline.policy.files import check_policy, default_policy_dir
from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.judge import judge_clauses
from qa_pipeline.types import Role, Utterance


def _copy_policy(tmp_path: Path) -> Path:
    for path in default_policy_dir().glob("*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _judgement_problems(tmp_path: Path, old: str, new: str) -> list[str]:
    """The problems check_policy reports once the first ``old`` in the bundled judgement.toml reads ``new``."""
    root = _copy_policy(tmp_path)
    judgement = root / "judgement.toml"
    judgement.write_text(judgement.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return [e.one_line() for e in check_policy(root)]


def test_bad_pattern_is_reported_with_file_and_line(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    judgement = root / "judgement.toml"
    text = judgement.read_text(encoding="utf-8")
    judgement.write_text(text.replace('{ heads = ["你", "您"], outcomes', '{ heads = ["你", "您"], tails', 1), encoding="utf-8")
    errors = check_policy(root)
    assert len(errors) == 1
    line = next(n for n, l in enumerate(judgement.read_text(encoding="utf-8").splitlines(), 1) if l.startswith("patterns"))
    assert errors[0].source == f"{judgement}:{line}" and "pattern 1" in errors[0].problem


def test_supposed_must_be_true_or_false(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    judgement = root / "judgement.toml"
    text = judgement.read_text(encoding="utf-8")
    assert "supposed = false" in text
    judgement.write_text(text.replace("supposed = false", 'supposed = "no"', 1), encoding="utf-8")
    problems = [e.one_line() for e in check_policy(root)]
    assert len(problems) == 1 and "pattern 1" in problems[0], problems


def test_duplicate_intent_and_empty_examples(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    (root / "extra.toml").write_text('[[intent]]\nname = "x"\nthreshold = 0.9\npositive = []\nnegative = []\n', encoding="utf-8")
    problems = [e.one_line() for e in check_policy(root)]
    assert any("[intent] already defined" in p for p in problems), problems


def _without_bundled_examples(root: Path) -> Path:
    """The copied policy minus its bundled examples_*.toml and labelled_*.tsv, so a test's own examples
    file is the only one."""
    for extra in [*root.glob("examples_*.toml"), *root.glob("labelled_*.tsv")]:
        extra.unlink()
    return root


def test_policy_without_intents_still_loads(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    (root / "judgement.toml").unlink()
    _without_bundled_examples(root)  # they extend judgement.toml's intents; without it they name none
    policy = load_policy(root)
    assert dict(policy.intents) == {}


def test_intents_load_as_data() -> None:
    policy = load_policy()
    assert {"forbidden", "promise", "complaint", "comfort", "praise", "suggestion", "thanks"} <= set(policy.intents)
    promise = policy.intents["promise"]
    assert promise.patterns and promise.examples.positive and promise.examples.background


def test_examples_in_their_own_file_extend_an_intent(tmp_path: Path) -> None:
    root = _without_bundled_examples(_copy_policy(tmp_path))
    before = load_policy(root).intents["forbidden"].examples
    (root / "examples_extra.toml").write_text(
        '[examples.forbidden]\npositive = ["你这人怎么就是听不进去"]\nnegative = ["您这边请放心"]\n', encoding="utf-8"
    )
    after = load_policy(root).intents["forbidden"].examples
    assert after.positive == before.positive + ("你这人怎么就是听不进去",)
    assert after.negative == before.negative + ("您这边请放心",)


def test_examples_for_an_unknown_intent_or_twice_are_reported(tmp_path: Path) -> None:
    root = _without_bundled_examples(_copy_policy(tmp_path))
    (root / "examples_a.toml").write_text('[examples.nosuch]\npositive = ["随便一句"]\n', encoding="utf-8")
    problems = [e.one_line() for e in check_policy(root)]
    assert problems == [f"{root / 'examples_a.toml'}:1: [examples.nosuch] names no [[intent]] of this policy"]
    (root / "examples_a.toml").write_text('[examples.promise]\npositive = ["一句"]\n', encoding="utf-8")
    (root / "examples_b.toml").write_text('\n[examples.promise]\nnegative = [3]\n', encoding="utf-8")
    problems = [e.one_line() for e in check_policy(root)]
    assert problems == [f"{root / 'examples_b.toml'}:2: [examples.promise] already defined in examples_a.toml"]


def test_background_talk_beside_the_policy_joins_every_intents_negatives(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    (root / "background_talk.txt").unlink(missing_ok=True)
    before = load_policy(root)
    (root / "background_talk.txt").write_text("# ordinary talk\n您这张卡的账单日是每月五号\n\n我昨天在柜台存了两万\n", encoding="utf-8")
    after = load_policy(root)
    assert after.policy_id != before.policy_id
    for name, intent in after.intents.items():
        added = set(intent.examples.background) - set(before.intents[name].examples.background)
        assert added == {"您这张卡的账单日是每月五号", "我昨天在柜台存了两万"}, name


def test_background_talk_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    (root / "background_talk.txt").write_bytes("账单日".encode("gbk"))
    try:
        load_policy(root)
    except PolicyError as error:
        assert error.source == str(root / "background_talk.txt") and "not UTF-8" in error.problem
    else:
        raise AssertionError("a GBK background_talk.txt loaded")


def test_min_similarity_must_lie_between_zero_and_one(tmp_path: Path) -> None:
    problems = _judgement_problems(tmp_path, "min_similarity = 0.2", "min_similarity = 1.5")
    assert len(problems) == 1 and "min_similarity" in problems[0] and "judgement.toml:" in problems[0], problems


def test_min_similarity_keeps_the_model_from_judging_a_clause_unlike_every_example() -> None:
    policy = load_policy()
    model_only = replace(policy.intents["forbidden"], patterns=())
    utterance = Utterance(role=Role.AGENT, channel=0, start_s=0.0, end_s=2.0, text="我们这边管不着这事儿您问别人去")

    def judged(floor: float):
        intents = MappingProxyType({**policy.intents, "forbidden": replace(model_only, min_similarity=floor)})
        return judge_clauses(utterance, "forbidden", replace(policy, intents=intents))

    hits = judged(0.0)
    assert [j.via for j in hits] == ["model"] and hits[0].similarity is not None
    assert hits[0].to_hit_dict()["similarity"] == round(hits[0].similarity, 3)
    assert judged(hits[0].similarity - 0.01) and not judged(hits[0].similarity + 0.01)


def _judged_by_model(policy, intent_name: str, text: str, **changes):
    """The judgements of an agent's ``text`` by ``intent_name`` with its patterns off and ``changes``
    made to the intent: what the model alone, and the intent's limits on it, decide."""
    intent = replace(policy.intents[intent_name], patterns=(), **changes)
    utterance = Utterance(role=Role.AGENT, channel=0, start_s=0.0, end_s=3.0, text=text)
    return judge_clauses(utterance, intent_name, replace(policy, intents=MappingProxyType({**policy.intents, intent_name: intent})))


def test_model_needs_keeps_the_model_off_clauses_without_a_commitment_word() -> None:
    policy = load_policy(labelled=False)  # the model of the TOML examples alone, whose slips these limits mend
    promise = policy.intents["promise"]
    assert "保证" in promise.model_needs  # loaded from judgement.toml as data

    def judged(needs: tuple[str, ...], text: str):
        return _judged_by_model(policy, "promise", text, model_needs=needs)

    # the model alone takes this reassurance-shaped clause for a promise; the need list keeps it off
    assert [j.via for j in judged((), "这个您别问我")] == ["model"]
    assert judged(promise.model_needs, "这个您别问我") == []
    # a need heard by sound (陪您 for 赔您) still lets the model judge
    assert [j.via for j in judged(("赔您",), "我们直接陪您两百块补偿金")] == ["model"]


def test_model_unless_keeps_the_model_off_a_rule_explained() -> None:
    policy = load_policy(labelled=False)  # the model of the TOML examples alone, whose slips these limits mend
    forbidden = policy.intents["forbidden"]
    assert "为了防止" in forbidden.model_unless  # loaded from judgement.toml as data

    def judged(unless: tuple[str, ...], text: str):
        return _judged_by_model(policy, "forbidden", text, model_unless=unless)

    # the model alone takes 为了 for 为难 (您这不是为难人吗); the list keeps it off the explanation
    assert [j.via for j in judged((), "这是为了防止别人冒领")] == ["model"]
    assert judged(forbidden.model_unless, "这是为了防止别人冒领") == []
    # and only off clauses holding one of its words
    assert [j.via for j in judged(forbidden.model_unless, "您这不是为难人吗")] == ["model"]


def test_model_needs_must_be_a_list_of_strings(tmp_path: Path) -> None:
    problems = _judgement_problems(tmp_path, "model_needs = [", "model_needs = 3\nunused = [")
    assert any("model_needs" in p and "judgement.toml:" in p for p in problems), problems
