"""Language detection for tickets: an ISO 639-1 code and a confidence, fast enough to serve.

Backed by `py3langid` (a numpy naive-Bayes over byte n-grams that ships its own model,
about 130 languages, no network). We keep its full language set rather than a subset: real
desks receive Spanish, French or Ukrainian tickets next to the ones the models were
trained on, and a subset would force those onto a wrong "supported" language with a
high confidence. The model loads lazily, once per process; classification only reads
it, so concurrent calls need no lock.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from py3langid.langid import LanguageIdentifier

log = logging.getLogger(__name__)

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

# Where the unpacked model is kept unless the composition root says otherwise
# (`Settings.language_cache_dir` defaults to this folder).
DEFAULT_CACHE_DIR = Path(".cache/language")

_lock = threading.Lock()
_identifier: LanguageIdentifier | None = None
_cache_dir: Path | None = DEFAULT_CACHE_DIR


def configure(cache_dir: Path | None) -> None:
    """Keep the unpacked model in `cache_dir` (None: unpack it at every start-up).

    The composition root (the CLI, `create_app`) passes `settings.language_cache_dir`.
    The model is one per process, so this applies to the next load; a model already
    loaded stays as it is.
    """
    global _cache_dir
    _cache_dir = Path(cache_dir) if cache_dir is not None else None


def _model() -> LanguageIdentifier:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                _identifier = _load_identifier()
    return _identifier


def _load_identifier() -> LanguageIdentifier:
    # Imported here: py3langid's model is ~4.5 MB of LZMA (about a second to unpack),
    # which `triage --help` and importers should not pay for.
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    cache_root = _cache_dir
    if cache_root is not None:
        try:
            return _from_cache(cache_root, MODEL_DIR / MODEL_FILE)
        except Exception as exc:  # noqa: BLE001 - any cache problem falls back to the shipped file
            log.info("language model cache unusable (%s); unpacking the shipped model", exc)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _from_cache(root: Path, source: Path) -> LanguageIdentifier:
    """The shipped model, unpacked once into `root` as plain .npy files.

    Keyed by the compressed file's sha256, so an upgraded py3langid never reads a stale
    copy. The big naive-Bayes table is memory-mapped: a worker only pages in the rows
    its tickets touch, and workers on one host share those pages.
    """
    import numpy as np
    from py3langid.langid import LanguageIdentifier
    from py3langid.modelio import _to_array

    from triage.files import sha256_file

    digest = sha256_file(source)[:16]
    folder = root / f"py3langid-{digest}"
    names = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
    if not all((folder / f"{n}.npy").is_file() for n in names):
        import lzma
        import shutil
        import tempfile

        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".py3langid-", dir=root))
        try:
            with lzma.open(source) as fh, np.load(fh, allow_pickle=False) as data:
                for n in names:
                    np.save(staging / f"{n}.npy", data[n], allow_pickle=False)
            try:
                staging.rename(folder)  # atomic: a concurrent worker either wins or finds it
            except OSError:
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    arrays = {
        n: np.load(folder / f"{n}.npy", allow_pickle=False, mmap_mode="r" if n == "ptc" else None)
        for n in names
    }
    return LanguageIdentifier(
        arrays["ptc"],
        np.asarray(arrays["pc"]),
        arrays["classes"].tolist(),
        _to_array(arrays["nextmove"]),
        arrays["out_feat"].tolist(),
        norm_probs=True,
        tk_row=_to_array(arrays["nextmove_row"]),
    )


def load() -> None:
    """Load the model now (at service start-up) instead of on the first `detect` call."""
    _model()


def preload() -> None:
    """Start loading the model on a background thread and return at once.

    Decompressing the model is mostly LZMA work, which releases the GIL: started before
    the bundle's graphs are built, it finishes while they load instead of after them.
    `load` and `detect` wait for it (they take the same lock).
    """
    if _identifier is None:
        threading.Thread(target=_model, name="language-model", daemon=True).start()


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
