"""Language detection for tickets: an ISO 639-1 code and a confidence, fast enough to serve.

Backed by `py3langid` (a numpy naive-Bayes over byte n-grams that ships its own model,
about 130 languages, no network). We keep its full language set rather than a subset: real
desks receive Spanish, French or Ukrainian tickets next to the ones the models were
trained on, and a subset would force those onto a wrong "supported" language with a
high confidence. The model loads lazily, once per process; classification only reads
it, so concurrent calls need no lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from py3langid.langid import LanguageIdentifier

UNDETERMINED = "und"

# Below this many letters there is no signal worth a guess ("ok", "??", "#123").
MIN_LETTERS = 3

# The language of a ticket is settled long before 4,000 characters; scoring cost is
# linear in length, so a 20,000-character paste would otherwise cost ~10 ms.
MAX_CHARS = 4_000

# py3langid labels that are varieties of an ISO 639-1 language, mapped onto its code.
# Languages without a two-letter code (e.g. "ace", "pcm") keep their ISO 639-3 code.
_ALIASES: dict[str, str] = {
    "nb": "no",
    "nn": "no",
    "ary": "ar",
    "arz": "ar",
    "uzs": "uz",
    "wuu": "zh",
    "yue": "zh",
    "gug": "gn",
    "hbo": "he",
    "grc": "el",
    "zxx": UNDETERMINED,  # "no linguistic content"
}

_lock = threading.Lock()
_identifier: LanguageIdentifier | None = None


def _model() -> LanguageIdentifier:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                # Imported here: loading decompresses a ~4.5 MB model (about a second),
                # which `triage --help` and importers should not pay for.
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def load() -> None:
    """Load the model now (at service start-up) instead of on the first `detect` call."""
    _model()


def _letters(text: str, enough: int) -> int:
    count = 0
    for char in text:
        if char.isalpha():
            count += 1
            if count >= enough:
                break
    return count


def detect(text: str) -> tuple[str, float]:
    """The language of `text` as (ISO 639-1 code, probability in [0, 1]).

    Empty text, or text with fewer than `MIN_LETTERS` letters, gives ("und", 0.0).
    The probability is the model's normalized posterior for the winning language, so
    short or mixed-language text comes back with a low confidence rather than a guess
    presented as certain.
    """
    if not text or _letters(text, MIN_LETTERS) < MIN_LETTERS:
        return UNDETERMINED, 0.0
    code, probability = _model().classify(text[:MAX_CHARS])
    code = _ALIASES.get(code, code)
    if code == UNDETERMINED:
        return UNDETERMINED, 0.0
    return code, min(1.0, max(0.0, float(probability)))


def languages() -> list[str]:
    """Every code `detect` can return (besides "und")."""
    return sorted({_ALIASES.get(code, code) for code in _model().labels} - {UNDETERMINED})
