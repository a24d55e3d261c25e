"""bench/model_findings.py: each forbidden-phrase finding on labelled agent turns, offence or misreading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "model_findings.py"

_HEAD = 'call_id = "{name}"\nbank = "某某银行"\nagent_id = "1234"\ndirection = "inbound"\n'


def _script(folder: Path, name: str, turns: list[tuple[str, str, str]]) -> None:
    body = "".join(f'[[turn]]\nrole = "{role}"\ntext = "{text}"\n{extra}\n' for role, text, extra in turns)
    (folder / f"{name}.toml").write_text(_HEAD.format(name=name) + body, encoding="utf-8")


def test_findings_split_into_offences_and_misreadings(tmp_path: Path) -> None:
    _script(tmp_path, "unseen_t01", [
        ("customer", "我的卡怎么被锁了？", ""),
        ("agent", "这个我也不知道。", 'forbidden = [{phrase = "不知道", canonical = "不知道"}]'),
    ])
    _script(tmp_path, "unseen_t02", [  # 不行 said and found, but the writer labelled nothing: a misreading
        ("customer", "能不能今天就给我办？", ""),
        ("agent", "不行。", ""),
        ("customer", "你们这服务太差了，我不知道怎么办。", ""),  # the customer's words are never checked
    ])
    done = subprocess.run([sys.executable, str(BENCH), str(tmp_path), "-v"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.split()}
    assert "2 findings on agent turns of 1 sets (clean)" in done.stdout
    assert rows["phrase"] == ["1", "1"]



def test_an_unreadable_script_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "unseen_bad.toml").write_text('call_id = "x"\n[[turn]\nrole =', encoding="utf-8")
    done = subprocess.run([sys.executable, str(BENCH), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert "unseen_bad.toml: not a readable TOML script" in last and "Traceback" not in done.stderr
