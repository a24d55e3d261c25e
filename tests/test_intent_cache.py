"""Fitted intent models are kept on disk and loaded by the next process instead of fitted again."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from qa_pipeline.text import intent
from qa_pipeline.text.intent import IntentExamples, IntentModel, intent_model
from qa_pipeline.text.intent_cache import cache_path

EXAMPLES = IntentExamples(
    "forbidden", ("这个我哪知道啊", "不行就是不行"), ("您好请讲", "好的我帮您查一下"), ("账单日是五号",),
    labelled_positive=("你自己去网点问吧",), labelled_negative=("您的卡号后四位是多少",),
)


@pytest.fixture()
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    intent_model.cache_clear()
    yield tmp_path
    intent_model.cache_clear()


def _path() -> Path:
    e = EXAMPLES
    return cache_path(e.name, (e.positive, e.negative, e.background, e.labelled_positive, e.labelled_negative,
                               (str(intent.LABELLED_WEIGHT),)))


def test_a_fitted_model_is_kept_and_the_next_process_loads_it(cache_home: Path) -> None:
    first = intent_model(EXAMPLES).resemble("你自己去网点问")
    path = _path()
    assert path.is_file() and path.parent == cache_home / "qa_pipeline" / "intents"
    assert path.stat().st_mode & 0o077 == 0  # examples may be a bank's own: not for other users
    script = ("from qa_pipeline.text.intent import intent_model, IntentModel\n"
              "import qa_pipeline.text.intent as m, sys, pickle\n"
              "m.IntentModel.__init__ = lambda *a: sys.exit('fitted again')\n"
              f"e = pickle.loads({pickle.dumps(EXAMPLES)!r})\n"
              "r = intent_model(e).resemble('你自己去网点问'); print(r.probability, r.example)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"XDG_CACHE_HOME": str(cache_home), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    probability, example = done.stdout.split()
    assert float(probability) == pytest.approx(first.probability) and example == first.example == "你自己去网点问吧"


def test_a_damaged_or_foreign_file_is_fitted_again_and_replaced(cache_home: Path) -> None:
    path = _path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a pickle")
    model = intent_model(EXAMPLES)
    assert model.examples == EXAMPLES and pickle.loads(path.read_bytes()).examples == EXAMPLES
    other = IntentModel(IntentExamples("forbidden", ("别的句子说法",), ("另一句话",)))
    path.write_bytes(pickle.dumps(other))
    intent_model.cache_clear()
    assert intent_model(EXAMPLES).examples == EXAMPLES


def test_an_unwritable_cache_only_costs_the_fit(cache_home: Path) -> None:
    (cache_home / "qa_pipeline").write_text("a file where the folder would be", encoding="utf-8")
    model = intent_model(EXAMPLES)
    assert model.resemble("不行就是不行").example == "不行就是不行"


def test_prepare_models_leaves_every_intents_model_ready(cache_home: Path) -> None:
    from qa_pipeline.policy.policy import load_policy
    from qa_pipeline.rules.judge import prepare_models

    policy = load_policy()
    with_examples = [i for i in policy.intents.values() if i.examples.all_positive]
    assert prepare_models(policy) == len(with_examples) >= 5
    before = intent_model.cache_info()
    for item in with_examples:
        intent_model(item.examples)
    after = intent_model.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + len(with_examples)
    assert len(list((cache_home / "qa_pipeline" / "intents").glob("*.pickle"))) == len(with_examples)


def test_examples_keep_their_hash_but_never_pickle_it() -> None:
    # a string's hash is salted per process: a cached hash carried inside a pickled model would lie
    assert hash(EXAMPLES) == hash(IntentExamples(*(getattr(EXAMPLES, f) for f in (
        "name", "positive", "negative", "background", "labelled_positive", "labelled_negative"))))
    assert "_hash" in EXAMPLES.__dict__ and "_hash" not in pickle.loads(pickle.dumps(EXAMPLES)).__dict__
