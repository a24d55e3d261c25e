"""bench/script_agreement.py: the text checks against script labels, per turn, as written and as ASR writes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "script_agreement.py"

_HEAD = 'call_id = "{name}"\nbank = "某某银行"\nagent_id = "1234"\ndirection = "inbound"\n'


def _script(folder: Path, name: str, turns: list[tuple[str, str, str]]) -> None:
    """Turns of (role, text, extra TOML line for the turn)."""
    body = "".join(f'[[turn]]\nrole = "{role}"\ntext = "{text}"\n{extra}\n' for role, text, extra in turns)
    (folder / f"{name}.toml").write_text(_HEAD.format(name=name) + body, encoding="utf-8")


def _run(folder: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCH), str(folder), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_counts_agreement_per_check_and_lists_the_disagreements(tmp_path: Path) -> None:
    _script(tmp_path, "unseen_t01", [
        ("customer", "我的卡怎么被锁了？", ""),
        ("agent", "这个我也不知道。", 'forbidden = [{phrase = "不知道", canonical = "不知道"}]'),
    ])
    _script(tmp_path, "unseen_t02", [  # labelled taboo, but the agent only offers to look: must disagree
        ("customer", "我想查一下上个月的账单。", ""),
        ("agent", "好的，我帮您查一下。", 'forbidden = [{phrase = "我帮您查一下", canonical = "不知道"}]'),
    ])
    _script(tmp_path, "unseen_t03", [
        ("customer", "你们这服务太差了，我要投诉！", 'complaint = ["我要投诉"]'),
        ("agent", "非常抱歉给您带来不便，我马上帮您处理。", 'comfort = ["非常抱歉给您带来不便"]'),
    ])
    out = _run(tmp_path, "-v")
    lines = {}
    for line in out.splitlines():
        if line.split() and "%" in line:
            lines.setdefault(line.split()[0], line)
    assert "3 scripts, text clean" in out
    assert lines["forbidden"].split()[1] == "2/3"
    assert lines["complaint"].split()[1] == "3/3"
    assert lines["comfort"].split()[1] == "1/1"
    disagreeing = [line for line in out.splitlines() if line.startswith("forbidden ") and "labelled" in line]
    assert len(disagreeing) == 1 and "t02" in disagreeing[0]


def _bench_module():
    spec = importlib.util.spec_from_file_location("script_agreement", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("script_agreement", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_each_way_of_writing_the_turns_is_judged(tmp_path: Path, default_policy) -> None:
    _script(tmp_path, "unseen_t04", [
        ("customer", "这笔手续费能退给我吗？", ""),
        ("agent", "不行。", 'forbidden = [{phrase = "不行", canonical = "不行"}]'),
        ("customer", "那好吧，谢谢。", ""),
        ("agent", "好的，我帮您查一下明细。", ""),
    ])
    bench = _bench_module()
    script = bench.read_script(tmp_path / "unseen_t04.toml")
    for mode in ("clean", "nopunct", "asr"):
        forbidden = bench.outcomes_of(script, mode, "不行好的我帮您查一下明细", default_policy)["forbidden"]
        assert forbidden.agreed is True, (mode, forbidden)
    assert bench.turn_text("不，今天到不了。", "nopunct", "x", "") == "不今天到不了"


def test_an_empty_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(BENCH), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "no scripts" in done.stderr


def test_a_broken_script_is_named_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "unseen_t05.toml").write_text('call_id = "x"\n[[turn]\nrole =', encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unseen_t05.toml: not a readable TOML script" in done.stderr
    assert "Traceback" not in done.stderr
