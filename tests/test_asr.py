"""Packing clips into Whisper windows and giving words back to their clips (no model needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from qa_pipeline.asr import packed as asr
from qa_pipeline.asr.packed import Placement, Window, assign_words, is_hallucination, owner_of, pack_clips, render_window
from qa_pipeline.config import AsrOptions
from qa_pipeline.asr.recognizer import ClipText
from qa_pipeline.types import AudioClip
from qa_pipeline.types import Word


def layout(windows: list[Window]) -> list[list[tuple[int, float, float]]]:
    return [[(p.index, round(p.start_s, 6), round(p.end_s, 6)) for p in w.placements] for w in windows]


# ---- pack_clips -------------------------------------------------------------------------------


def test_pack_places_clips_in_order_separated_by_the_gap() -> None:
    windows = pack_clips([2.0, 3.0, 1.5], window_s=10.0, gap_s=0.5)
    assert layout(windows) == [[(0, 0.0, 2.0), (1, 2.5, 5.5), (2, 6.0, 7.5)]]
    assert windows[0].duration_s == 7.5


def test_pack_starts_a_new_window_when_the_next_clip_would_overflow() -> None:
    # 4 + 1 gap + 4 = 9 fits a 10 s window; the third clip would end at 14 -> new window.
    windows = pack_clips([4.0, 4.0, 4.0, 1.0], window_s=10.0, gap_s=1.0)
    assert layout(windows) == [[(0, 0.0, 4.0), (1, 5.0, 9.0)], [(2, 0.0, 4.0), (3, 5.0, 6.0)]]


def test_pack_fills_a_window_exactly_to_its_length() -> None:
    assert layout(pack_clips([4.5, 5.0], window_s=10.0, gap_s=0.5)) == [[(0, 0.0, 4.5), (1, 5.0, 10.0)]]


def test_pack_keeps_order_rather_than_filling_holes() -> None:
    # The short last clip would fit in the first window's slack, but order is kept.
    windows = pack_clips([6.0, 6.0, 1.0], window_s=10.0, gap_s=0.5)
    assert layout(windows) == [[(0, 0.0, 6.0)], [(1, 0.0, 6.0), (2, 6.5, 7.5)]]


def test_a_clip_longer_than_the_window_goes_alone() -> None:
    windows = pack_clips([1.0, 12.0, 1.0], window_s=10.0, gap_s=0.5)
    assert layout(windows) == [[(0, 0.0, 1.0)], [(1, 0.0, 12.0)], [(2, 0.0, 1.0)]]


def test_pack_nothing_gives_no_windows() -> None:
    assert pack_clips([], window_s=28.0, gap_s=0.6) == []


@pytest.mark.parametrize(("durations", "window_s", "gap_s"), [([1.0], 0.0, 0.5), ([1.0], 10.0, -0.1), ([-1.0], 10.0, 0.5)])
def test_pack_rejects_bad_arguments(durations: list[float], window_s: float, gap_s: float) -> None:
    with pytest.raises(ValueError):
        pack_clips(durations, window_s=window_s, gap_s=gap_s)


def test_render_window_copies_clips_at_their_placements() -> None:
    clips = [AudioClip(np.full(16, 0.5, dtype=np.float32)), AudioClip(np.full(8, -0.25, dtype=np.float32))]
    window = Window((Placement(0, 0.0, 0.001), Placement(1, 0.002, 0.0005)))  # 0.002 s = 32 samples
    audio = render_window(window, clips)
    assert audio.dtype == np.float32 and len(audio) == 40
    assert audio[:16].tolist() == [0.5] * 16
    assert audio[16:32].tolist() == [0.0] * 16
    assert audio[32:].tolist() == [-0.25] * 8


# ---- word -> clip assignment -----------------------------------------------------------------

WINDOW = Window((Placement(0, 0.0, 2.0), Placement(1, 2.6, 3.0), Placement(2, 6.2, 1.0)))


@pytest.mark.parametrize(
    ("time_s", "expected", "why"),
    [
        (1.0, 0, "inside the first clip"),
        (2.0, 0, "on the first clip's end"),
        (2.2, 0, "in the gap, nearer the first clip"),
        (2.3, 0, "in the middle of the gap: the earlier clip wins the tie"),
        (2.45, 1, "in the gap, nearer the second clip"),
        (4.0, 1, "inside the second clip"),
        (9.0, 2, "after the last clip"),
        (-0.5, 0, "before the first clip"),
    ],
)
def test_owner_of(time_s: float, expected: int, why: str) -> None:
    assert owner_of(time_s, WINDOW.placements) == expected, why


def test_assign_words_by_midpoint_with_clip_relative_clamped_times() -> None:
    words = [
        Word("您好", 0.1, 0.5),
        Word("，", 0.5, 0.5),
        Word("请讲", 1.7, 2.4),  # midpoint 2.05: first clip; end clamped to its 2.0 s
        Word("我", 2.5, 2.9),  # midpoint 2.7: second clip; start clamped to 0
        Word("想", 2.9, 3.2),
        Word(" APP", 3.2, 3.6),
        Word("嗯", 6.5, 7.5),  # end clamped to the third clip's 1.0 s
    ]
    texts = assign_words(words, WINDOW)
    assert texts == [
        ClipText("您好，请讲", (Word("您好", 0.1, 0.5), Word("，", 0.5, 0.5), Word("请讲", 1.7, 2.0))),
        ClipText(
            "我想 APP",
            (Word("我", 0.0, pytest.approx(0.3)), Word("想", pytest.approx(0.3), pytest.approx(0.6)),
             Word("APP", pytest.approx(0.6), pytest.approx(1.0))),
        ),
        ClipText("嗯", (Word("嗯", pytest.approx(0.3), 1.0),)),
    ]


def test_a_clip_without_words_gets_empty_text() -> None:
    texts = assign_words([Word("好", 0.2, 0.4)], WINDOW)
    assert [t.text for t in texts] == ["好", "", ""]
    assert texts[1].words == () and texts[2].words == ()


# ---- hallucination guard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "no_speech_prob", "avg_logprob", "expected"),
    [
        ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", 0.1, -0.3, True),
        ("字幕由Amara.org社区提供", 0.2, -0.5, True),
        ("字幕志願者 李宗盛", 0.2, -0.5, True),
        ("嗯", 0.9, -1.5, True),  # silent window, unsure text
        ("嗯", 0.9, -0.4, False),  # silent-looking but confident: keep
        ("我想订阅一下短信提醒", 0.1, -0.3, False),  # a real request mentioning 订阅
        ("您好，很高兴为您服务", 0.05, -0.2, False),
    ],
)
def test_is_hallucination(text: str, no_speech_prob: float, avg_logprob: float, expected: bool) -> None:
    assert is_hallucination(text, no_speech_prob, avg_logprob) is expected


# ---- the recognizer without a model ----------------------------------------------------------


class _ScriptedRecognizer(asr.FasterWhisperRecognizer):
    """Decodes nothing: returns one word at the middle of every non-silent stretch of the window."""

    def __init__(self, options: AsrOptions) -> None:
        super().__init__(options)
        self.window_lengths: list[int] = []

    def decode(self, audio: np.ndarray, beam_size: int | None = None) -> list[Word]:
        self.window_lengths.append(len(audio))
        voiced = np.flatnonzero(audio != 0.0)
        runs = np.split(voiced, np.flatnonzero(np.diff(voiced) > 1) + 1) if len(voiced) else []
        return [Word(f"w{round(float(audio[r[0]]) * 10)}", r[0] / 16000, (r[-1] + 1) / 16000) for r in runs]


def test_transcribe_packs_and_maps_results_back_in_input_order() -> None:
    options = AsrOptions(pack_window_s=5.0, pack_gap_s=0.5)
    recognizer = _ScriptedRecognizer(options)
    clips = [AudioClip(np.full(int(s * 16000), v, dtype=np.float32)) for s, v in [(2.0, 0.1), (2.0, 0.2), (0.0, 0.0), (3.0, 0.3)]]
    progress: list[tuple[str, int, int]] = []
    results = recognizer.transcribe(clips, hook=lambda step, done, total: progress.append((step, done, total)))
    assert [r.text for r in results] == ["w1", "w2", "", "w3"]
    assert results[3].words == (Word("w3", 0.0, 3.0),)
    assert recognizer.window_lengths == [int(4.5 * 16000), 3 * 16000]
    assert progress == [("asr", 0, 4), ("asr", 4, 4)]


def test_transcribe_rejects_clips_at_another_rate() -> None:
    with pytest.raises(ValueError, match="16000 Hz"):
        asr.FasterWhisperRecognizer().transcribe([AudioClip(np.zeros(80, dtype=np.float32), 8000)])


def test_model_id_of_the_default_model_needs_no_disk() -> None:
    assert asr.FasterWhisperRecognizer().model_id == "whisper-base-ct2@d01c3014"


def test_model_id_of_a_model_dir(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.bin").write_bytes(b"12345")
    model_id = asr.FasterWhisperRecognizer(AsrOptions(model_path=str(tmp_path))).model_id
    assert model_id.startswith(f"{tmp_path.name}@") and len(model_id) == len(tmp_path.name) + 9


def test_importing_asr_loads_no_model_library() -> None:
    code = "import sys, qa_pipeline.asr.packed; print('faster_whisper' in sys.modules, 'ctranslate2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("heard", "expected", "why"),
    [
        ([True, True, True], [], "every clip got words"),
        ([True, False, True], [1], "a short clip skipped between two heard ones"),
        ([False, True], [0], "the window's first clip skipped"),
        ([True, True, False, False], [2, 3], "Whisper stopped after the second clip"),
        ([False, False], [], "nothing heard at all: the window is silence"),
    ],
)
def test_unheard_clips(heard: list[bool], expected: list[int], why: str) -> None:
    texts = [ClipText("好", (Word("好", 0.0, 0.1),)) if h else ClipText("") for h in heard]
    assert asr.unheard_clips(texts) == expected, why


def _words(*timed: tuple[str, float, float]) -> ClipText:
    words = tuple(Word(t, s, e) for t, s, e in timed)
    return ClipText("".join(w.text for w in words), words)


def test_a_word_whisper_moved_to_the_next_clip_is_taken_back() -> None:
    follower = _words(("不能,", 0.0, 0.0), ("那个", 0.0, 0.2), ("是", 0.2, 0.4))
    kept = asr.drop_repeated_head(follower, ClipText("不能", (Word("不能", 0.0, 0.3),)))
    assert kept.text == "那个是"
    assert [w.text for w in kept.words] == ["那个", "是"]


@pytest.mark.parametrize(
    ("follower", "heard", "why"),
    [
        (_words(("不行", 0.0, 0.3), ("这个", 0.3, 0.5)), "不能", "the next clip starts with other words"),
        (_words(("那个", 0.0, 0.2), ("不能", 0.2, 0.5)), "不能", "the words are not at its start"),
        (_words(("不能", 0.8, 1.1), ("办", 1.1, 1.3)), "不能", "said again later in the next clip: a repetition"),
        (_words(("不", 0.0, 0.1), ("能", 0.1, 0.2)), "", "the clip decoded again stayed silent"),
    ],
)
def test_the_next_clip_keeps_words_that_are_its_own(follower: ClipText, heard: str, why: str) -> None:
    assert asr.drop_repeated_head(follower, ClipText(heard)) == follower, why


class _StopsAfterFirstClip(_ScriptedRecognizer):
    """Like Whisper emitting end-of-text after a closing: only the window's first stretch is heard."""

    def decode(self, audio: np.ndarray, beam_size: int | None = None) -> list[Word]:
        return super().decode(audio, beam_size)[:1]


def test_clips_dropped_at_the_end_of_a_window_are_decoded_again() -> None:
    recognizer = _StopsAfterFirstClip(AsrOptions(pack_window_s=10.0, pack_gap_s=0.5))
    clips = [AudioClip(np.full(16000, v, dtype=np.float32)) for v in (0.1, 0.2, 0.3)]
    assert [r.text for r in recognizer.transcribe(clips)] == ["w1", "w2", "w3"]
    assert recognizer.window_lengths == [int(4.0 * 16000), int(2.5 * 16000), 16000]


class _SkipsShortClips(_ScriptedRecognizer):
    """Like Whisper passing over a word said alone between two sentences: in a window of several
    clips, a stretch shorter than half a second gets no word."""

    def decode(self, audio: np.ndarray, beam_size: int | None = None) -> list[Word]:
        words = super().decode(audio, beam_size)
        if len(words) < 2:
            return words
        return [w for w in words if w.end_s - w.start_s >= 0.5]


def test_a_short_clip_skipped_between_two_heard_ones_is_decoded_again() -> None:
    recognizer = _SkipsShortClips(AsrOptions(pack_window_s=10.0, pack_gap_s=0.5))
    clips = [AudioClip(np.full(int(s * 16000), v, dtype=np.float32)) for s, v in [(2.0, 0.1), (0.3, 0.2), (2.0, 0.3)]]
    assert [r.text for r in recognizer.transcribe(clips)] == ["w1", "w2", "w3"]
    assert recognizer.window_lengths == [int(5.3 * 16000), int(0.3 * 16000)]


class _MovesShortClips(_ScriptedRecognizer):
    """Like Whisper timing a short first word at the start of the next clip: in a window of several
    clips, a stretch shorter than half a second is heard, but timed where the next stretch starts."""

    def decode(self, audio: np.ndarray, beam_size: int | None = None) -> list[Word]:
        words = super().decode(audio, beam_size)
        if len(words) < 2:
            return words
        moved = []
        for word, after in zip(words, [*words[1:], None]):
            short = word.end_s - word.start_s < 0.5 and after is not None
            moved.append(Word(word.text, after.start_s, after.start_s) if short else word)
        return moved


def test_a_word_timed_into_the_next_clip_goes_back_to_its_own() -> None:
    recognizer = _MovesShortClips(AsrOptions(pack_window_s=10.0, pack_gap_s=0.5))
    clips = [AudioClip(np.full(int(s * 16000), v, dtype=np.float32)) for s, v in [(2.0, 0.1), (0.3, 0.2), (2.0, 0.3)]]
    results = recognizer.transcribe(clips)
    assert [r.text for r in results] == ["w1", "w2", "w3"]
    assert [w.text for w in results[2].words] == ["w3"]
