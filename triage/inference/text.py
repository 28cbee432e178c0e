"""The text stage: what needs only a ticket's text, not its embedding.

Per ticket: the TF-IDF non-zeros (`triage.vectorizer`), the language on a short prefix,
the auto-reply entries' char TF-IDF scores, every class's word contributions (for the
explanation) and the heads' text half (the text-heads graph). The predictor runs this on a
helper thread while the encoder holds the calling one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from triage.contract import Language
from triage.features import normalize_text
from triage.inference.auto_reply import AutoReplyIndex

# A detected language outside the training set makes the text heads abstain only when
# the detector is this sure: short or mixed texts get low confidences and are scored.
LANGUAGE_MIN_CONFIDENCE = 0.8
# Characters of a ticket the language detector reads (its cost is linear in bytes).
# 160 characters identified all 2,000 demo tickets checked, as 300 did, in half the time.
LANGUAGE_PREFIX_CHARS = 160

# A stage timer: called with each stage's name as it ends (`OnnxTriager.profile`).
Lap = Callable[[str], None]


@dataclass
class TextFeatures:
    """One ticket's TF-IDF non-zeros: what the heads read, the word block, and what the
    auto-reply matcher reads."""

    cols: np.ndarray  # word and char blocks: what the heads read
    values: np.ndarray
    word_cols: np.ndarray
    word_values: np.ndarray
    char_cols: np.ndarray  # char and stem blocks, relative to the char block: the auto-reply's
    char_values: np.ndarray
    logits: np.ndarray | None = None  # the heads' text half (1 × outputs)
    word_contributions: np.ndarray | None = None  # word value × coefficient, every class


# What the text stage gives per call: each ticket's features (None: no text features in
# the bundle), each ticket's language, and each ticket's auto-reply TF-IDF scores (None:
# no matcher).
TextStageOutput = tuple[list[TextFeatures] | None, list[Language | None], list[np.ndarray] | None]


class TextStage:
    """The text half of a bundle: its vectorizer, the text-heads graph and the language check."""

    def __init__(
        self,
        vectorizer: Any,
        text_heads: Any,
        *,
        enabled: bool,
        max_chars: int,
        n_word: int,
        n_char: int,
        languages: set[str],
        auto_reply: AutoReplyIndex | None,
        coef_word: np.ndarray | None,
    ) -> None:
        """`vectorizer`: the bundle's TF-IDF (None: no text features); `text_heads`: the
        text-heads onnxruntime session; `languages`: the training set's (empty: no language
        check); `auto_reply`, `coef_word`: the parts that read the text, or None."""
        self.vectorizer = vectorizer
        self.enabled = enabled and vectorizer is not None
        self._text_heads = text_heads
        self._max_chars = max_chars
        self._n_word = n_word
        self._n_char = n_char
        self._languages = languages
        self._auto_reply = auto_reply
        self._coef_word = coef_word

    def run(self, raw: list[str], lap: Lap, contributions: bool = True) -> TextStageOutput:
        """Per ticket: TF-IDF non-zeros, language, the auto-reply entries' TF-IDF scores;
        `contributions=False` leaves the word contributions to the caller (the cascade
        computes them under the coefficients of the path that answers)."""
        if not self.enabled:
            return None, [None] * len(raw), None
        texts = [
            self._split(*self.vectorizer.transform_one(normalize_text(t, self._max_chars)))
            for t in raw
        ]
        lap("vectorize")
        languages = [self.language(t) for t in raw]
        lap("language")
        ar_text = None
        if self._auto_reply is not None:
            ar_text = [self._auto_reply.tfidf_scores(x.char_cols, x.char_values) for x in texts]
        lap("auto_reply")
        for x in texts:
            if contributions and self._coef_word is not None:
                # Every class's word contributions, so that after the encoder the explanation
                # only picks the predicted classes' columns (the gather from the coefficient
                # matrix is the costly part, and it needs only the text).
                x.word_contributions = x.word_values[:, None] * self._coef_word[x.word_cols]
            # One graph call per ticket: a batched call would sum each ticket's non-zeros
            # in an order that depends on its neighbours in the batch, and a ticket must get
            # the same numbers alone (/v1/triage) as in any batch (rescoring). ~30 µs a call.
            (x.logits,) = self._text_heads.run(
                None, {"tfidf_col": x.cols, "tfidf_weight": x.values[None, :]}
            )
        lap("heads_text")
        return texts, languages, ar_text

    def _split(self, cols: np.ndarray, values: np.ndarray) -> TextFeatures:
        """One ticket's TF-IDF non-zeros as its word and char blocks (columns ascending)."""
        k, h = np.searchsorted(cols, (self._n_word, self._n_word + self._n_char)).tolist()
        return TextFeatures(
            cols[:h], values[:h], cols[:k], values[:k], cols[k:] - self._n_word, values[k:]
        )

    def language(self, text: str) -> Language | None:
        """The ticket's language, unsupported when the detector is sure it is one the model
        never saw; None when the bundle records no training languages."""
        if not self._languages:
            return None
        from triage.language import UNDETERMINED, detect

        # The language is settled by the first few hundred characters; the detector's
        # cost is a Python loop over every byte.
        code, confidence = detect(text[:LANGUAGE_PREFIX_CHARS])
        supported = (
            code == UNDETERMINED or code in self._languages or confidence < LANGUAGE_MIN_CONFIDENCE
        )
        return Language.model_construct(code=code, confidence=confidence, supported=supported)
