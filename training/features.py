"""Training-side features: fitting the metadata spec and the TF-IDF vectorizer.

The vectorizer is a `FeatureUnion` of word 1–2-grams and char 2–5-grams over
`triage.features.normalize_text` output. Its settings are chosen so that skl2onnx converts
it exactly: `analyzer='char'` (not `char_wb`), raw term frequencies (skl2onnx's
`sublinear_tf` differs from scikit-learn's on repeated terms), lower-casing done before
the graph (locale-independent), and a word token pattern the ONNX tokenizer (RE2) can
reproduce with Unicode classes.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from triage.contract import Ticket
from triage.features import ExtraField, MetaSpec, canonical_value
from triage.ingest.uci import OUTCOME_KEYS as UCI_OUTCOME_KEYS

# Extra fields that record what happened *after* a ticket was opened (counters, closing
# codes, who resolved it): never features, or a head would learn the outcome from itself
# (the UCI log's reassignment_count alone gives SLA breach away), and a live ticket
# would not carry them anyway.
OUTCOME_EXTRA_KEYS: frozenset[str] = frozenset(UCI_OUTCOME_KEYS)

# scikit-learn's default pattern; `ONNX_WORD_TOKENEXP` is its RE2 twin (\w in Python is
# Unicode letters and digits plus "_").
WORD_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
ONNX_WORD_TOKENEXP = r"[\pL\pN_][\pL\pN_]+"


def make_vectorizer(
    word_max_features: int = 30_000, char_max_features: int = 60_000, min_df: int = 2
) -> FeatureUnion:
    """The text vectorizer: word (1–2) and char (2–5) TF-IDF, each block L2-normalised."""
    word = TfidfVectorizer(
        lowercase=False,
        ngram_range=(1, 2),
        token_pattern=WORD_TOKEN_PATTERN,
        min_df=min_df,
        max_features=word_max_features,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        lowercase=False,
        analyzer="char",
        ngram_range=(2, 5),
        min_df=min_df,
        max_features=char_max_features,
        dtype=np.float32,
    )
    return FeatureUnion([("word", word), ("char", char)])


def block_sizes(vectorizer: FeatureUnion) -> tuple[int, int]:
    """(word vocabulary size, char vocabulary size) of a fitted vectorizer."""
    word = vectorizer.transformer_list[0][1]
    char = vectorizer.transformer_list[1][1]
    return len(word.vocabulary_), len(char.vocabulary_)


def word_terms(vectorizer: FeatureUnion) -> list[str]:
    """The word block's terms in column order (for explanations)."""
    word = vectorizer.transformer_list[0][1]
    terms = [""] * len(word.vocabulary_)
    for term, j in word.vocabulary_.items():
        terms[j] = term
    return terms


def fit_meta_spec(
    tickets: list[Ticket],
    *,
    min_count: int = 5,
    max_values: int = 100,
    max_tags: int = 50,
    exclude: frozenset[str] = OUTCOME_EXTRA_KEYS,
) -> MetaSpec:
    """Choose the metadata columns from training tickets.

    A categorical value gets its own column when it occurs at least `min_count` times
    (at most `max_values` per field, the most frequent); rarer values share the field's
    "other" column, so ids with a long tail neither explode the width nor get dropped.
    Extra keys in `exclude` (outcomes, see `OUTCOME_EXTRA_KEYS`) never become columns.
    """
    n = len(tickets)
    channels = Counter(t.channel.value for t in tickets if t.channel is not None)
    tiers = Counter(v for t in tickets if (v := canonical_value(t.customer_tier)) is not None)
    tags = Counter(tag.lower() for t in tickets for tag in t.tags)
    with_time = sum(t.created_at is not None for t in tickets)

    def frequent(counter: Counter, limit: int) -> list[str]:
        return sorted(v for v, c in counter.most_common(limit) if c >= min_count)

    extras: list[ExtraField] = []
    values_by_key: dict[str, list] = {}
    for ticket in tickets:
        for key, value in ticket.extra.items():
            if key in exclude:
                continue
            values_by_key.setdefault(key, []).append(value)
    for key in sorted(values_by_key):
        values = [v for v in values_by_key[key] if v is not None]
        if len(values) < max(min_count, 0.01 * n):
            continue
        if all(isinstance(v, bool) for v in values):
            extras.append(ExtraField(key=key, kind="bool"))
            continue
        counts = Counter(canonical_value(v) for v in values)
        counts.pop(None, None)
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(values) and len(counts) > 20:
            mean = float(np.mean(numbers))
            std = float(np.std(numbers)) or 1.0
            # Integer columns with many values are often ids: keep the frequent ones too.
            onehot = frequent(counts, max_values) if all(float(x).is_integer() for x in numbers) else []
            if not math.isfinite(mean) or not math.isfinite(std):
                continue
            extras.append(ExtraField(key=key, kind="numeric", values=onehot, mean=mean, std=std))
            continue
        kept = frequent(counts, max_values)
        if len(counts) >= 2:
            extras.append(ExtraField(key=key, kind="categorical", values=kept))
    return MetaSpec(
        channels=frequent(channels, 20),
        tiers=frequent(tiers, 20),
        tags=frequent(tags, max_tags),
        time=with_time >= 0.5 * n,
        extras=extras,
    )
