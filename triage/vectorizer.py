"""The TF-IDF text features, computed the same way at training and at serving time.

Word 1–2-grams and char 2–5-grams of the normalised text (`triage.features.normalize_text`),
each block weighted by its idf and L2-normalised, side by side: columns
`[0, n_word)` are words, `[n_word, n_word + n_char)` chars. An optional third block,
`[n_word + n_char, n_features)`, holds word stems (each token's first `STEM_CHARS`
characters, a crude stemmer that works in every language): the heads read words and chars,
the auto-reply matcher chars and stems (on the Russian FAQ, stems lifted KB recall@1 by
3 points over chars alone, because a question and its FAQ entry inflect the same words
differently). Training chooses the vocabulary and idf by scikit-learn's rules
(`training.features.fit_text_vectorizer`, on these same n-gram keys) and then computes
every matrix with this class, so a model never sees numbers serving would not produce.

Why not an ONNX graph: skl2onnx's TfIdfVectorizer emits a dense row of every column
(90,000 floats), which the heads, the explanation and the auto-reply matcher then had to
search for its ~1,000 non-zeros; the graph and that search cost ~1.6 ms of a ~10 ms
request. Here the char n-grams are hashed in numpy (each n-gram's code points folded into
one 64-bit key, looked up in the sorted keys of the vocabulary) and the ~100 word tokens
go through a dict: ~0.1 ms per ticket, and the output is sparse from the start.
Over vocabularies scikit-learn fitted (`TextVectorizer.from_vocabularies`), the word and
char blocks equal its `TfidfVectorizer.transform` (raw term counts, smooth idf,
`lowercase=False`; words: 1–2-grams of the token pattern below, chars: `analyzer="char"`
2–5-grams) up to float rounding; tests/triage/test_vectorizer.py checks it on four
languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np

# scikit-learn's default token pattern: Unicode letters, digits and "_", two or more.
WORD_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
CHAR_NGRAMS = (2, 5)
STEM_CHARS = 4

# Odd 64-bit multiplier of the polynomial n-gram key (wraps modulo 2**64); each length gets
# its own offset so "ab" and a 3-gram can never share a key by construction of the sum.
_MULTIPLIER = np.uint64(0x100000001B3)
_LENGTH_SALT = np.uint64(0x9E3779B97F4A7C15)


def char_ngram_keys(
    text: str, n_min: int = CHAR_NGRAMS[0], n_max: int = CHAR_NGRAMS[1]
) -> np.ndarray:
    """The 64-bit key of every char n-gram of `text` (n_min ≤ n ≤ n_max), in no useful order.

    A key is a polynomial in the n-gram's code points (modulo 2**64) plus a per-length
    salt. With ~10^5 vocabulary keys and ~10^3 n-grams per ticket, the chance that an
    unseen n-gram takes a vocabulary n-gram's key is about 10^-11 per ticket.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    parts = []
    key = codes
    with np.errstate(over="ignore"):
        for n in range(2, n_max + 1):
            if len(codes) < n:
                break
            key = key[:-1] * _MULTIPLIER + codes[n - 1 :]
            if n >= n_min:
                parts.append(key + _LENGTH_SALT * np.uint64(n))
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    return np.concatenate(parts)


class TextVectorizer:
    """Word ⊕ char (⊕ stem) TF-IDF over a fitted vocabulary, sparse output. Thread-safe.

    Attributes: `word_terms` (word/bigram per column), `n_word`, `n_char`; `arrays()` gives
    everything needed to rebuild it (what the bundle stores).
    """

    def __init__(
        self,
        word_terms: Sequence[str],
        word_idf: np.ndarray,
        char_keys: np.ndarray,
        char_columns: np.ndarray,
        char_idf: np.ndarray,
        stem_terms: Sequence[str] = (),
        stem_idf: np.ndarray | None = None,
    ) -> None:
        self.word_terms = list(word_terms)
        self.stem_terms = list(stem_terms)
        self.n_stem = len(self.stem_terms)
        self._stem_index = {term: j for j, term in enumerate(self.stem_terms)}
        self._stem_idf = np.ascontiguousarray(
            stem_idf if stem_idf is not None else np.zeros(0), dtype=np.float32
        )
        self.n_word = len(self.word_terms)
        self.n_char = len(char_idf)
        self._word_index = {term: j for j, term in enumerate(self.word_terms)}
        self._word_idf = np.ascontiguousarray(word_idf, dtype=np.float32)
        order = np.argsort(char_keys, kind="stable")
        self._char_keys = np.ascontiguousarray(np.asarray(char_keys, dtype=np.uint64)[order])
        self._char_columns = np.ascontiguousarray(np.asarray(char_columns, dtype=np.int64)[order])
        self._char_idf = np.ascontiguousarray(char_idf, dtype=np.float32)
        if len(np.unique(self._char_keys)) != len(self._char_keys):
            raise ValueError("two char n-grams of the vocabulary share a key")
        self._token = re.compile(WORD_TOKEN_PATTERN)

    @classmethod
    def from_vocabularies(
        cls,
        word_vocabulary: dict[str, int],
        word_idf: np.ndarray,
        char_vocabulary: dict[str, int],
        char_idf: np.ndarray,
    ) -> TextVectorizer:
        """From fitted scikit-learn vocabularies (term → column) and idf vectors."""
        terms = [""] * len(word_vocabulary)
        for term, j in word_vocabulary.items():
            terms[j] = term
        grams = list(char_vocabulary)
        keys = np.array([_key_of(g) for g in grams], dtype=np.uint64)
        columns = np.array([char_vocabulary[g] for g in grams], dtype=np.int64)
        return cls(terms, word_idf, keys, columns, char_idf)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TextVectorizer:
        """Rebuild from `arrays()` output (as loaded from the bundle)."""
        return cls(
            arrays["word_terms"].tolist(),
            arrays["word_idf"],
            arrays["char_keys"],
            arrays["char_columns"],
            arrays["char_idf"],
            arrays["stem_terms"].tolist() if "stem_terms" in arrays else (),
            arrays.get("stem_idf"),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything that defines this vectorizer, as arrays for `np.savez`."""
        return {
            "word_terms": np.array(self.word_terms, dtype=np.str_),
            "word_idf": self._word_idf,
            "char_keys": self._char_keys,
            "char_columns": self._char_columns,
            "char_idf": self._char_idf,
            "stem_terms": np.array(self.stem_terms, dtype=np.str_),
            "stem_idf": self._stem_idf,
        }

    @property
    def n_features(self) -> int:
        """Columns of the output (word block, char block, stem block)."""
        return self.n_word + self.n_char + self.n_stem

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices int64, values float32) of one normalised text, columns ascending."""
        tokens = self._token.findall(text)
        word_cols, word_vals = self._count(self._word_index, self._word_idf, _with_bigrams(tokens))
        char_cols, char_vals = self._chars(text)
        parts_cols = [word_cols, char_cols + self.n_word]
        parts_vals = [word_vals, char_vals]
        if self.n_stem:
            stem_cols, stem_vals = self._count(
                self._stem_index, self._stem_idf, (t[:STEM_CHARS] for t in tokens)
            )
            parts_cols.append(stem_cols + self.n_word + self.n_char)
            parts_vals.append(stem_vals)
        return np.concatenate(parts_cols), np.concatenate(parts_vals)

    def transform(self, texts: Iterable[str]):
        """A `scipy.sparse.csr_matrix` (N × n_features, float32); training only (needs scipy)."""
        import scipy.sparse as sp

        indptr, indices, data = [0], [], []
        for text in texts:
            cols, vals = self.transform_one(text)
            indices.append(cols)
            data.append(vals)
            indptr.append(indptr[-1] + len(cols))
        n = len(indptr) - 1
        return sp.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0, np.float32),
                np.concatenate(indices) if indices else np.zeros(0, np.int64),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(n, self.n_features),
        )

    @staticmethod
    def _count(
        index: dict[str, int], idf: np.ndarray, terms: Iterable[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """L2-normalised tf-idf of the `terms` found in `index`, columns ascending."""
        get = index.get
        counts: dict[int, int] = {}
        for term in terms:
            j = get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        vals = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        order = np.argsort(cols)
        cols = cols[order]
        return cols, _l2(vals[order] * idf[cols])

    def _chars(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        keys = char_ngram_keys(text)
        if len(keys) == 0 or len(self._char_keys) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        at = np.searchsorted(self._char_keys, keys)
        at[at == len(self._char_keys)] = 0
        hit = self._char_keys[at] == keys
        cols, counts = np.unique(self._char_columns[at[hit]], return_counts=True)
        return cols, _l2(counts.astype(np.float32) * self._char_idf[cols])


def word_grams(text: str) -> list[str]:
    """The word unigrams and bigrams of a normalised text, as the vectorizer counts them."""
    return _with_bigrams(re.findall(WORD_TOKEN_PATTERN, text))


def stems(text: str) -> list[str]:
    """The word stems of a normalised text, as the vectorizer counts them."""
    return [t[:STEM_CHARS] for t in re.findall(WORD_TOKEN_PATTERN, text)]


def _with_bigrams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def _key_of(gram: str) -> np.uint64:
    keys = char_ngram_keys(gram, len(gram), len(gram))
    if len(keys) != 1:
        raise ValueError(f"char n-gram {gram!r}: length {len(gram)} outside {CHAR_NGRAMS}")
    return keys[0]


def _l2(values: np.ndarray) -> np.ndarray:
    norm = float(np.sqrt(np.dot(values, values)))
    return values / norm if norm > 0 else values
