"""The drift reference: the finished bundle scores held-out tickets, its encoder answering
from the vectors training computed (`training.reference.KnownVectors`)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from training.reference import KnownVectors, add_reference
from triage.bundle import MANIFEST, load_bundle
from triage.dataset import iter_tickets


@pytest.mark.slow  # reads the trained demo bundle
def test_reference_from_training_vectors_is_the_one_the_encoder_gives(
    demo_training, demo_tickets_file, tmp_path
) -> None:
    tickets = list(iter_tickets(demo_tickets_file))[-60:]
    encoder = load_bundle(demo_training.bundle_dir).encoder
    texts = [t.text for t in tickets]
    # What training's embedding cache holds: the bundle's encoder, one text at a time.
    vectors = dict(zip(texts, encoder.encode(texts, batch_size=1), strict=True))

    known = KnownVectors.checked(encoder, vectors, texts)
    assert isinstance(known, KnownVectors)
    np.testing.assert_array_equal(
        known.encode(texts[:3], batch_size=1), encoder.encode(texts[:3], batch_size=1)
    )
    unknown = "a text training never embedded"
    np.testing.assert_array_equal(known.encode_one(unknown), encoder.encode_one(unknown))
    # Vectors of another graph or window are not used.
    other = {t: v[::-1].copy() for t, v in vectors.items()}
    assert KnownVectors.checked(encoder, other, texts) is encoder

    written = {}
    for name, given in (("fresh", None), ("known", vectors)):
        bundle = tmp_path / name
        shutil.copytree(demo_training.bundle_dir, bundle)
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        add_reference(bundle, manifest, tickets, vectors=given)
        written[name] = json.loads((bundle / "reference.json").read_text(encoding="utf-8"))
    assert written["known"] == written["fresh"]
