"""The held-out corpora (tests/judgement/fresh.tsv to fresh11.tsv) keep the shape the measurement relies on.

Only the data is checked here (no judgement is run): each file loads with the same reader as the
bench, every row is a known check with its framing role, labels agree with kinds, and each check
keeps enough positives and near-misses to measure precision, recall and near-miss false alarms.
fresh2.tsv was written later than fresh.tsv, by someone who read neither the policy nor the other
corpora, so it must not share a sentence with them; fresh3.tsv was written later still, by someone who
had read none of the policy, the examples or the three earlier corpora, and shares no sentence with them;
fresh4.tsv was written the same way and shares no sentence with any of the four before it, and
fresh5.tsv likewise shares no sentence with any of the five before it, fresh6.tsv with any of the six
before it, fresh7.tsv with any of the seven before it. fresh8.tsv, fresh9.tsv and fresh10.tsv were written
the same way at the same time by three writers who saw none of the others, and share no sentence with any
corpus before them (a few stock sentences occur in more than one of the three, by chance). fresh11.tsv was
written later the same way, by a writer who saw none of the corpora, and shares no sentence with any of them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from qa_pipeline.eval.judgement import CHECKS, load_corpus

HERE = Path(__file__).parent / "judgement"
CORPORA = [(HERE / f"{split}.tsv", split) for split in ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11")]
ROLES = {"forbidden": "agent", "promise": "agent", "complaint": "customer", "comfort": "agent", "thanks": "agent"}


@pytest.mark.parametrize(("path", "split"), CORPORA, ids=[s for _, s in CORPORA])
def test_fresh_corpus_loads_as_one_split_with_framing_roles(path: Path, split: str) -> None:
    items = load_corpus(path)
    assert len(items) >= 600
    assert {i.split for i in items} == {split}
    assert {i.check for i in items} == set(CHECKS)
    assert all(i.role == ROLES[i.check] for i in items)
    assert all(i.label == (i.kind == "positive") for i in items)
    assert all(i.kind in ("positive", "near_miss", "negative") for i in items)
    assert len({(i.text, i.check) for i in items}) == len(items)


@pytest.mark.parametrize(("path", "split"), CORPORA, ids=[s for _, s in CORPORA])
def test_fresh_corpus_balances_positives_and_near_misses_per_check(path: Path, split: str) -> None:
    items = load_corpus(path)
    kinds = Counter((i.check, i.kind) for i in items)
    for check in CHECKS:
        total = sum(n for (c, _), n in kinds.items() if c == check)
        assert 0.40 <= kinds[(check, "positive")] / total <= 0.50, check
        assert kinds[(check, "near_miss")] / total >= 0.40, check
        assert kinds[(check, "negative")] > 0, check


def _bare(text: str) -> str:  # punctuation and spacing do not make a sentence new
    return re.sub(r"[^\w]", "", text)


def _rows_already_in(name: str, others: tuple[str, ...]) -> list[str]:
    """Sentences of corpus ``name`` found in the earlier corpora; only ``name``'s own rows are returned."""
    seen = {_bare(i.text) for other in others for i in load_corpus(HERE / other)}
    return [i.text for i in load_corpus(HERE / name) if _bare(i.text) in seen]


@pytest.mark.parametrize(
    ("name", "others"),
    [
        ("fresh2.tsv", ("fresh.tsv", "corpus.tsv")),
        ("fresh3.tsv", ("fresh.tsv", "fresh2.tsv", "corpus.tsv")),
        ("fresh4.tsv", ("fresh.tsv", "fresh2.tsv", "fresh3.tsv", "corpus.tsv")),
        ("fresh5.tsv", ("fresh.tsv", "fresh2.tsv", "fresh3.tsv", "fresh4.tsv", "corpus.tsv")),
        ("fresh6.tsv", ("fresh.tsv", "fresh2.tsv", "fresh3.tsv", "fresh4.tsv", "fresh5.tsv", "corpus.tsv")),
        (
            "fresh7.tsv",
            ("fresh.tsv", "fresh2.tsv", "fresh3.tsv", "fresh4.tsv", "fresh5.tsv", "fresh6.tsv", "corpus.tsv"),
        ),
        (
            "fresh8.tsv",
            (
                "fresh.tsv",
                "fresh2.tsv",
                "fresh3.tsv",
                "fresh4.tsv",
                "fresh5.tsv",
                "fresh6.tsv",
                "fresh7.tsv",
                "corpus.tsv",
            ),
        ),
        # fresh8, fresh9 and fresh10 were written at the same time by writers who saw none of the others:
        # each is kept apart from the corpora before them; a few stock sentences (我稍后给您回个电话…) occur
        # in more than one of the three by chance
        ("fresh9.tsv", tuple(f"fresh{n}.tsv".replace("fresh1.", "fresh.") for n in range(1, 8)) + ("corpus.tsv",)),
        ("fresh10.tsv", tuple(f"fresh{n}.tsv".replace("fresh1.", "fresh.") for n in range(1, 8)) + ("corpus.tsv",)),
        # fresh11 was written after fresh8–fresh10 had been merged, by a writer who saw none of the corpora
        ("fresh11.tsv", tuple(f"fresh{n}.tsv".replace("fresh1.", "fresh.") for n in range(1, 11)) + ("corpus.tsv",)),
    ],
    ids=["fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11"],
)
def test_later_fresh_corpus_shares_no_sentence_with_the_earlier_corpora(name: str, others: tuple[str, ...]) -> None:
    assert _rows_already_in(name, others) == []


@pytest.mark.parametrize(
    "name",
    ["fresh3.tsv", "fresh4.tsv", "fresh5.tsv", "fresh6.tsv", "fresh7.tsv", "fresh8.tsv", "fresh9.tsv", "fresh10.tsv", "fresh11.tsv"],
    ids=["fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11"],
)
def test_later_fresh_corpus_keeps_asr_like_rows_in_every_check(name: str) -> None:
    items = load_corpus(HERE / name)
    for check in CHECKS:
        rows = [i for i in items if i.check == check]
        unpunctuated = [i for i in rows if not re.search(r"[，。？！、,.?!]", i.text)]
        assert len(unpunctuated) >= 0.10 * len(rows), check
