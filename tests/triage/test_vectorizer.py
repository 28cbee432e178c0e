"""The serving TF-IDF (`triage.vectorizer`) against scikit-learn's, and its vocabulary fit."""

from __future__ import annotations

import numpy as np
import pytest

from triage.features import normalize_text
from triage.vectorizer import TextVectorizer, char_ngram_keys

TEXTS = [
    "Printer on floor 3 does not print, paper jam error E-42 after restart",
    "Мой платёж прошёл дважды, верните, пожалуйста, деньги за подписку",
    "Nie mogę się zalogować do konta, hasło zostało zresetowane wczoraj",
    "Die Lieferung ist beschädigt angekommen, bitte um Ersatz oder Rückerstattung",
    "printer printer printer jam jam",
    "a",
    "",
    "ok ok",
    "Überweisung für Rechnung INV-2093 fehlt; ärgerlich 😡 — bitte prüfen",
]


@pytest.fixture(scope="module")
def sklearn_fitted():
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    texts = [normalize_text(t) for t in TEXTS * 3]
    word = sklearn_text.TfidfVectorizer(
        lowercase=False, ngram_range=(1, 2), token_pattern=r"(?u)\b\w\w+\b", dtype=np.float32
    ).fit(texts)
    char = sklearn_text.TfidfVectorizer(
        lowercase=False, analyzer="char", ngram_range=(2, 5), dtype=np.float32
    ).fit(texts)
    return word, char


def test_transform_equals_scikit_learn_on_four_languages(sklearn_fitted) -> None:
    word, char = sklearn_fitted
    ours = TextVectorizer.from_vocabularies(
        word.vocabulary_, word.idf_, char.vocabulary_, char.idf_
    )
    texts = [normalize_text(t) for t in TEXTS + ["unseen words only: zebra xylophone"]]
    expected = np.hstack([word.transform(texts).toarray(), char.transform(texts).toarray()])
    got = ours.transform(texts).toarray()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # One text at a time: ascending columns, the same numbers.
    cols, values = ours.transform_one(texts[1])
    assert np.all(np.diff(cols) > 0)
    np.testing.assert_allclose(values, expected[1, cols], atol=1e-6)
    assert ours.transform_one("")[0].size == 0


def test_arrays_round_trip(sklearn_fitted) -> None:
    word, char = sklearn_fitted
    ours = TextVectorizer.from_vocabularies(
        word.vocabulary_, word.idf_, char.vocabulary_, char.idf_
    )
    again = TextVectorizer.from_arrays(ours.arrays())
    text = normalize_text(TEXTS[3])
    for a, b in zip(ours.transform_one(text), again.transform_one(text), strict=True):
        np.testing.assert_array_equal(a, b)


def test_char_keys_separate_lengths_and_code_points() -> None:
    keys = char_ngram_keys("abcab")
    # 4 bigrams, 3 trigrams, 2 four-grams, 1 five-gram; "ab" twice.
    assert len(keys) == 10
    assert len(set(keys.tolist())) == 9
    grams = {"ab", "abc", "bca", "ёж", "жё", "€a", "a€"}
    single = [char_ngram_keys(g, len(g), len(g)) for g in grams]
    assert all(len(k) == 1 for k in single)
    assert len({int(k[0]) for k in single}) == len(grams)
    assert len(char_ngram_keys("x")) == 0


def test_fit_selects_scikit_learns_vocabulary_and_idf(sklearn_fitted) -> None:
    fit_text_vectorizer = pytest.importorskip("training.features").fit_text_vectorizer
    word, char = sklearn_fitted
    texts = [normalize_text(t) for t in TEXTS * 3]
    ours = fit_text_vectorizer(texts, word_max_features=10**6, char_max_features=10**6, min_df=1)
    assert ours.word_terms == sorted(word.vocabulary_)
    assert ours.n_char == len(char.vocabulary_)
    # Same matrices up to the char block's column order.
    got = ours.transform(texts).toarray()
    expected_word = word.transform(texts).toarray()[
        :, [word.vocabulary_[t] for t in ours.word_terms]
    ]
    np.testing.assert_allclose(got[:, : ours.n_word], expected_word, atol=1e-6)
    np.testing.assert_allclose(
        np.sort(got[:, ours.n_word :], axis=1),
        np.sort(char.transform(texts).toarray(), axis=1),
        atol=1e-6,
    )


def test_fit_caps_by_frequency_and_min_df() -> None:
    fit_text_vectorizer = pytest.importorskip("training.features").fit_text_vectorizer
    texts = ["alpha beta", "alpha beta", "alpha gamma", "delta"]
    ours = fit_text_vectorizer(texts, word_max_features=2, char_max_features=5, min_df=2)
    # df >= 2: alpha (3), beta (2), "alpha beta" (2); the two most frequent, ties to the smaller.
    assert ours.word_terms == ["alpha", "alpha beta"]
    assert ours.n_char == 5
