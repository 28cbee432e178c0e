"""MLflow tracking and publishing into a real local store (one SQLite store per module)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import plots
from training.pipeline import HeadReport, TrainingReport
from training.tracking import artifact_location, flatten_metrics, publish_bundle
from triage.bundle import FORMAT_VERSION
from triage.files import sha256_file
from triage.registry import CHAMPION, ModelRegistry
from triage.settings import Settings

pytestmark = pytest.mark.slow  # the first MLflow call creates its database: ~10 s


def write_bundle(root: Path, version: str, category_f1: float) -> Path:
    """A bundle directory in the bundle format: manifest with per-head metrics and a payload."""
    bundle = root / version
    bundle.mkdir(parents=True)
    (bundle / "heads").mkdir()
    (bundle / "heads" / "category.onnx").write_bytes(b"\x08\x01" * 64)
    metrics = {
        "category": {
            "accuracy": category_f1 + 0.05,
            "macro_f1": category_f1,
            "coverage_at_target_precision": 0.61,
            "brier": 0.2,
            "ece": 0.03,
            "baselines": {
                "majority": {"accuracy": 0.4, "macro_f1": 0.1},
                "tfidf_linearsvc": {"accuracy": 0.8, "macro_f1": 0.7},
            },
        },
        "auto_reply": {"recall_at_1": 0.52, "recall_at_5": 0.83},
    }
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_version": version,
        "created_at": "2026-11-22T00:00:00+00:00",
        "metrics": metrics,
        "heads": {"category": {"labels": ["a", "b"]}},
        "meta": {},
        # promote verifies every file of a bundle before moving an alias
        "files": {"heads/category.onnx": sha256_file(bundle / "heads" / "category.onnx")},
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return bundle


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow SQLite store for the module (creating its tables is the slow part)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def plot_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The five evaluation plots drawn from a small synthetic evaluation split."""
    out = tmp_path_factory.mktemp("plots")
    rng = np.random.default_rng(7)
    classes = ["billing", "login", "outage", "other"]
    y = rng.integers(0, 4, 300)
    proba = rng.dirichlet(np.ones(4), 300)
    proba[np.arange(300), y] += rng.random(300)
    proba /= proba.sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    risk = rng.random(300) < 0.3
    return [
        plots.confusion_matrix(y, pred, classes, out / "category_confusion.png"),
        plots.reliability_diagram(proba, y, out / "category_reliability.png"),
        plots.precision_coverage_curve(
            proba, y, out / "category_coverage.png", target_precision=0.9, coverage_at_target=0.4
        ),
        plots.per_class_f1_chart(
            y,
            {"model": pred, "majority": np.zeros(300, dtype=int)},
            classes,
            out / "category_f1.png",
        ),
        plots.roc_curve_chart(risk * 0.4 + rng.random(300), risk, out / "escalation_roc.png"),
    ]


def settings_for(tmp_path: Path, store: str, name: str) -> Settings:
    return Settings(
        _env_file=None,
        models_dir=tmp_path / "models",
        mlflow_tracking_uri=store,
        mlflow_registry_name=name,
        experiment=f"exp-{name}",
    )


def test_plots_are_real_pngs(plot_files: list[Path]) -> None:
    for path in plot_files:
        with Image.open(path) as image:
            assert image.format == "PNG"
            width, height = image.size
            assert width >= 300 and height >= 250, path.name
            # Not a blank canvas: a real chart has many distinct colours.
            assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20


def test_roc_points_match_the_rank_auc() -> None:
    rng = np.random.default_rng(3)
    positive = rng.random(400) < 0.3
    scores = np.round(positive * 0.3 + rng.random(400), 1)  # many ties
    fpr, tpr = plots.roc_points(scores, positive)
    from training.evaluation import roc_auc

    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(scores, positive))
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)


def test_flatten_metrics_keeps_numeric_leaves() -> None:
    flat = flatten_metrics(
        {
            "category": {"macro_f1": 0.8, "baselines": {"majority": {"accuracy": 0.4}}},
            "ok": True,
            "nan": float("nan"),
            "name": "x",
        }
    )
    assert flat == {"category.macro_f1": 0.8, "category.baselines.majority.accuracy": 0.4}


def test_artifacts_live_beside_a_sqlite_store(tmp_path: Path) -> None:
    expected = (tmp_path / "mlruns" / "desk_A").as_uri()
    assert artifact_location(f"sqlite:///{tmp_path}/m.db", "desk A") == expected
    assert artifact_location("http://mlflow:5000", "desk A") is None


def test_publish_tracks_registers_and_moves_the_champion_alias(
    tmp_path: Path, store: str, plot_files: list[Path]
) -> None:
    from mlflow import MlflowClient

    settings = settings_for(tmp_path, store, "triage-publish")
    models = settings.models_dir
    first = publish_bundle(
        write_bundle(models, "v1", 0.80),
        settings,
        params={"encoder": "all-MiniLM-L6-v2", "seed": 42, "heads": ["category"]},
        plots=plot_files,
    )
    assert first.warnings == [] and first.promoted and first.tracked is not None

    client = MlflowClient(tracking_uri=store, registry_uri=store)
    run = client.get_run(first.tracked.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["model_version"] == "v1"
    assert run.data.params["seed"] == "42" and run.data.params["heads"] == '["category"]'
    assert run.data.metrics["category.macro_f1"] == pytest.approx(0.80)
    assert run.data.metrics["category.baselines.tfidf_linearsvc.macro_f1"] == pytest.approx(0.7)
    assert run.data.metrics["auto_reply.recall_at_5"] == pytest.approx(0.83)
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"manifest.json", "plots", "bundle"} <= top
    assert {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots")} == {
        p.name for p in plot_files
    }
    # The bundle directory, payload included, is the model version's source.
    assert {a.path for a in client.list_artifacts(run.info.run_id, "bundle/heads")} == {
        "bundle/heads/category.onnx"
    }
    # Artifacts went beside the store, not into the working directory.
    assert Path(store.removeprefix("sqlite:///")).parent.joinpath("mlruns").is_dir()

    champion = client.get_model_version_by_alias("triage-publish", CHAMPION)
    assert str(champion.version) == first.tracked.registered_version
    assert champion.tags["model_version"] == "v1"
    assert champion.run_id == first.tracked.run_id

    # More than one point worse: registered and tracked, but the champion stays.
    worse = publish_bundle(write_bundle(models, "v2", 0.78), settings)
    assert worse.tracked is not None and not worse.promoted
    assert "0.7800" in worse.decision.message and "0.8000" in worse.decision.message
    assert ModelRegistry(models).current() == "v1"
    assert client.get_model_version_by_alias("triage-publish", CHAMPION).version == champion.version

    # Within one point: promoted in both registries.
    better = publish_bundle(write_bundle(models, "v3", 0.795), settings)
    assert better.promoted and better.warnings == []
    assert ModelRegistry(models).current() == "v3"
    moved = client.get_model_version_by_alias("triage-publish", CHAMPION)
    assert str(moved.version) == better.tracked.registered_version
    assert ModelRegistry(models).get("v3").mlflow["run_id"] == better.tracked.run_id


def test_an_mlflow_failure_loses_nothing(tmp_path: Path) -> None:
    # A misconfigured tracking URI fails at once (an unreachable server or a locked
    # database fails the same way, after MLflow's own retries).
    settings = settings_for(tmp_path, "bogus://nowhere", "triage-broken")
    bundle = write_bundle(settings.models_dir, "v1", 0.8)
    result = publish_bundle(bundle, settings)
    assert result.tracked is None
    assert len(result.warnings) == 1 and "MLflow tracking failed" in result.warnings[0]
    assert "registered as v1" in result.warnings[0]
    registry = ModelRegistry(settings.models_dir)
    assert result.promoted and registry.current() == "v1"
    assert registry.resolve(CHAMPION).resolve() == bundle.resolve()
    assert (bundle / "manifest.json").is_file()


def make_report(tmp_path: Path, bundle: Path) -> TrainingReport:
    """A `TrainingReport` as the pipeline returns it, for a bundle written beside it."""
    rng = np.random.default_rng(11)
    data = tmp_path / "desk.parquet"
    data.write_bytes(b"PAR1 not really parquet, but hashed all the same")

    def head(name: str, field: str, classes: list[str], n: int = 120) -> HeadReport:
        y = rng.integers(0, len(classes), n)
        y[:3] = -1  # labels the training part never saw
        proba = rng.dirichlet(np.ones(len(classes)), n)
        proba[np.arange(n), np.maximum(y, 0)] += 1.0
        proba /= proba.sum(axis=1, keepdims=True)
        return HeadReport(
            name=name, field=field, classes=classes, temperature=1.3,
            thresholds=[0.6] * len(classes), global_threshold=0.6,
            metrics={"accuracy": 0.8, "macro_f1": 0.8, "brier": 0.25, "ece": 0.04,
                     "coverage_at_target_precision": 0.55},
            baselines={"majority": {"accuracy": 0.3, "macro_f1": 0.12},
                       "tfidf_linearsvc": {"accuracy": 0.7, "macro_f1": 0.66}},
            n_train=400, n_calibration=80, n_test=n, test_ids=[f"t{i}" for i in range(n)],
            y_true=y, proba=proba, abstained=proba.max(axis=1) < 0.6,
        )  # fmt: skip

    return TrainingReport(
        bundle_dir=bundle,
        model_version=bundle.name,
        data_path=data,
        params={"encoder": None, "seed": 42, "target_precision": 0.9, "data": str(data)},
        split={"kind": "time", "train": 480, "test": 120},
        heads={
            "category": head("category", "category", ["billing", "login", "outage"]),
            "escalation": head("escalation", "escalated", ["false", "true"]),
        },
        auto_reply={"recall_at_1": 0.5, "recall_at_5": 0.8},
        languages=["en"],
        timings={"heads": 1.5},
    )


def test_publish_training_run_logs_the_reports_plots_params_and_metrics(
    tmp_path: Path, store: str
) -> None:
    from mlflow import MlflowClient

    from training.tracking import publish_training_run
    from triage.files import sha256_file as file_sha256

    settings = settings_for(tmp_path, store, "triage-report")
    report = make_report(tmp_path, write_bundle(settings.models_dir, "r1", 0.8))
    result = publish_training_run(report, settings, experiment="from-cli")
    assert result.warnings == [] and result.promoted and result.tracked is not None
    assert result.tracked.experiment == "from-cli"

    client = MlflowClient(tracking_uri=store, registry_uri=store)
    run = client.get_run(result.tracked.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["data_sha256"] == file_sha256(report.data_path)
    assert params["split_kind"] == "time" and params["target_precision"] == "0.9"
    assert json.loads(params["heads"]) == ["category", "escalation"]
    assert json.loads(params["category_rows"]) == {"train": 400, "calibration": 80, "test": 120}
    assert metrics["category.brier"] == pytest.approx(0.25)
    assert metrics["category.baseline.tfidf_linearsvc.macro_f1"] == pytest.approx(0.66)
    assert metrics["auto_reply.recall_at_5"] == pytest.approx(0.8)
    drawn = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots")}
    per_head = {"confusion", "reliability", "precision_coverage", "per_class_f1"}
    assert drawn == {f"category_{k}.png" for k in per_head} | {
        f"escalation_{k}.png" for k in per_head | {"roc"}
    }


def test_overwriting_the_champions_directory_is_reported(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "sqlite:///unused.db", "unused")
    bundle = write_bundle(settings.models_dir, "old", 0.9)
    assert publish_bundle(bundle, settings, track=False).promoted
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["model_version"] = "new"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = publish_bundle(bundle, settings, track=False)
    assert result.promoted and ModelRegistry(settings.models_dir).current() == "new"
    assert len(result.warnings) == 1
    assert "held old" in result.warnings[0] and "without the promotion gate" in result.warnings[0]


def test_publishing_the_demo_training_run(demo_training, tmp_path: Path, store: str) -> None:
    """The real pipeline's report and bundle (with its encoder) end to end; the bundle is
    read-only."""
    from mlflow import MlflowClient

    from training.tracking import publish_training_run

    settings = settings_for(tmp_path, store, "triage-demo")
    result = publish_training_run(demo_training, settings)
    assert result.warnings == [] and result.promoted and result.tracked is not None
    entry = ModelRegistry(settings.models_dir).get(demo_training.model_version)
    assert entry.path.resolve() == Path(demo_training.bundle_dir).resolve()
    assert entry.macro_f1 == pytest.approx(
        {name: head.metrics["macro_f1"] for name, head in demo_training.heads.items()}
    )
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    run_id = result.tracked.run_id
    plots_logged = {Path(a.path).name for a in client.list_artifacts(run_id, "plots")}
    assert {f"{name}_confusion.png" for name in demo_training.heads} <= plots_logged
    assert ("escalation_roc.png" in plots_logged) == ("escalation" in demo_training.heads)
    bundle_files = {Path(a.path).name for a in client.list_artifacts(run_id, "bundle")}
    assert {p.name for p in Path(demo_training.bundle_dir).iterdir()} == bundle_files
    version = client.get_model_version_by_alias("triage-demo", CHAMPION)
    assert version.tags["model_version"] == demo_training.model_version
