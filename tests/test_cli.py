"""The command line: exit codes and one-line errors on bad input, and a light --help."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_qa(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa_pipeline.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def _wav_header_only(path: Path) -> None:
    """A valid 16-bit PCM WAV header announcing zero frames."""
    data = b""
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 8000, 32000, 4, 16)
    path.write_bytes(header + fmt + b"data" + struct.pack("<I", 0))


BAD_INPUTS = [
    ("missing", None),
    ("empty", b""),
    ("not_audio", b"this is a text file, not a recording\n" * 20),
    ("truncated", b"RIFF\x24\x00\x00\x00WAVEfmt "),
]


@pytest.mark.parametrize("command", ["transcribe", "audit"])
@pytest.mark.parametrize("name,content", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_audio_gives_one_line_naming_the_file_and_exit_2(tmp_path, command, name, content):
    path = tmp_path / f"{name}.wav"
    if content is not None:
        path.write_bytes(content)
    result = run_qa(command, str(path))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_zero_length_audio_is_an_error(tmp_path):
    path = tmp_path / "zero.wav"
    _wav_header_only(path)
    result = run_qa("transcribe", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_invalid_meta_is_one_line(tmp_path, samples_dir):
    meta = tmp_path / "bad.meta.json"
    meta.write_text('{"direction": "sideways"}', encoding="utf-8")
    result = run_qa("audit", str(samples_dir / "dev_call_10.wav"), "--meta", str(meta))
    assert result.returncode == 2
    assert str(meta) in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_path_is_one_line(tmp_path, samples_dir):
    result = run_qa("transcribe", str(samples_dir / "dev_call_10.wav"), "--model", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert str(tmp_path / "nope") in result.stderr and "Traceback" not in result.stderr


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from qa_pipeline.cli.main import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('faster_whisper', 'ctranslate2', 'jieba', 'fastapi', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_importing_every_module_touches_no_disk_and_loads_no_model(tmp_path):
    """Import hygiene: no model, no files written, no logging handlers installed."""
    code = (
        "import importlib, logging, pkgutil, sys\n"
        "import qa_pipeline\n"
        "for m in pkgutil.walk_packages(qa_pipeline.__path__, 'qa_pipeline.'):\n"
        "    if m.name.endswith(('ray_engine', '__main__')):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
        "assert 'faster_whisper' not in sys.modules or not any(\n"
        "    type(o).__name__ == 'WhisperModel' for o in list(vars(sys.modules['faster_whisper']).values()))\n"
        "print('ok')\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "QA_MODEL_DIR": str(home / "m")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["home"]


@pytest.mark.model
def test_transcribe_a_real_call_prints_roles_in_time_order_with_progress(samples_dir):
    result = run_qa("transcribe", str(samples_dir / "dev_call_10.wav"), timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[00:01") and "座席:" in lines[0]
    assert "很高兴为您服务" in lines[0]
    assert any("客户:" in line for line in lines)
    starts = [line[1:8] for line in lines]
    assert starts == sorted(starts)
    # 61.5 s > 1 minute: a progress indication on stderr; nothing else chatters there.
    assert "transcribing 61 s of audio" in result.stderr
    assert "jieba" not in result.stderr and "Prefix dict" not in result.stderr


@pytest.mark.model
def test_audit_json_of_a_real_call_holds_the_violations_with_evidence(samples_dir):
    result = run_qa("audit", str(samples_dir / "dev_call_04.wav"), "--format", "json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    checks = report["checks"]
    hits = {hit["phrase"]: hit for hit in checks["forbidden_phrases"]["hits"]}
    assert set(hits) == {"你错了", "不行"}
    assert 40.0 <= hits["你错了"]["start_s"] <= 42.0 and "你错了" in hits["你错了"]["text"]
    assert checks["forbidden_phrases"]["passed"] is False
    assert checks["closing"]["passed"] is False and checks["closing"]["present"] is False
    assert checks["closing"]["direction_known"] is True  # judged by the inbound script (issue 11)
    assert checks["complaint_handling"]["complaint"] is True and checks["complaint_handling"]["comforted"] is False
    assert checks["hangup"]["hangup_by"] == "customer" and checks["hangup"]["method"] == "metadata"
    assert checks["greeting"]["compliant"] is True
    assert report["agent_id"] == "6619" and report["direction"] == "inbound"
    assert report["score"] < 70
