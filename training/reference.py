"""The bundle's reference distributions for drift monitoring (`triage.health.drift`).

Called once from `training.export.write_bundle`, after the bundle is complete: the
bundle itself scores a sample of its training tickets, so that the reference's
predicted labels and confidences come from the very code path the service runs, and
`reference.json` joins the manifest's file list.

The export passes the tickets held out of fitting (the test split): tickets the model
saw in fitting would show higher confidences and fewer abstentions than new tickets of
the same kind, and the monitor would read that as drift on day one. The sample is the
newest of them, the closest to what the service will see first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from triage.bundle import MANIFEST, load_bundle
from triage.contract import Ticket
from triage.files import sha256_file, write_json
from triage.health.drift import (
    REFERENCE_FILE,
    Reference,
    count_signals,
    read_vocabulary,
    ticket_signals,
    write_reference,
)
from triage.predictor import OnnxTriager

# Enough for stable shares of a few dozen buckets per signal, scored in seconds.
REFERENCE_SAMPLE = 2_000
# Texts the bundle's encoder embeds again to check that training's vectors are its own.
KNOWN_VECTORS_CHECK = 4


# Extras that are links, not descriptions of the request (the desk strips them at intake).
SKIPPED_EXTRAS = frozenset({"follow_up_of"})


def categorical_extras(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The `Ticket.extra` keys the bundle treats as categorical (its structured fields),
    with the values it knows."""
    extras = manifest.get("meta", {}).get("spec", {}).get("extras", [])
    return {
        e["key"]: [str(v) for v in e.get("values", [])]
        for e in extras
        if e.get("kind") in ("categorical", "bool") and e["key"] not in SKIPPED_EXTRAS
    }


class KnownVectors:
    """The bundle's encoder, answering from the vectors training computed with it.

    Training embedded every ticket with the graph and window the bundle ships, one text
    at a time as serving does (`training.embedding_cache`), so the reference needs no
    second pass through the transformer (most of the export's time on the demo desk);
    every other stage of the service's path runs as it is. A text it does not know goes
    to the encoder.
    """

    def __init__(self, encoder: Any, vectors: dict[str, np.ndarray]) -> None:
        self._encoder = encoder
        self._vectors = vectors

    @classmethod
    def checked(cls, encoder: Any, vectors: dict[str, np.ndarray], texts: list[str]) -> Any:
        """`KnownVectors` when the encoder gives training's vectors for a few of `texts`
        (to float32 rounding), else the encoder itself."""
        sample = [t for t in texts if t in vectors][:KNOWN_VECTORS_CHECK]
        if not sample:
            return encoder
        fresh = encoder.encode(sample, batch_size=1)
        known = np.stack([vectors[t] for t in sample])
        if fresh.shape != known.shape or not np.allclose(fresh, known, rtol=0, atol=1e-5):
            return encoder
        return cls(encoder, vectors)

    def encode_one(self, text: str) -> np.ndarray:
        """As `OnnxEncoder.encode_one`."""
        known = self._vectors.get(text)
        return self._encoder.encode_one(text) if known is None else known.copy()

    def encode(self, texts: list[str], batch_size: int = 8) -> np.ndarray:
        """As `OnnxEncoder.encode`; training's vectors are batch-1 ones, so only then."""
        texts = list(texts)
        if batch_size != 1 or not texts:
            return self._encoder.encode(texts, batch_size=batch_size)
        return np.stack([self.encode_one(t) for t in texts])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)


def add_reference(
    bundle_dir: Path,
    manifest: dict[str, Any],
    tickets: list[Ticket],
    sample: int = REFERENCE_SAMPLE,
    vectors: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Score the newest `sample` of `tickets` with the bundle at `bundle_dir`, write its
    `reference.json`, list it in the manifest (rewritten) and return the manifest.

    `vectors`: the encoder's vector of each ticket text, as training computed them
    (`KnownVectors`).
    """
    chosen = sorted(tickets, key=lambda t: t.created_at.timestamp() if t.created_at else 0.0)[
        -sample:
    ]
    bundle = load_bundle(bundle_dir)
    if vectors and bundle.encoder is not None:
        bundle.encoder = KnownVectors.checked(bundle.encoder, vectors, [t.text for t in chosen])
    results = (
        OnnxTriager(bundle, warm_up=False, details=False).triage_batch(chosen) if chosen else []
    )
    heads = [h["name"] for h in manifest["heads"]]
    primary = str(manifest.get("primary_head") or heads[0])
    extras = categorical_extras(manifest)
    vocabulary = read_vocabulary(bundle_dir)
    samples = [
        ticket_signals(
            ticket,
            result.model_dump(mode="json", exclude={"explanation"}),
            heads=heads,
            primary=primary,
            extras=extras,
            vocabulary=vocabulary,
        )
        for ticket, result in zip(chosen, results, strict=True)
    ]
    size, counts = count_signals(samples)
    reference = Reference(
        model_version=str(manifest["model_version"]),
        size=size,
        heads=heads,
        primary=primary,
        extras=extras,
        counts=counts,
    )
    write_reference(bundle_dir, reference)
    manifest = dict(manifest)
    manifest["files"] = {
        **manifest["files"],
        REFERENCE_FILE: sha256_file(bundle_dir / REFERENCE_FILE),
    }
    write_json(bundle_dir / MANIFEST, manifest)
    return manifest
