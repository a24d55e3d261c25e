"""A matcher trained from a policy's labelled example sentences (相似问法), for one intent each.

A QA manager writes, per intent (forbidden, promise, complaint, comfort, …), sentences that are
examples of it and sentences that are not; the matcher must recognise other wordings of the same
thing. It is a linear model over two views of a clause, fitted when a check first needs it:

* character 1–3-grams of the clause (您 folded into 你, so politeness does not matter), which carry
  the words and their order;
* toneless pinyin syllable 1–2-grams with the sounds ASR confuses merged (zh/z, -ng/-n), so that a
  same-sound character swap (到账 heard as 道帐) still meets the examples.

TF-IDF weighting and logistic regression (scikit-learn, liblinear solver: deterministic, no
random state, fits a few hundred sentences in tens of milliseconds, predicts one clause in well
under a millisecond). Why this and not a neural model: no model download is allowed, a QA
manager's examples are tens, not thousands, and a linear model over n-grams stays explainable —
every hit also names the policy example it resembles most (cosine similarity) and its probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from qa_pipeline.text.intent_cache import cache_path, cached
from qa_pipeline.text.match import fuzzy_syllable
from qa_pipeline.text.normalize import match_form

__all__ = ["LABELLED_WEIGHT", "IntentExamples", "IntentModel", "Resemblance", "intent_model"]


@dataclass(frozen=True)
class IntentExamples:
    """One intent's examples; ``background`` are ordinary sentences that are never the intent.
    ``labelled_*`` come from labelled calls (``labelled_<intent>.tsv``): many, and noisier than a QA
    manager's own sentences, so each weighs ``LABELLED_WEIGHT`` of one of those in the fit."""

    name: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    background: tuple[str, ...] = ()
    labelled_positive: tuple[str, ...] = ()
    labelled_negative: tuple[str, ...] = ()

    @property
    def all_positive(self) -> tuple[str, ...]:
        return self.positive + self.labelled_positive

    def __hash__(self) -> int:
        # looked up in intent_model's cache for every clause judged: with thousands of labelled
        # sentences, hashing every field each time cost tens of microseconds a lookup
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.name, self.positive, self.negative, self.background,
                           self.labelled_positive, self.labelled_negative))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict:
        # a string's hash differs from process to process: a pickled one must not travel
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}


LABELLED_WEIGHT = 0.5


@dataclass(frozen=True)
class Resemblance:
    """How much a clause looks like the intent: model probability and the nearest positive example."""

    probability: float
    example: str
    similarity: float


@lru_cache(maxsize=16384)
def _chars(text: str) -> str:
    return match_form(text).replace("您", "你")


@lru_cache(maxsize=16384)
def _sounds(text: str) -> str:
    """(cached: every intent's model reads the same clause)"""
    from pypinyin import lazy_pinyin

    return " ".join(fuzzy_syllable(s) for s in lazy_pinyin(_chars(text), errors=lambda s: list(s)))


class IntentModel:
    """Fitted on one intent's examples; ``resemble(clause)`` scores a clause."""

    def __init__(self, examples: IntentExamples) -> None:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self._hstack = hstack
        self._examples = examples
        positive = examples.all_positive
        texts = [*positive, *examples.negative, *examples.labelled_negative, *examples.background]
        labels = [1] * len(positive) + [0] * (len(texts) - len(positive))
        weights = [1.0] * len(examples.positive) + [LABELLED_WEIGHT] * len(examples.labelled_positive)
        weights += [1.0] * len(examples.negative) + [LABELLED_WEIGHT] * len(examples.labelled_negative)
        weights += [1.0] * len(examples.background)
        self._char = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        self._sound = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\S+", sublinear_tf=True)
        features = self._features(texts, fit=True)
        self._model = LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear")
        self._model.fit(features, labels, sample_weight=weights)
        self._positive = features[: len(positive)]
        self._cache: dict[str, Resemblance] = {}

    @property
    def examples(self) -> IntentExamples:
        return self._examples

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_hstack")
        state["_cache"] = {}  # scores of one process's clauses are not worth keeping
        return state

    def __setstate__(self, state: dict) -> None:
        from scipy.sparse import hstack

        self.__dict__.update(state, _hstack=hstack)

    def _features(self, texts, fit: bool = False):
        chars = [_chars(t) for t in texts]
        sounds = [_sounds(t) for t in texts]
        if fit:
            return self._hstack([self._char.fit_transform(chars), self._sound.fit_transform(sounds)]).tocsr()
        return self._hstack([self._char.transform(chars), self._sound.transform(sounds)]).tocsr()

    def resemble(self, text: str) -> Resemblance:
        return self.resemble_all((text,))[0]

    def resemble_all(self, texts: tuple[str, ...]) -> tuple[Resemblance, ...]:
        """Score several clauses with one transform (an utterance's clauses at once); cached per text."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if len(self._cache) + len(missing) > _CACHE_SIZE:
                # full: start afresh, and score every text of this call (one already cached is gone too)
                self._cache.clear()
                missing = list(dict.fromkeys(texts))
            features = self._features(missing)
            probabilities = self._model.predict_proba(features)[:, 1]
            # cosine to each positive example: two unit-norm views, so halve the dot product
            positive = self._examples.all_positive
            sims = (self._positive @ features.T).toarray() / 2.0 if positive else None
            for column, text in enumerate(missing):
                if sims is None:
                    self._cache[text] = Resemblance(float(probabilities[column]), "", 0.0)
                    continue
                best = int(sims[:, column].argmax())
                self._cache[text] = Resemblance(
                    float(probabilities[column]), positive[best], float(sims[best, column])
                )
        return tuple(self._cache[t] for t in texts)


_CACHE_SIZE = 16384


@lru_cache(maxsize=32)
def intent_model(examples: IntentExamples) -> IntentModel:
    """The fitted model of an intent's examples: once per process and example set, and kept on disk
    (``qa_pipeline.text.intent_cache``) so that the next process loads it instead of fitting it."""
    path = cache_path(examples.name, (examples.positive, examples.negative, examples.background,
                                      examples.labelled_positive, examples.labelled_negative, (str(LABELLED_WEIGHT),)))
    return cached(path, lambda: IntentModel(examples),
                  lambda model: isinstance(model, IntentModel) and model.examples == examples)
