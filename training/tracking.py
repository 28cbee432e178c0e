"""MLflow tracking of training runs, and publishing a new bundle to the model registry.

A training run becomes one MLflow run: parameters, metrics (the report's, or the
numbers in the bundle's `manifest.json` when there is no report), the
evaluation plots, the manifest, and the whole bundle directory as the artifacts of a
new version of the registered model `settings.mlflow_registry_name` (its
`model_version` in a tag). The default store is `sqlite:///mlflow.db` in the working
directory: no server. (MLflow 3.17 refuses the old `./mlruns` file store unless
`MLFLOW_ALLOW_FILE_STORE` is set, which is why the default is a SQLite file.)

The file registry (`triage.registry`) is what serving trusts; MLflow mirrors it.
`publish_bundle` therefore registers the bundle in the file registry *before* talking
to MLflow, and an MLflow failure becomes a warning in the result, never a lost bundle.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from triage.files import sha256_file
from triage.promotion import compare_head
from triage.registry import (
    CHAMPION,
    ModelRegistry,
    ModelVersion,
    PromotionDecision,
    PromotionRefusedError,
)
from triage.settings import Settings

if TYPE_CHECKING:
    from training.report import TrainingReport

log = logging.getLogger(__name__)

BUNDLE_ARTIFACT_PATH = "bundle"
PLOTS_ARTIFACT_PATH = "plots"
MODEL_VERSION_TAG = "model_version"


@dataclass(frozen=True)
class TrackedRun:
    """Where a training run landed in MLflow."""

    tracking_uri: str
    experiment: str
    run_id: str
    registered_model: str
    registered_version: str


@dataclass
class PublishResult:
    """What `publish_bundle` did: registered, tracked (or why not), promoted (or why not)."""

    version: ModelVersion
    tracked: TrackedRun | None = None
    decision: PromotionDecision | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def promoted(self) -> bool:
        """True when the new version is now the champion."""
        return self.decision is not None and self.decision.promoted


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of the manifest's `metrics` as MLflow keys, e.g.
    `category.baselines.majority.macro_f1`.

    Dots, like `TrainingReport.flat_metrics`, so a run reads the same either way.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float) and not math.isnan(value):
            flat[name] = float(value)
    return flat


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    # MLflow caps a param value at 6000 characters.
    return text if len(text) <= 6000 else text[:5997] + "..."


def _client(tracking_uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def artifact_location(tracking_uri: str, experiment: str) -> str | None:
    """Artifacts beside a SQLite store: `DIR/mlruns/EXPERIMENT` for `sqlite:///DIR/mlflow.db`.

    MLflow's own default is `./mlruns` under whatever directory the command runs in,
    which scatters one store's artifacts; anchoring them to the database keeps the
    store self-contained (for the default `sqlite:///mlflow.db` it is the same `./mlruns`).
    Other stores (a tracking server, PostgreSQL) keep their configured artifact root.
    """
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or len(tracking_uri) == len(prefix):
        return None
    database = Path(tracking_uri[len(prefix) :])
    folder = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).strip("._") or "experiment"
    return (database.resolve().parent / "mlruns" / folder).as_uri()


def start_run(client: Any, tracking_uri: str, experiment: str, run_name: str, tags: dict[str, str]):
    """A new run in `experiment` (created with its artifact folder if it does not exist)."""
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found
        else client.create_experiment(
            experiment, artifact_location=artifact_location(tracking_uri, experiment)
        )
    )
    return client.create_run(experiment_id, run_name=run_name, tags=tags)


def log_values(
    client: Any, run: Any, params: Mapping[str, Any], metrics: Mapping[str, float]
) -> None:
    """Params and metrics of `run` in as few calls as the store allows (100 params,
    1,000 metrics)."""
    import mlflow

    stamp = run.info.start_time
    entities_params = [mlflow.entities.Param(k, _param_value(v)) for k, v in params.items()]
    entities_metrics = [mlflow.entities.Metric(k, float(v), stamp, 0) for k, v in metrics.items()]
    for i in range(0, len(entities_params), 100):
        client.log_batch(run.info.run_id, params=entities_params[i : i + 100])
    for i in range(0, len(entities_metrics), 1000):
        client.log_batch(run.info.run_id, metrics=entities_metrics[i : i + 1000])


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="ticket-triage bundles (ONNX encoder + heads); see manifest.json"
        )


def log_training_run(
    bundle_dir: Path,
    settings: Settings,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float] | None = None,
    plots: Iterable[Path] = (),
    experiment: str | None = None,
) -> TrackedRun:
    """Log one training run and register `bundle_dir` as a new MLflow model version.

    `metrics` defaults to the manifest's, flattened; raises whatever MLflow raises.
    """

    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    model_version = str(manifest["model_version"])
    tracking_uri = settings.mlflow_tracking_uri
    experiment = experiment or settings.experiment
    name = settings.mlflow_registry_name
    client = _client(tracking_uri)
    run = start_run(
        client,
        tracking_uri,
        experiment,
        model_version,
        {MODEL_VERSION_TAG: model_version, "mlflow.source.name": "triage train"},
    )
    run_id = run.info.run_id
    try:
        all_metrics = (
            dict(metrics) if metrics is not None else flatten_metrics(manifest.get("metrics") or {})
        )
        log_values(client, run, {"model_version": model_version, **params}, all_metrics)
        for plot in plots:
            client.log_artifact(run_id, str(plot), PLOTS_ARTIFACT_PATH)
        client.log_artifact(run_id, str(bundle_dir / "manifest.json"))
        client.log_artifacts(run_id, str(bundle_dir), BUNDLE_ARTIFACT_PATH)
        source = f"{client.get_run(run_id).info.artifact_uri.rstrip('/')}/{BUNDLE_ARTIFACT_PATH}"
        _ensure_registered_model(client, name)
        registered = client.create_model_version(
            name,
            source=source,
            run_id=run_id,
            tags={MODEL_VERSION_TAG: model_version},
            description=f"bundle {model_version} from {bundle_dir}",
        )
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return TrackedRun(tracking_uri, experiment, run_id, name, str(registered.version))


def set_mlflow_alias(entry: ModelVersion, alias: str = CHAMPION) -> None:
    """Point the MLflow alias at the registered version of `entry` (raises MLflow's errors)."""
    info = entry.mlflow
    missing = [
        k for k in ("tracking_uri", "registered_model", "registered_version") if not info.get(k)
    ]
    if missing:
        raise ValueError(f"{entry.version} was never tracked in MLflow (no {', '.join(missing)})")
    client = _client(info["tracking_uri"])
    client.set_registered_model_alias(info["registered_model"], alias, info["registered_version"])


def sync_alias(registry: ModelRegistry, alias: str = CHAMPION) -> str | None:
    """Mirror the file registry's `alias` into MLflow; returns a warning, or None when in sync.

    The file registry stays authoritative, so a failure here is reported, not raised.
    """
    version = registry.current(alias)
    if version is None:
        return None
    entry = registry.get(version)
    if not entry.mlflow.get("registered_version"):
        return f"MLflow alias {alias!r} not moved: {version} was not tracked in MLflow"
    try:
        set_mlflow_alias(entry, alias)
    except Exception as exc:  # any MLflow failure must not undo the promotion
        log.warning(
            "could not move the MLflow alias %r to %s: %s", alias, version, exc, exc_info=True
        )
        return f"MLflow alias {alias!r} not moved to {version}: {type(exc).__name__}: {exc}"
    return None


def publish_bundle(
    bundle_dir: Path,
    settings: Settings,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    plots: Iterable[Path] = (),
    experiment: str | None = None,
    track: bool = True,
    promote: bool = True,
    rescore: Callable[[ModelVersion, str], float | None] | None = None,
) -> PublishResult:
    """Register a freshly built bundle, track it in MLflow, and promote it if the gate allows.

    `rescore(champion, head)`: the champion's macro-F1 for `head` on this bundle's test
    split; called when the champion is a version of the same model, so the gate compares
    both on the same tickets.

    Order matters: the file registry first (so nothing MLflow does can lose the bundle),
    then the MLflow run and model version, then the promotion gate, then the MLflow alias.
    """
    registry = ModelRegistry(settings.models_dir)
    champion_before = registry.current(CHAMPION)
    result = PublishResult(version=registry.register(bundle_dir))
    version = result.version.version
    if result.version.replaced:
        note = (
            f"{bundle_dir} held {', '.join(result.version.replaced)}, overwritten by this run "
            "and dropped from the registry"
        )
        if champion_before in result.version.replaced:
            note += (
                f"; it was the champion, so the champion is now {version} without the "
                "promotion gate (train into a new directory to keep the champion and let the gate "
                "decide)"
            )
        result.warnings.append(note)
    if track:
        try:
            tracked = log_training_run(
                bundle_dir,
                settings,
                params=params or {},
                metrics=metrics,
                plots=plots,
                experiment=experiment,
            )
        except Exception as exc:  # tracking is best effort; the bundle is safe
            log.warning("MLflow tracking failed for %s: %s", version, exc, exc_info=True)
            result.warnings.append(
                f"MLflow tracking failed ({type(exc).__name__}: {exc}); the bundle {bundle_dir} "
                f"is written and registered as {version} in {registry.path}"
            )
        else:
            result.tracked = tracked
            result.version = registry.annotate_mlflow(
                version,
                tracking_uri=tracked.tracking_uri,
                experiment=tracked.experiment,
                run_id=tracked.run_id,
                registered_model=tracked.registered_model,
                registered_version=tracked.registered_version,
            )
    if promote:
        rescored = None
        current = registry.current(CHAMPION)
        if rescore is not None and current is not None and current != version:
            champion = registry.get(current)
            head = compare_head(result.version, champion)
            if champion.model_name == result.version.model_name and head is not None:
                try:
                    rescored = rescore(champion, head)
                except Exception as exc:  # the gate then refuses to compare, never guesses
                    log.warning("re-scoring champion %s failed: %s", current, exc, exc_info=True)
                    result.warnings.append(
                        f"champion {current} could not be re-scored on this test split "
                        f"({type(exc).__name__}: {exc})"
                    )
        try:
            result.decision = registry.promote(version, champion_rescored=rescored)
        except PromotionRefusedError as exc:
            result.decision = exc.decision
        if result.promoted and result.tracked is not None and (warning := sync_alias(registry)):
            result.warnings.append(warning)
    return result


def write_report_plots(report: TrainingReport, out_dir: Path) -> list[Path]:
    """The evaluation plots of every head of `report`, as PNG files under `out_dir`."""
    from training import plots

    target = report.params.get("target_precision")
    written: list[Path] = []
    for name, head in report.heads.items():
        if not len(head.y_true):
            continue
        # Baselines that carry per-class F1 get bars; one known only by its score, a line.
        baseline_f1 = {
            base: (values["per_class_f1"], float(values["macro_f1"]))
            for base, values in head.baselines.items()
            if values.get("per_class_f1") is not None and values.get("macro_f1") is not None
        }
        drawn = plots.head_plots(
            name,
            head.y_true,
            head.proba,
            head.classes,
            out_dir,
            field=head.field,
            target_precision=target,
            coverage_at_target=head.metrics.get("coverage_at_target_precision"),
            precision_at_threshold=head.metrics.get("precision_at_threshold"),
            baseline_f1=baseline_f1,
            baseline_macro_f1={
                base: float(values["macro_f1"])
                for base, values in head.baselines.items()
                if base not in baseline_f1 and values.get("macro_f1") is not None
            },
        )
        written.extend(drawn.values())
    return written


def run_params(report: TrainingReport) -> dict[str, Any]:
    """What a run was trained with: the config, the data (with sha256), the split, the heads."""
    params: dict[str, Any] = dict(report.params)
    data = Path(report.data_path)
    if data.is_file():
        params["data_sha256"] = sha256_file(data)
    kb = data.with_name(data.name.removesuffix(".parquet") + ".kb.parquet")
    if kb.is_file():
        params["kb_sha256"] = sha256_file(kb)
    params.update({f"split_{key}": value for key, value in report.split.items()})
    params["heads"] = list(report.heads)
    for name, head in report.heads.items():
        params[f"{name}_rows"] = {
            "train": head.n_train,
            "calibration": head.n_calibration,
            "test": head.n_test,
        }
        params[f"{name}_classes"] = len(head.classes)
    params["languages"] = report.languages
    return params


def publish_training_run(
    report: TrainingReport,
    settings: Settings,
    *,
    experiment: str | None = None,
    track: bool = True,
    promote: bool = True,
) -> PublishResult:
    """What `triage train` calls after writing the bundle: plots, MLflow run, registry, gate.

    Plot drawing is part of the best-effort tracking: if it fails, the run is logged
    without plots and the result says why.
    """
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="triage-plots-") as tmp:
        drawn: list[Path] = []
        if track:
            try:
                drawn = write_report_plots(report, Path(tmp))
            except Exception as exc:  # a plot must never cost the run
                log.warning("drawing the evaluation plots failed: %s", exc, exc_info=True)
                warnings.append(f"evaluation plots not drawn ({type(exc).__name__}: {exc})")
        result = publish_bundle(
            Path(report.bundle_dir),
            settings,
            params=run_params(report),
            metrics=report.flat_metrics(),
            plots=drawn,
            experiment=experiment,
            track=track,
            promote=promote,
            rescore=lambda champion, head: rescore_champion(report, champion, head),
        )
    result.warnings[:0] = warnings
    return result


def rescore_champion(report: TrainingReport, champion: ModelVersion, head: str) -> float | None:
    """The champion bundle's macro-F1 for `head` on the report's test tickets.

    Labels are mapped onto the candidate's classes as training scored them: a test label
    unseen in training is its own never-predicted class, a champion label the candidate
    does not know is a wrong answer of its own.
    """
    from training.evaluation import classification_metrics
    from triage.dataset import iter_tickets
    from triage.predictor import OnnxTriager

    ours = report.heads.get(head)
    if ours is None or not ours.test_ids:
        return None
    wanted = set(ours.test_ids)
    tickets = {t.id: t for t in iter_tickets(report.data_path) if t.id in wanted}
    batch = [tickets[i] for i in ours.test_ids]
    triager = OnnxTriager.from_path(champion.path)
    index = {c: i for i, c in enumerate(ours.classes)}
    n = len(ours.classes)
    pred = []
    for start in range(0, len(batch), 256):
        for result in triager.triage_batch(batch[start : start + 256]):
            prediction = getattr(result, head, None)
            label = prediction.top_k[0].label if prediction and prediction.top_k else None
            pred.append(index.get(label, n + 1) if label is not None else n + 1)
    y = np.where(ours.y_true >= 0, ours.y_true, n)
    return float(classification_metrics(y, np.array(pred, dtype=np.int64), n + 2)["macro_f1"])
