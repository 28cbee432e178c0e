"""The cascade (issue 17) end to end: `triage train` with a cheap stage, the bundle's
`cascade` section, and the predictor choosing the cheap or the full path per ticket.

A real bundle: the demo desk trained with a tiny random sentence-transformers model
(tests/training/tiny_encoder.py), its static twin distilled by model2vec, so that every
code path is the real one in well under a minute.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("model2vec", reason="distilling the static encoder needs the train extra")
pytestmark = pytest.mark.slow

from tests.training.tiny_encoder import write_tiny_sentence_transformer  # noqa: E402
from triage.contract import Ticket  # noqa: E402
from triage.dataset import iter_tickets  # noqa: E402
from triage.predictor import OnnxTriager  # noqa: E402


@pytest.fixture(scope="module")
def cascade_training(tmp_path_factory: pytest.TempPathFactory):
    from training.pipeline import TrainConfig, train
    from triage.demo import write_demo

    work = tmp_path_factory.mktemp("cascade")
    data = work / "demo.parquet"
    write_demo(data, tickets=900, seed=3)
    tiny = write_tiny_sentence_transformer(work / "tiny")
    config = TrainConfig(
        encoder=str(tiny),
        embedding_cache_dir=work / "embeddings",
        encoder_cache_dir=work / "encoders",
        bundle_name="cascade",
        cascade=True,
        model="svm",  # one stacked recipe: the test is about the cascade, not the search
    )
    return train(data, work / "bundle", config), data


@pytest.fixture(scope="module")
def bundle(cascade_training) -> Path:
    return cascade_training[0].bundle_dir


@pytest.fixture(scope="module")
def tickets(cascade_training) -> list[Ticket]:
    return list(iter_tickets(cascade_training[1]))[-64:]


def _with_thresholds(bundle: Path, into: Path, threshold: float | None) -> Path:
    """A copy of `bundle` whose every cascade threshold is `threshold`."""
    shutil.copytree(bundle, into)
    manifest = json.loads((into / "manifest.json").read_text())
    for head in manifest["cascade"]["heads"]:
        head["cascade_threshold"] = threshold
        if threshold is None:
            # A head whose winner reads no embedding does not gate (its twin is itself);
            # "never" makes every head hold every ticket back.
            head["gating"] = True
    (into / "manifest.json").write_text(json.dumps(manifest))
    return into


def _comparable(result) -> dict:
    data = result.model_dump()
    data.pop("timing_ms")
    data.pop("model_version")
    return data


def test_the_manifest_records_thresholds_the_predictor_reads(cascade_training, bundle) -> None:
    report = cascade_training[0]
    manifest = json.loads((bundle / "manifest.json").read_text())
    section = manifest["cascade"]
    assert section["encoder"]["folder"] == "cascade/encoder"
    assert {"cascade/heads.onnx", "cascade/encoder/model.onnx"} <= set(manifest["files"])
    assert [h["name"] for h in section["heads"]] == [h["name"] for h in manifest["heads"]]
    for part in ("validation", "test"):
        assert 0.0 <= section[part]["cheap_share"] <= 1.0
        assert set(section[part]["heads"]) == set(report.heads)
    # The thresholds chosen on validation kept every head within the tolerance there
    # (head by head; serving's joint rule only moves tickets to the full path).
    triager = OnnxTriager.from_path(bundle, warm_up=False)
    gates = triager._cheap._gates
    gating = [h for h in section["heads"] if h["gating"]]
    assert len(gates) == len(gating)
    for (_, _, served), head in zip(gates, gating, strict=True):
        chosen = head["cascade_threshold"]
        assert served == (math.inf if chosen is None else chosen)
        if chosen is not None:
            loss = head["cascade_macro_f1_full"] - head["cascade_macro_f1_cascade"]
            assert loss <= section["tolerance"] + 1e-9
    assert report.cascade and report.cascade[0].startswith("cascade: static encoder")


def test_a_ticket_alone_and_in_a_batch_take_the_same_path_and_numbers(bundle, tickets) -> None:
    triager = OnnxTriager.from_path(bundle)
    alone = [triager.triage(t) for t in tickets[:32]]
    batch = triager.triage_batch(tickets[:32])
    assert [r.path for r in alone] == [r.path for r in batch]
    assert {r.path for r in alone} <= {"cheap", "full"}
    for a, b in zip(alone, batch, strict=True):
        assert _comparable(a) == _comparable(b)


def test_cheap_when_confident_full_otherwise(bundle, tickets, tmp_path: Path) -> None:
    """With the chosen thresholds each ticket's answer is the all-cheap bundle's when it
    took the cheap path and the transformer's when it took the full one."""
    every_cheap = OnnxTriager.from_path(_with_thresholds(bundle, tmp_path / "cheap", 0.0))
    transformer = OnnxTriager.from_path(bundle, cascade=False)
    never = OnnxTriager.from_path(_with_thresholds(bundle, tmp_path / "never", None))
    cascade = OnnxTriager.from_path(bundle)
    paths = []
    for ticket in tickets:
        result = cascade.triage(ticket)
        paths.append(result.path)
        reference = every_cheap if result.path == "cheap" else transformer
        expected = _comparable(reference.triage(ticket))
        expected["path"] = result.path
        assert _comparable(result) == expected
        assert never.triage(ticket).path == "full"
        assert every_cheap.triage(ticket).path == "cheap"
        assert transformer.triage(ticket).path is None
    # The cheap path explains itself and finds similar tickets too.
    cheap_result = every_cheap.triage(tickets[0])
    assert cheap_result.explanation.terms and cheap_result.explanation.similar_tickets


def test_the_cheap_path_is_taken_exactly_where_every_gate_clears(bundle, tickets) -> None:
    triager = OnnxTriager.from_path(bundle)
    cheap = triager._cheap
    raw = [t.text for t in tickets]
    texts, _, _ = triager._text.run(raw, lambda stage: None)
    dense = np.hstack([cheap.embed(raw), triager._meta.matrix(tickets)])
    logits = np.vstack(
        [cheap.heads.logits(dense[i : i + 1], cheap.text_logits(x)) for i, x in enumerate(texts)]
    )
    proba = cheap.heads.calibrate(logits)
    expected = np.ones(len(tickets), dtype=bool)
    for start, stop, threshold in cheap._gates:
        expected &= proba[:, start:stop].max(axis=1) >= threshold
    got = np.array([triager.triage(t).path == "cheap" for t in tickets])
    assert (got == expected).all()


def test_no_cascade_leaves_the_folder_out(cascade_training, tmp_path: Path) -> None:
    from training.pipeline import TrainConfig, train

    report, data = cascade_training
    config = TrainConfig(
        encoder=report.params["encoder"],
        embedding_cache_dir=Path(report.params["embedding_cache_dir"]),
        encoder_cache_dir=Path(report.params["encoder_cache_dir"]),
        cascade=False,
    )
    out = train(data, tmp_path / "plain", config)
    assert out.manifest["cascade"] is None and out.cascade is None
    assert not (out.bundle_dir / "cascade").exists()
    assert OnnxTriager.from_path(out.bundle_dir).triage(Ticket(id="x", body="vpn")).path is None
