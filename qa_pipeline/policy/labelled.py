"""Labelled sentences beside a policy: ``labelled_<intent>.tsv``, read into an intent's examples.

A QA department's examples (相似问法, ``[examples.<intent>]``) are tens of sentences a manager wrote.
Reviewed calls give far more: every span a reviewer confirmed as the intent, and the clauses of the
same speaker around it that were not. Such material is too long for a TOML list, so it lives in a
plain file per intent, one sentence a line::

    # comment
    +<TAB>那我哪知道啊            the intent (a labelled span)
    -<TAB>您这张卡的账单日是五号     not the intent (a clause of the same speaker, unlabelled)

The sentences join the intent's positive and negative examples; the model then names the nearest
one as a finding's evidence like any other example. The bundled default's files are built from the
labelled bench scripts by ``tools/labelled_from_scripts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa_pipeline.errors import PolicyError
from qa_pipeline.policy.files import read_utf8

__all__ = ["LABELLED_PREFIX", "LabelledSentences", "labelled_beside", "read_labelled"]

LABELLED_PREFIX = "labelled_"
_LABELS = {"+": True, "-": False}


@dataclass(frozen=True)
class LabelledSentences:
    """One file's sentences for one intent (named by the file: ``labelled_<intent>.tsv``)."""

    intent: str
    path: Path
    positive: tuple[str, ...]
    negative: tuple[str, ...]


def read_labelled(path: Path) -> LabelledSentences:
    """The sentences of one file; a PolicyError names ``file:line`` of the first malformed line."""
    text = read_utf8(path, "the labelled-sentence file")
    positive: list[str] = []
    negative: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, tab, sentence = line.partition("\t")
        if not tab or label not in _LABELS or not sentence.strip():
            raise PolicyError("expected '+' or '-', a tab and a sentence", f"{path}:{number}")
        (positive if _LABELS[label] else negative).append(sentence.strip())
    intent = path.stem.removeprefix(LABELLED_PREFIX)
    return LabelledSentences(intent, path, tuple(positive), tuple(negative))


def labelled_beside(folder: Path) -> tuple[LabelledSentences, ...]:
    """Every ``labelled_<intent>.tsv`` of a policy folder, in name order."""
    return tuple(read_labelled(p) for p in sorted(folder.glob(f"{LABELLED_PREFIX}*.tsv")) if p.is_file())
