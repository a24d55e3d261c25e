"""``qa eval``: audit every labelled call of a directory and compare with its labels.

Finds ``NAME.truth.json`` files, the recording beside each (any supported extension)
and its metadata, audits them with the real pipeline and hands the pairs to
``qa_pipeline.eval.evaluate``. Labels are read here and nowhere else in the product.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa_pipeline.audio.io import AUDIO_SUFFIXES
from qa_pipeline.config import PipelineOptions
from qa_pipeline.errors import MetaError, QAError
from qa_pipeline.hooks import Hook, call_hook
from qa_pipeline.asr.recognizer import Recognizer
from qa_pipeline.eval.evaluate import EvalPair, evaluate
from qa_pipeline.pipeline import audit_call, find_meta
from qa_pipeline.rules.run import load_checked_policy


def labelled_calls(directory: Path) -> list[tuple[Path, Path]]:
    """(audio, truth) pairs under ``directory``, sorted by name."""
    pairs = []
    for truth in sorted(Path(directory).glob("*.truth.json")):
        stem = truth.name[: -len(".truth.json")]
        audio = next((truth.with_name(stem + s) for s in AUDIO_SUFFIXES if truth.with_name(stem + s).is_file()), None)
        if audio is None:
            raise QAError(f"no recording {stem}.wav/.flac/.ogg/.mp3 beside it", str(truth))
        pairs.append((audio, truth))
    if not pairs:
        raise QAError("no NAME.truth.json label files found", str(directory))
    return pairs


def run_eval(
    directory: Path,
    policy_dir: Path | None,
    options: PipelineOptions,
    recognizer: Recognizer,
    hook: Hook | None = None,
):
    policy = load_checked_policy(policy_dir)
    calls = labelled_calls(directory)
    pairs = []
    call_hook(hook, "eval", 0, len(calls))
    for index, (audio, truth_path) in enumerate(calls):
        truth = _read_truth(truth_path)
        report = audit_call(audio, find_meta(audio), policy, options, recognizer)
        pairs.append(EvalPair(name=audio.stem, truth=truth, report=report.to_dict()))
        call_hook(hook, "eval", index + 1, len(calls))
    return evaluate(pairs)


def _read_truth(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetaError(f"cannot read labels: {exc}", str(path)) from None
