"""The batch path assembled: VAD spans become utterances, only speech reaches the recognizer."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from fakes import ScriptedRecognizer
from qa_pipeline.audio.channel import analyse_call
from qa_pipeline.audio.io import load_call_audio
from qa_pipeline.config import PipelineOptions
from qa_pipeline.pipeline import find_meta, transcribe_call
from qa_pipeline.types import CallMeta, Direction, Role


def test_utterances_are_the_speech_spans_with_roles_and_text(samples_dir):
    wav = samples_dir / "dev_call_10.wav"
    options = PipelineOptions()
    activity = analyse_call(load_call_audio(wav, options.audio), options)
    recognizer = ScriptedRecognizer(["您好，請講"])
    transcript = transcribe_call(wav, find_meta(wav), recognizer, options)

    expected = sorted(
        (span.start_s, a.channel, a.role) for a in activity for span in a.speech
    )
    got = [(u.start_s, u.channel, u.role) for u in transcript.utterances]
    assert got == expected
    assert {u.role for u in transcript.utterances} == {Role.AGENT, Role.CUSTOMER}
    # One recognizer call per channel (a packed window never mixes two voices); the
    # recognizer packs each channel's clips itself.
    per_channel = [sum(1 for _s, ch, _r in expected if ch == c) for c in (0, 1)]
    assert [len(call) for call in recognizer.calls] == per_channel
    # Text is normalised to Simplified Chinese; word times are absolute and inside the utterance.
    first = transcript.utterances[0]
    assert first.text == "您好，请讲"
    assert all(first.start_s <= w.start_s <= w.end_s <= first.end_s for w in first.words)
    assert transcript.call_id == "XC20241107-1611-0010"  # from the meta sidecar


def test_clips_are_padded_speech_only(samples_dir):
    wav = samples_dir / "dev_call_01.wav"
    options = PipelineOptions()
    recognizer = ScriptedRecognizer(["好的"])
    transcript = transcribe_call(wav, None, recognizer, options)
    clips = [clip for call in recognizer.calls for clip in call]
    speech_s = sum(u.duration_s for u in transcript.utterances)
    sent_s = sum(c.duration_s for c in clips)
    pad_s = 2 * options.vad.pad_ms / 1000
    assert speech_s <= sent_s <= speech_s + pad_s * len(clips) + 1e-6
    # The busy tone at the end (customer hung up) is never sent to the recognizer.
    tone = [a.tone for a in transcript.activity if a.tone]
    assert tone and all(u.end_s <= tone[0][0].start_s for u in transcript.utterances if u.channel == 1)
    assert transcript.call_id == "dev_call_01"


def test_silence_only_file_gives_no_utterances(tmp_path):
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal((8000 * 20, 2)) * 10 ** (-55 / 20)).astype(np.float32)
    path = tmp_path / "silence.wav"
    sf.write(path, noise, 8000, subtype="PCM_16")
    recognizer = ScriptedRecognizer(["不该出现"])
    transcript = transcribe_call(path, CallMeta(call_id="s1", direction=Direction.INBOUND), recognizer)
    assert transcript.utterances == ()
    assert recognizer.calls == []
    assert transcript.call_id == "s1"
    assert abs(transcript.duration_s - 20.0) < 1e-3


def _policy_with_word(tmp_path, word: str):
    import shutil

    from qa_pipeline.paths import default_policy_dir
    from qa_pipeline.policy.policy import load_policy

    target = tmp_path / "policy"
    shutil.copytree(default_policy_dir(), target)
    with open(target / "userdict.txt", "a", encoding="utf-8") as out:
        out.write(f"\n{word} 100000 n\n")
    return load_policy(target)


def test_a_policys_own_user_dictionary_cuts_the_words_of_audit_and_live(tmp_path, samples_dir, default_policy):
    """A bank's product name in its policy's userdict.txt is one word, in batch and live alike."""
    from qa_pipeline.cli.tap import load_recording
    from qa_pipeline.live.session import LiveSession, StreamStart, replay, stream_chunks
    from qa_pipeline.pipeline import audit_call

    text = "我想开通卡宝通服务"
    policy = _policy_with_word(tmp_path, "卡宝通")
    wav = samples_dir / "dev_call_10.wav"

    bundled = audit_call(wav, find_meta(wav), default_policy, PipelineOptions(), ScriptedRecognizer([text]))
    assert "卡宝通" not in {w.text for w in bundled.transcript.utterances[0].words}
    audited = audit_call(wav, find_meta(wav), policy, PipelineOptions(), ScriptedRecognizer([text]))
    assert "卡宝通" in {w.text for w in audited.transcript.utterances[0].words}

    recording = load_recording(wav)
    session = LiveSession(StreamStart(find_meta(wav), recording.format), policy, PipelineOptions(), "test")
    replay(session, stream_chunks(recording.data, recording.format.frame_bytes, 0.5, 8000), ScriptedRecognizer([text]))
    assert "卡宝通" in {w.text for w in session.utterances[0].words}
