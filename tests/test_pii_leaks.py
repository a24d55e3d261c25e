"""Issue 14: no customer number leaks from any output — text, JSON, HTML, store, exports, daily report,
page file names and the audio a page plays. Every case names the secret that must never appear.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa_pipeline.audio.redact import RedactOptions, RedactSpan, redact_file, redact_samples
from qa_pipeline.report.daily import write_daily_report
from qa_pipeline.report.export import export_calls
from qa_pipeline.report.output import write_report
from qa_pipeline.report.writers import format_transcript_text
from qa_pipeline.store.results import CallKey, ResultStore
from qa_pipeline.text.pii import mask_call_texts, mask_identifier, mask_report_dict, masked_audio_spans
from qa_pipeline.types import CallMeta

from pii_cases import CHUNK_SECRETS, CHUNKED, FORMS, NUMBER_SPAN_S, RATE_HZ, leaky_report, stereo_call

@pytest.mark.parametrize(("text", "secret"), FORMS, ids=[f[0] for f in FORMS])
def test_every_written_and_spoken_form_is_masked(text: str, secret: str) -> None:
    masked = mask_call_texts([text], [0.0])[0]
    assert secret not in masked and len(masked) == len(text)
    assert mask_call_texts([masked], [0.0])[0] == masked  # idempotent


def test_forms_count() -> None:
    assert len(FORMS) + len(CHUNKED) >= 40


@pytest.mark.parametrize("case", range(len(CHUNKED)))
def test_numbers_read_in_pieces_across_utterances_are_masked(case: int) -> None:
    texts = [t for t, _, _ in CHUNKED[case]]
    masked = mask_call_texts(texts, [s for _, s, _ in CHUNKED[case]])
    for secret in CHUNK_SECRETS[case]:
        assert all(secret not in m for m in masked), masked


def test_short_numbers_far_apart_stay_readable() -> None:
    masked = mask_call_texts(["工号8123", "等了300秒", "房间305"], [0.0, 60.0, 120.0])
    assert masked == ["工号8123", "等了300秒", "房间305"]


@pytest.mark.parametrize(("name", "expected"), [
    ("13812345678.wav", "*******5678.wav"),
    ("/rec/13812345678_20261121093000.wav", "/rec/*******5678_20261121093000.wav"),
    ("XC-20261121-0001", "XC-20261121-0001"),
    ("138-1234-5678", "***-****-5678"),
    ("call_0007", "call_0007"),
    ("XC20241104-0917-0001", "XC20241104-0917-0001"),
    ("6222021234567890.wav", "************7890.wav"),
    ("rec 138 1234 5678.wav", "rec *** **** 5678.wav"),
])
def test_identifiers_mask_phone_numbers_and_keep_dates(name: str, expected: str) -> None:
    assert mask_identifier(name) == expected




def secrets() -> list[str]:
    return [s for _, s in FORMS[:12]] + list(CHUNK_SECRETS[0]) + ["13812345678", "1381234"]


def assert_no_secret(blob: str, where: str) -> None:
    for secret in secrets():
        assert secret not in blob, f"{secret!r} leaks in {where}"


def tone_power(samples: np.ndarray, freq_hz: float) -> float:
    t = np.arange(len(samples)) / RATE_HZ
    return abs(np.mean(samples * np.exp(-2j * np.pi * freq_hz * t)))


def test_no_output_of_a_call_leaks_a_number(tmp_path: Path) -> None:
    audio = tmp_path / "13812345678.wav"
    stereo_call(audio)
    report = leaky_report()
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "html"):
        buffer = io.StringIO()
        write_report(report, fmt, buffer, audio_path=audio)
        outputs[fmt] = buffer.getvalue()
    outputs["transcript"] = format_transcript_text(report)
    db = tmp_path / "results.sqlite"
    with ResultStore(db) as store:
        store.record_result(CallKey("a" * 64, "p", "m"), report, str(audio), CallMeta(started_at="2026-11-21T10:00:00"))
        store.record_failure(CallKey("b" * 64, "p", "m"), str(tmp_path / "13912345678.wav"),
                             f"{tmp_path}/13912345678.wav: corrupt", CallMeta(call_id="13912345678"))
        for fmt in ("csv", "jsonl"):
            buffer = io.StringIO()
            export_calls(store, fmt, buffer)
            outputs[fmt] = buffer.getvalue()
        write_daily_report(store, tmp_path / "daily.html", None, worst=5)
    outputs["store"] = db.read_bytes().decode("utf-8", "replace") + (tmp_path / "results.sqlite-wal").read_bytes().decode("utf-8", "replace") if (tmp_path / "results.sqlite-wal").exists() else db.read_bytes().decode("utf-8", "replace")
    outputs["daily"] = (tmp_path / "daily.html").read_text()
    for page in (tmp_path / "daily_calls").iterdir():
        outputs[f"page {page.name}"] = page.name + page.read_text(errors="replace")
    for where, blob in outputs.items():
        assert_no_secret(blob, where)
        assert "13912345678" not in blob, where
    # CSV formula injection: the agent id cell is text, not a formula.
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert rows[0]["agent_id"].startswith("'=")
    # The page plays the redacted audio: the customer's words at 2-3 s are gone, the rest is intact.
    match = re.search(r'src="data:audio/flac;base64,([^"]+)"', outputs["html"])
    assert match, "the audit page must embed the redacted audio"
    played, rate = sf.read(io.BytesIO(base64.b64decode(match.group(1))), always_2d=True)
    assert rate == RATE_HZ
    pad = int(0.15 * RATE_HZ)
    hidden = played[int(NUMBER_SPAN_S[0] * RATE_HZ) - pad + 1 : int(NUMBER_SPAN_S[1] * RATE_HZ) + pad - 1, 1]
    assert tone_power(hidden, 440) < 0.001 and tone_power(hidden, 1000) > 0.03
    assert tone_power(played[: RATE_HZ, 1], 440) > 0.2  # before the number: the original
    assert tone_power(played[2 * RATE_HZ : 3 * RATE_HZ, 0], 300) > 0.1  # the agent channel untouched


def test_no_mask_keeps_the_original_audio(tmp_path: Path) -> None:
    audio = tmp_path / "call.wav"
    stereo_call(audio)
    buffer = io.StringIO()
    write_report(leaky_report("C1"), "html", buffer, audio_path=audio, mask_pii=False)
    assert base64.b64encode(audio.read_bytes()).decode() in buffer.getvalue()


def test_redaction_spans_come_from_masked_words() -> None:
    spans = masked_audio_spans(mask_report_dict(leaky_report()))
    assert RedactSpan(*NUMBER_SPAN_S, 1) in spans
    assert all(s.channel in (0, 1) for s in spans)


def test_redact_samples_silence_and_mono() -> None:
    samples = np.ones(RATE_HZ, dtype=np.float32)
    out = redact_samples(samples, RATE_HZ, [RedactSpan(0.5, 0.6)], RedactOptions(mode="silence", pad_s=0.0))
    assert out.shape == samples.shape and out[4000:4800].max() == 0.0 and out[:4000].min() == 1.0
    with pytest.raises(ValueError):
        RedactOptions(mode="beep")


def test_redact_file_returns_wav_on_request(tmp_path: Path) -> None:
    audio = tmp_path / "c.wav"
    stereo_call(audio)
    data = redact_file(audio, [RedactSpan(1.0, 2.0, 1)], RedactOptions(format="WAV"))
    assert data[:4] == b"RIFF"


def test_store_and_report_files_are_not_world_readable(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        store.record_result(CallKey("a" * 64, "p", "m"), leaky_report("C1"), "x.wav")
    assert stat.S_IMODE(db.stat().st_mode) & 0o077 == 0


def test_the_live_console_feed_never_shows_a_chunk_of_a_number() -> None:
    from qa_pipeline.live.events import UtteranceFinal
    from qa_pipeline.server.calls import event_message
    from qa_pipeline.types import Role, Utterance

    texts = [t for t, _, _ in CHUNKED[0]] + [t for t, _ in FORMS]
    for i, text in enumerate(texts):
        utterance = Utterance(Role.CUSTOMER, 1, float(i), float(i) + 1, text)
        shown = event_message("live-1", UtteranceFinal(i, utterance))["text"]
        for secret in [s for _, s in FORMS] + list(CHUNK_SECRETS[0]):
            assert secret not in shown, (text, shown)
    agent = Utterance(Role.AGENT, 0, 0.0, 2.0, "您好，星辰银行八一二三号，很高兴为您服务")
    assert event_message("live-1", UtteranceFinal(0, agent))["text"] == agent.text  # the agent id stays


def test_files_the_commands_write_are_not_world_readable(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    db = tmp_path / "r.sqlite"
    with ResultStore(db) as store:
        store.record_result(CallKey("a" * 64, "p", "m"), leaky_report("C1"), "x.wav")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for args in (["report", "--db", str(db), "--out", str(tmp_path / "daily.html")],
                 ["export", "--db", str(db), "--out", str(tmp_path / "out.csv")]):
        proc = subprocess.run([sys.executable, "-m", "qa_pipeline.cli", *args], capture_output=True, text=True,
                              env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
    written = [tmp_path / "daily.html", tmp_path / "out.csv", *(tmp_path / "daily_calls").iterdir()]
    assert len(written) >= 3
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path


def test_redacted_call_audio_is_what_the_page_plays(tmp_path: Path) -> None:
    from qa_pipeline.report.audio import redacted_call_audio

    audio = tmp_path / "call.wav"
    stereo_call(audio)
    masked = mask_report_dict(leaky_report("C1"))
    played, rate = sf.read(io.BytesIO(redacted_call_audio(masked, audio)), always_2d=True)
    hidden = played[int(2.0 * rate) : int(3.0 * rate), 1]
    assert tone_power(hidden, 440) < 0.001
    page = io.StringIO()
    write_report(leaky_report("C1"), "html", page, audio_path=audio)
    assert base64.b64encode(redacted_call_audio(masked, audio)).decode() in page.getvalue()
