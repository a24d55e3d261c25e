"""labelled_<intent>.tsv beside a policy: read into the intent's examples, every problem named with
file:line, built from labelled scripts by tools/labelled_from_scripts.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.files import default_policy_dir
from qa_pipeline.policy.labelled import read_labelled
from qa_pipeline.policy.policy import load_policy
from qa_pipeline.rules.run import check_policy_dir
from qa_pipeline.text.intent import intent_model

ROOT = Path(__file__).resolve().parent.parent
JUDGEMENT_CORPORA = sorted((ROOT / "tests" / "judgement").glob("*.tsv"))
DEV_README = (ROOT.parent / "shared" / "calls" / "README.md").read_text(encoding="utf-8")


def _copy_policy(tmp_path: Path, labelled: bool = False) -> Path:
    for path in default_policy_dir().glob("*"):
        if labelled or not path.name.startswith("labelled_"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_labelled_sentences_join_the_intents_examples_and_the_policy_id(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    before = load_policy(root)
    (root / "labelled_forbidden.tsv").write_text(
        "# reviewed calls\n+\t你这人怎么一句都听不进去\n\n-\t您的快递单号我帮您记下了\n", encoding="utf-8")
    after = load_policy(root)
    examples, old = after.intents["forbidden"].examples, before.intents["forbidden"].examples
    assert examples.labelled_positive == old.labelled_positive + ("你这人怎么一句都听不进去",)
    assert examples.labelled_negative == old.labelled_negative + ("您的快递单号我帮您记下了",)
    assert after.intents["promise"] == before.intents["promise"]
    assert after.policy_id != before.policy_id
    # the model learns from it: the sentence is now its own nearest example
    assert intent_model(examples).resemble("你这人怎么一句都听不进去").example == "你这人怎么一句都听不进去"
    assert load_policy(root, labelled=False).intents["forbidden"].examples == old


@pytest.mark.parametrize("content, where, problem", [
    ("+\t好的\n*\t不行\n", ":2", "expected '+' or '-', a tab and a sentence"),
    ("+ 没有制表符\n", ":1", "expected '+' or '-', a tab and a sentence"),
    ("-\t\n", ":1", "expected '+' or '-', a tab and a sentence"),
])
def test_a_malformed_line_is_named_with_file_and_line(tmp_path: Path, content: str, where: str, problem: str) -> None:
    root = _copy_policy(tmp_path)
    path = root / "labelled_promise.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(root)
    assert caught.value.one_line() == f"{path}{where}: {problem}"
    assert [e.one_line() for e in check_policy_dir(root)] == [f"{path}{where}: {problem}"]


def test_an_unknown_intent_or_a_file_not_utf8_is_named(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    stray = root / "labelled_nosuch.tsv"
    stray.write_text("+\t随便一句\n", encoding="utf-8")
    assert [e.one_line() for e in check_policy_dir(root)] == [
        f"{stray}: no [[intent]] named 'nosuch' for these labelled sentences"]
    stray.unlink()
    gbk = root / "labelled_forbidden.tsv"
    gbk.write_bytes("+\t不行\n".encode("gbk"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(root)


def test_the_bundled_files_parse_and_share_no_sentence_with_the_held_out_corpora() -> None:
    files = sorted(default_policy_dir().glob("labelled_*.tsv"))
    assert [f.name for f in files] == ["labelled_comfort.tsv", "labelled_complaint.tsv", "labelled_forbidden.tsv"]
    held_out = {line.split("\t")[-1].strip() for path in JUDGEMENT_CORPORA
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    for path in files:
        sentences = read_labelled(path)
        assert len(sentences.positive) > 500 and len(sentences.negative) > 3000, path.name
        assert not set(sentences.positive) & set(sentences.negative), path.name
        assert not (set(sentences.positive) | set(sentences.negative)) & held_out, path.name
        # nothing the dev calls' labels quote (built with --never ../shared/calls/README.md)
        assert not [s for s in sentences.positive + sentences.negative if s in DEV_README], path.name


def _build(tmp_path: Path, scripts: dict[str, str], *intents: str) -> Path:
    """Run the builder on ``scripts`` (file name -> TOML) for ``intents``; the policy folder it wrote."""
    folder = tmp_path / "scripts_t"
    folder.mkdir()
    for name, text in scripts.items():
        (folder / name).write_text(text, encoding="utf-8")
    (tmp_path / "policy").mkdir()
    policy = _copy_policy(tmp_path / "policy")
    command = [sys.executable, str(ROOT / "tools" / "labelled_from_scripts.py"), str(folder), "--policy", str(policy),
               "--easy", "100", *(arg for intent in intents for arg in ("--intent", intent))]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return policy


SCRIPT = '''call_id = "T-1"
direction = "inbound"

[[turn]]
role = "agent"
text = "您好，很高兴为您服务。"

[[turn]]
role = "customer"
text = "我的卡被锁了，不行啊。"

[[turn]]
role = "agent"
text = "这个我哪知道啊，您自己去网点问。您的卡号后四位是多少？"
forbidden = [{ phrase = "这个我哪知道啊", canonical = "不知道" }]

[[turn]]
role = "agent"
text = "我保证明天一定给您解锁。"
promise = ["我保证明天一定给您解锁"]
'''


def test_the_builder_writes_labelled_spans_and_unlabelled_clauses_of_the_same_speaker(tmp_path: Path) -> None:
    policy = _build(tmp_path, {"t01.toml": SCRIPT}, "forbidden", "promise")
    forbidden = read_labelled(policy / "labelled_forbidden.tsv")
    assert forbidden.positive == ("这个我哪知道啊",)
    # the agent's other clauses (the customer's 不行 never), none holding the labelled span
    assert "这个我哪知道啊" not in forbidden.negative and "我的卡被锁了" not in forbidden.negative
    assert {"您自己去网点问", "您的卡号后四位是多少？", "我保证明天一定给您解锁"} <= set(forbidden.negative)
    promise = read_labelled(policy / "labelled_promise.tsv")
    assert read_labelled(policy / "labelled_forbidden.tsv").intent == "forbidden"
    assert promise.positive == ("我保证明天一定给您解锁",)
    assert "我保证明天一定给您解锁" not in promise.negative and "这个我哪知道啊" in promise.negative
    assert load_policy(policy).intents["promise"].examples.labelled_positive[-1] == "我保证明天一定给您解锁"


COMPLAINT_CALL = '''call_id = "T-2"
direction = "inbound"

[[turn]]
role = "customer"
text = "你们这效率也太低了吧，我等了一个礼拜。"
complaint = ["你们这效率也太低了吧"]

[[turn]]
role = "customer"
text = "钱到现在都没退回来。"

[[turn]]
role = "agent"
text = "我马上帮您查一下退款进度。"
'''

CALM_CALL = '''call_id = "T-3"
direction = "inbound"

[[turn]]
role = "customer"
text = "我想问一下信用卡怎么调额度。"

[[turn]]
role = "agent"
text = "您可以在手机银行里申请。"
'''


def test_complaint_and_comfort_negatives_come_only_from_calls_that_vouch_for_them(tmp_path: Path) -> None:
    policy = _build(tmp_path, {"u01.toml": COMPLAINT_CALL, "u02.toml": CALM_CALL}, "complaint", "comfort")
    complaint = read_labelled(policy / "labelled_complaint.tsv")
    assert complaint.positive == ("你们这效率也太低了吧",)
    # the unlabelled grumble of a complaint call is no negative; a call without complaint vouches for its customer
    assert complaint.negative == ("我想问一下信用卡怎么调额度",)
    comfort = read_labelled(policy / "labelled_comfort.tsv")
    # a complaint left without comfort vouches for its agent's clauses; a calm call's agent does not count
    assert comfort.positive == () and comfort.negative == ("我马上帮您查一下退款进度",)


def test_the_builder_names_a_broken_script_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "scripts_b"
    folder.mkdir()
    (folder / "b01.toml").write_text('call_id = "B-1"\n[[turn]\nrole = ', encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "labelled_from_scripts.py"), str(folder),
                           "--policy", str(_copy_policy(tmp_path))], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith(f"{folder / 'b01.toml'}: not a readable TOML script "
                                                          "(Expected ']]' at the end of an array declaration (at line 2, column 7))")
