"""The encoder window at scale: judged on a stratified sample of the training part, the
decision cached by the fingerprint of what it was judged on."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from training.encoder_selection import Judge
from training.pipeline import Corpus, TrainConfig
from training.sampling import MIN_PER_CLASS, stratified_sample
from training.window_decision import DecisionStore, decision_key


def test_a_large_training_part_is_sampled_per_class_and_a_small_one_kept_whole() -> None:
    labels = np.array(["a"] * 9_000 + ["b"] * 900 + ["c"] * 2 + [None] * 98, dtype=object)
    rows = np.arange(9_902)  # the labelled ones
    sample = stratified_sample(rows, labels, 1_000, seed=5)
    counts = Counter(labels[sample].tolist())
    assert abs(len(sample) - 1_000) <= 3 and len(set(sample.tolist())) == len(sample)
    assert set(sample.tolist()) <= set(rows.tolist()) and list(sample) == sorted(sample)
    # Each class in proportion (9,000 : 900 of 9,902 → about 909 : 91); a class too small
    # for its share keeps what it has, up to MIN_PER_CLASS.
    assert abs(counts["a"] - 909) <= 1 and abs(counts["b"] - 91) <= 1
    assert counts["c"] == min(2, MIN_PER_CLASS)
    np.testing.assert_array_equal(sample, stratified_sample(rows, labels, 1_000, seed=5))
    assert not np.array_equal(sample, stratified_sample(rows, labels, 1_000, seed=6))
    small = np.array([7, 3, 5])
    np.testing.assert_array_equal(stratified_sample(small, labels, 1_000, seed=5), [3, 5, 7])


def test_the_sample_judge_fits_only_the_sampled_tickets() -> None:
    n = 600
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, n)
    corpus = Corpus(
        tickets=[None] * n,
        articles=[],
        texts=[f"t{i}" for i in range(n)],
        x_text=sp.random(n, 50, density=0.1, format="csr", random_state=1),
        x_meta=rng.normal(size=(n, 2)).astype(np.float32),
    )
    labels = [f"c{v}" for v in y]
    judge = Judge("category", labels, corpus, np.arange(n), TrainConfig(encoder=None, n_jobs=1))
    rows = np.array([4, 10, 11, 300, 599])
    small = judge.on_sample(rows)
    assert small.n_tickets == 5 and list(small.rows) == [0, 1, 2, 3, 4]
    assert small.labels.tolist() == [labels[i] for i in rows]
    assert (small.corpus.x_text != corpus.x_text[rows]).nnz == 0
    np.testing.assert_array_equal(small.corpus.x_meta, corpus.x_meta[rows])
    assert small.corpus.texts == [f"t{i}" for i in rows]


def test_the_decision_key_changes_with_any_input_and_the_store_survives_bad_files(
    tmp_path: Path,
) -> None:
    x = sp.csr_matrix(np.eye(4, dtype=np.float32))
    parts = {"encoder": "abc", "seed": 42}
    arrays = [np.array(["a", "b", "a", None], dtype=object), x, np.zeros((4, 2)), ["t1", "t2"]]
    key = decision_key(parts, arrays)
    assert key == decision_key(dict(parts), list(arrays))
    assert key != decision_key({**parts, "seed": 43}, arrays)
    assert key != decision_key(parts, [np.array(["a", "b", "b", None], dtype=object), *arrays[1:]])
    x2 = x.copy()
    x2.data[0] = 0.5  # a vocabulary or weighting change moves one value
    assert key != decision_key(parts, [arrays[0], x2, *arrays[2:]])
    assert key != decision_key(parts, [*arrays[:3], ["t1", "t2 "]])

    store = DecisionStore(tmp_path / "windows")
    assert store.load(key) is None
    store.save(key, {"chosen": 64, "oof": {"64": 0.5}})
    assert store.load(key) == {"chosen": 64, "oof": {"64": 0.5}}
    (tmp_path / "windows" / f"{key}.json").write_text("{not json")
    assert store.load(key) is None  # decided again, never a crash
    (tmp_path / "windows" / f"{key}.json").write_text(json.dumps({"chosen": "64"}))
    assert store.load(key) is None


# -- the stage in `train`, with a tiny random encoder --------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="the tiny encoder is written with torch")
    from tests.training.tiny_encoder import write_tiny_sentence_transformer

    return write_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny") / "model")


def _long_and_short_tickets(n: int) -> list:
    """Tickets whose category is in the text; every third one runs to ~150 tokens."""
    from triage.contract import Ticket

    words = {
        "access": "password login account locked vpn reset token",
        "hardware": "laptop screen keyboard printer dock battery charger",
        "storage": "disk quota share folder backup drive space",
    }
    names = list(words)
    rng = np.random.default_rng(11)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        label = names[rng.integers(0, 3)]
        body = rng.choice(words[label].split(), size=6).tolist() + ["case", str(i)]
        if i % 3 == 0:
            body += rng.choice(["please", "again", "office", "since", "monday"], size=140).tolist()
        out.append(
            Ticket(
                id=f"T{i}",
                created_at=start + timedelta(hours=5 * i),
                subject=" ".join(body[:2]),
                body=" ".join(body[2:]),
                category=label,
            )
        )
    return out


def _stored_keys(cache: Path, fingerprint: str) -> int:
    """Vectors the embedding cache holds for the encoder with `fingerprint`."""
    folders = [f for f in cache.iterdir() if f.name.endswith(fingerprint[:24])]
    total = 0
    for folder in folders:
        for shard in folder.glob("shard-*.npz"):
            with np.load(shard) as npz:
                total += len(npz["keys"])
    return total


@pytest.mark.slow
def test_train_judges_the_window_on_a_sample_and_reuses_the_decision(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import window_decision
    from training.pipeline import train
    from triage.dataset import write_tickets
    from triage.encoder import OnnxEncoder
    from triage_cli.train import encoder_lines

    monkeypatch.setattr(window_decision, "SAMPLE_MAX", 90)
    data = tmp_path / "desk.parquet"
    write_tickets(data, _long_and_short_tickets(300))
    caches = {
        "embedding_cache_dir": tmp_path / "embeddings",
        "encoder_cache_dir": tmp_path / "encoders",
    }
    config = TrainConfig(encoder=str(tiny), split="stratified", n_jobs=1, cascade=False, **caches)
    first = train(data, tmp_path / "one", config)
    length = first.encoder["length"]
    n_train = first.heads["category"].n_train
    assert length["sample"]["of"] == n_train == 240
    assert abs(length["sample"]["tickets"] - 90) <= 3 and length["from_cache"] is False
    chosen = length["chosen"]
    assert first.encoder["max_tokens"] == chosen

    # The windows that lost read only the sample's long tickets; the chosen one every
    # long ticket of the desk; the longest every short ticket (cached as before).
    def stored(n: int) -> int:
        fingerprint = OnnxEncoder(tmp_path / "one" / "encoder", max_tokens=n).fingerprint
        return _stored_keys(tmp_path / "embeddings", fingerprint)

    long_sampled = round(length["share_over"]["64"] * length["sample"]["tickets"])
    for n in (64, 128, 256):
        if n != chosen and n != 256:
            assert stored(n) == long_sampled
    if chosen < 256:
        assert stored(chosen) == 100  # every long ticket of the 300
        assert stored(256) == 200 + long_sampled

    second = train(data, tmp_path / "two", TrainConfig(**{**vars(config)}))
    again = second.encoder["length"]
    assert again["from_cache"] is True and again["chosen"] == chosen
    assert again["oof"] == length["oof"] and again["key"] == length["key"]
    (line,) = [x for x in encoder_lines(second) if x.startswith("encoder window:")]
    assert f"of {n_train} training tickets" in line and "decision reused from the cache" in line
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["encoder"]["max_tokens"] == chosen
    np.testing.assert_allclose(
        second.heads["category"].proba, first.heads["category"].proba, atol=1e-6
    )

    # Other labels: another decision.
    tickets = _long_and_short_tickets(300)
    relabelled = [
        t.model_copy(update={"category": "hardware"}) if i % 7 == 0 else t
        for i, t in enumerate(tickets)
    ]
    write_tickets(data, relabelled)
    third = train(data, tmp_path / "three", config)
    assert third.encoder["length"]["from_cache"] is False
