"""Where qa_pipeline keeps its own files on the user's disk (computed, never created, here)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def user_cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/qa_pipeline``: the joined model, jieba's dictionary cache."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "qa_pipeline"


def default_policy_dir() -> Path:
    """The bundled default policy directory (``qa_pipeline/lexicons/default``)."""
    return Path(str(resources.files("qa_pipeline") / "lexicons" / "default"))
