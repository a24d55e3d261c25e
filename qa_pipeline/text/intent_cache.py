"""Fitted intent models kept on disk, so a process does not fit the same examples again.

Fitting reads every example's pinyin, which for a policy with thousands of labelled sentences
(``labelled_<intent>.tsv``) costs seconds: the first ``qa audit`` of a process, the first live call
of a server. The fitted model is pickled under ``user_cache_dir()/intents``, named by the intent and a
digest of its examples and of the library versions that fitted it; a file that cannot be read, or
holds a model of other examples, is fitted again and replaced. A cache that cannot be written (a
read-only home) only costs the fit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable, TypeVar

from qa_pipeline.paths import user_cache_dir

__all__ = ["cache_path", "cached"]

_FORMAT = "1"
Model = TypeVar("Model")


def _versions() -> str:
    return ",".join(f"{name}={metadata.version(name)}" for name in ("scikit-learn", "scipy", "pypinyin"))


def cache_path(name: str, parts: tuple[tuple[str, ...], ...]) -> Path:
    """Where the model of an intent's examples is kept (``parts``: every example list and anything
    else the fit depends on, such as the labelled sentences' weight)."""
    digest = hashlib.sha256(f"{_FORMAT}\0{_versions()}\0{name}".encode())
    for part in parts:
        digest.update(b"\1" + "\0".join(part).encode())
    safe = "".join(c if c.isalnum() else "_" for c in name)[:40]
    return user_cache_dir() / "intents" / f"{safe}-{digest.hexdigest()[:24]}.pickle"


def cached(path: Path, fit: Callable[[], Model], valid: Callable[[object], bool]) -> Model:
    """The model pickled at ``path`` when it passes ``valid``, else ``fit()``, kept there for next time."""
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)
        if valid(model):
            return model
    except Exception:  # missing, truncated, or from another version: fit it again
        pass
    model = fit()
    written: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            written = Path(handle.name)
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(written, path)
    except OSError:
        if written is not None:
            with contextlib.suppress(OSError):
                written.unlink(missing_ok=True)
    return model
