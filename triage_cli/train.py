"""`triage train`: train every head the data supports and write a bundle."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from triage_cli.progress import LineStages, RichStages

_out = Console(width=140)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def print_report(report) -> None:  # type: ignore[no-untyped-def]
    """Our model beside both baselines, per head."""
    table = Table(
        title=f"{report.model_version}: test split ({report.split['kind']}, {report.split['test']} "
        "tickets); svc = TF-IDF + LinearSVC baseline, cov@P = coverage at the target precision",
        padding=(0, 1),
    )
    for column in (
        "head",
        "n",
        "acc",
        "F1",
        "maj acc",
        "maj F1",
        "svc acc",
        "svc F1",
        "cov@P",
        "prec",
        "ECE",
        "AUC",
    ):
        table.add_column(column, justify="left" if column == "head" else "right")
    for name, head in report.heads.items():
        m, b = head.metrics, head.baselines
        table.add_row(
            name,
            str(len(head.classes)),
            _fmt(m["accuracy"]),
            _fmt(m["macro_f1"]),
            _fmt(b["majority"]["accuracy"]),
            _fmt(b["majority"]["macro_f1"]),
            _fmt(b["tfidf_linearsvc"]["accuracy"]),
            _fmt(b["tfidf_linearsvc"]["macro_f1"]),
            _fmt(m["coverage_at_target_precision"]),
            _fmt(m.get("precision_at_threshold")),
            _fmt(m.get("ece")),
            _fmt(m.get("roc_auc")),
        )
    _out.print(table)
    _out.print(f"split: {report.split['kind']} ({report.split.get('reason', '')})", highlight=False)
    inputs = getattr(report, "inputs", {}) or {}
    for key, title in (("labels", "labels"), ("features", "learned from"), ("ignored", "ignored")):
        if inputs.get(key):
            _out.print(f"{title}: {'; '.join(inputs[key])}", highlight=False, soft_wrap=True)
    for line in label_source_lines(getattr(report, "data_path", None)):
        _out.print(line, highlight=False, soft_wrap=True)
    for line in encoder_lines(report) + selection_lines(report):
        _out.print(line, highlight=False, soft_wrap=True)
    from training.ordinal import ordinal_lines

    for line in ordinal_lines(report):
        _out.print(line, highlight=False, soft_wrap=True)
    for line in getattr(report, "cascade", None) or []:
        _out.print(line, highlight=False, soft_wrap=True)
    ar = report.auto_reply
    if ar:
        line = (
            f"auto-reply: recall@1 {_fmt(ar.get('recall_at_1'))}, recall@5 "
            f"{_fmt(ar.get('recall_at_5'))}, "
            f"coverage {_fmt(ar.get('coverage_at_safe_threshold'))} at precision "
            f"{_fmt(ar.get('precision_at_safe_threshold'))} (safe threshold "
            f"{_fmt(ar.get('safe_threshold'))})"
        )
        if "kb_only" in ar:
            kb = ar["kb_only"]
            line += (
                f"; KB only, the test part's {kb['n_eval']} tickets with a gold article: "
                f"recall@1 {_fmt(kb['recall_at_1'])}, recall@5 {_fmt(kb['recall_at_5'])}"
            )
            if "recall_at_1_training_part" in kb:
                line += (
                    f" (training part, where its weights were tuned: recall@1 "
                    f"{_fmt(kb['recall_at_1_training_part'])})"
                )
        _out.print(line)
    _out.print(
        f"bundle written to {report.bundle_dir} (languages: {', '.join(report.languages) or '–'})"
    )


def _signed(m: dict) -> str:
    return f"{m['margin']:+.3f} [{m['low']:+.3f}, {m['high']:+.3f}]"


def label_source_lines(path: Path | None) -> list[str]:
    """Where the labels came from when `triage data import` wrote the file (its stored
    decisions), and the label-named columns it kept as structured fields instead."""
    from triage.ingest.mapping import LABEL_BY_NAME
    from triage.ingest.report import read_provenance

    try:
        provenance = read_provenance(path) if path is not None else None
    except Exception:  # a file from elsewhere: nothing recorded to show
        return []
    if not provenance:
        return []
    lines = []
    labels = provenance.get("labels") or {}
    if labels:
        shown = ", ".join(
            f"{name} <- {', '.join(repr(c) for c in v['columns']) or '(history)'} ({v['how']})"
            for name, v in labels.items()
        )
        lines.append(f"label columns (as imported, {provenance.get('format')}): {shown}")
    kept = [
        f"{name} (column {', '.join(repr(c) for c in v['columns'])})"
        for name, v in (provenance.get("fields") or {}).items()
        if v.get("how") == LABEL_BY_NAME
    ]
    if kept:
        lines.append(
            f"named like labels but not labels (never by name): {', '.join(kept)}; "
            "import with --map FIELD=COLUMN to learn one"
        )
    return lines


def encoder_lines(report) -> list[str]:  # type: ignore[no-untyped-def]
    """The encoder stage: the window it reads and whether it was fine-tuned, with margins."""
    enc = getattr(report, "encoder", None) or {}
    lines = []
    length = enc.get("length") or {}
    if "oof" in length:
        metric = "AUC" if length["metric"] == "roc_auc" else "macro-F1"
        scores = ", ".join(f"{n}: {v:.3f}" for n, v in length["oof"].items())
        margins = ", ".join(
            f"{n} {_signed(m)}" for n, m in length.get("margins_vs_longest", {}).items()
        )
        sample = length.get("sample") or {}
        judged = f"on {sample['tickets']} of {sample['of']} training tickets; " if sample else ""
        reused = "decision reused from the cache, " if length.get("from_cache") else ""
        lines.append(
            f"encoder window: {length['chosen']} tokens, head and tail ({length['head']} "
            f"out-of-fold {metric} by window {judged}{scores}; vs the longest: {margins}; "
            f"{reused}{length.get('seconds', 0):.0f} s)"
        )
    elif enc.get("max_tokens"):
        lines.append(f"encoder window: {enc['max_tokens']} tokens, head and tail (fixed)")
    ft = enc.get("finetune") or {}
    if ft:
        if "margin" not in ft:
            lines.append(f"fine-tuning ({ft['mode']}): not run: {ft.get('reason', '')}")
        else:
            metric = "AUC" if ft["metric"] == "roc_auc" else "macro-F1"
            verdict = "KEPT" if ft["kept"] else "DISCARDED (the frozen encoder ships)"
            why = f"; {ft['reason']}" if ft.get("reason") else ""
            cached = ", cached" if ft["from_cache"] else ""
            lines.append(
                f"fine-tuning ({ft['mode']}): {verdict}: {ft['head']} {metric} on the "
                f"validation slice {ft['finetuned']:.3f} fine-tuned vs {ft['frozen']:.3f} "
                f"frozen, margin {_signed(ft['margin'])} (keep rule: {ft['rule']}){why}; "
                f"{ft['steps']} steps ({ft['stopped_by']}{cached}), "
                f"{ft['seconds']:.0f} s; int8 parity cosine mean {ft['parity']['mean']:.4f}, "
                f"min {ft['parity']['min']:.4f}; {ft['validation']}"
            )
    return lines


def selection_lines(report) -> list[str]:  # type: ignore[no-untyped-def]
    """Per head: the winner out of fold, its margins (bootstrap 95%), test figures, verdict."""
    lines = []
    for name, head in report.heads.items():
        sel = head.metrics.get("selection")
        if not sel:
            continue
        metric = "AUC" if sel["metric"] == "roc_auc" else "macro-F1"
        margins = ", ".join(f"{_signed(m)} over {other}" for other, m in sel["margins"].items())
        m, b = head.metrics, head.baselines
        key = "roc_auc" if sel["metric"] == "roc_auc" else "macro_f1"
        test = [f"ours {_fmt(m.get(key))}"] + [
            f"{base} {_fmt(v.get(key))}" for base, v in b.items() if v.get(key) is not None
        ]
        lines.append(
            f"{name}: winner {sel['winner']} (out-of-fold {metric} "
            f"{sel['oof'][sel['winner']]:.3f}; {margins}); test {metric}: {', '.join(test)}"
        )
        if sel.get("why"):
            lines.append(f"{name}: why {sel['winner']}: {sel['why']}")
        if sel["verdict"] == "no_signal":
            lines.append(
                f"{name}: NO SIGNAL: it does not beat the majority and chance baselines beyond "
                "the bootstrap interval; the bundle marks it no_signal and it always abstains"
            )
        if "risk_threshold" in head.metrics:
            from training.risk_threshold import summary_line

            lines.append(summary_line(head.metrics["risk_threshold"]))
    for warning in getattr(report, "warnings", []):
        lines.append(f"warning: {warning}")
    return lines


def train(
    data: Path | None = typer.Option(
        None, "--data", help="tickets in the common Parquet format (`triage data import`); or --db"
    ),
    db: bool = typer.Option(
        False,
        "--db",
        help="train on the help desk's store instead: the labels people confirmed or corrected, "
        "SLA outcomes and answers (exported to OUT.desk.parquet beside the bundle)",
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="the store --db reads (default: TRIAGE_DATABASE_URL)"
    ),
    out: Path = typer.Option(..., "--out", help="bundle directory to write, e.g. models/NAME"),
    experiment: str | None = typer.Option(None, "--experiment", help="MLflow experiment name"),
    encoder: str | None = typer.Option(
        None,
        "--encoder",
        help="sentence-transformers name, exported encoder folder, or 'none' for a TF-IDF-only "
        "bundle "
        "(default: settings.encoder)",
    ),
    seed: int = typer.Option(42, "--seed"),
    target_precision: float = typer.Option(0.9, "--target-precision", min=0.5, max=0.999),
    split: str = typer.Option(
        "auto",
        "--split",
        help="time (newest tickets are the test split), stratified, or auto (time when 90% of "
        "tickets have a timestamp spanning 14 days or more)",
    ),
    cascade: bool = typer.Option(
        True,
        "--cascade/--no-cascade",
        help="distil a static encoder from the sentence encoder and ship a cheap stage that "
        "answers the tickets it is sure of without the transformer (within 0.3 macro-F1 points "
        "of the full model on validation)",
    ),
    track: bool = typer.Option(True, "--track/--no-track", help="log the run to MLflow"),
    finetune: str = typer.Option(
        "off",
        "--finetune",
        help="fine-tune the encoder contrastively on the primary head's labels (train extra): "
        "off; auto (desks with 400+ labelled training tickets, kept only when it beats the "
        "frozen encoder beyond the bootstrap interval on a held-out quarter of the training "
        "part); on (any desk, same keep rule). Up to ~10 min on 2 cores",
    ),
    max_tokens: str = typer.Option(
        "auto",
        "--max-tokens",
        help="tokens the encoder reads, head and tail of the text: auto (the smallest of 64, "
        "128, 256 within noise of the longest out of fold) or a number",
    ),
) -> None:
    """Train category, priority, routing and escalation heads plus the auto-reply matcher."""
    if db == (data is not None):
        raise typer.BadParameter(
            "give exactly one source: --data F.parquet, or --db for the help desk's store",
            param_hint="--data / --db",
        )
    if split not in ("time", "stratified", "auto"):
        raise typer.BadParameter("one of time, stratified, auto", param_hint="--split")
    if finetune not in ("auto", "on", "off"):
        raise typer.BadParameter("one of auto, on, off", param_hint="--finetune")
    if max_tokens != "auto" and not (max_tokens.isdigit() and int(max_tokens) >= 8):
        raise typer.BadParameter("auto or a number of tokens, 8 or more", param_hint="--max-tokens")
    if database_url is not None and not db:
        raise typer.BadParameter(
            "goes with --db (the store to train on)", param_hint="--database-url"
        )
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from training.pipeline import TrainConfig
    from training.pipeline import train as run_training
    from triage.settings import get_settings

    settings = get_settings()
    if db:
        data = _export_store(database_url or settings.database_url, out)
    chosen = encoder if encoder is not None else settings.encoder
    config = TrainConfig(
        encoder=None if chosen.lower() == "none" else chosen,
        seed=seed,
        target_precision=target_precision,
        split=split,
        embedding_cache_dir=settings.embedding_cache_dir,
        encoder_cache_dir=settings.encoder_cache_dir,
        bundle_name=out.name,
        finetune=finetune,
        max_tokens=max_tokens if max_tokens == "auto" else int(max_tokens),
        cascade=cascade,
    )
    err = Console(stderr=True)
    if not err.is_terminal:
        lines = LineStages()
        report = run_training(data, out, config, lines)
        lines.finish()
    else:
        columns = (TextColumn("{task.description:<16}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=False) as bar:
            sink = RichStages(bar)
            report = run_training(data, out, config, sink)
            sink.finish()
    print_report(report)
    _publish(report, settings, experiment, track)


def _export_store(database_url: str, out: Path) -> Path:
    """Export the store's confirmed labels beside the bundle (`models/NAME.desk.parquet`, kept:
    it is what the run trained on, its sha256 in the MLflow run) and say what was withheld."""
    from training.pipeline import MIN_LABELLED
    from triage.errors import TriageError
    from triage_cli.data import export_desk_with_progress, print_desk_export

    path = out.with_name(f"{out.name}.desk.parquet")
    report = export_desk_with_progress(database_url, path)
    print_desk_export(report)
    if not report.tickets_written:
        # The pipeline cannot say it of an empty file (it reports "no tickets"): same words.
        raise TriageError(
            f"{report.database}: no usable labels: need at least {MIN_LABELLED} tickets with a "
            "label a person confirmed or corrected, or an SLA outcome; the store has none"
        )
    return path


def _publish(report, settings, experiment: str | None, track: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Register the bundle, log the MLflow run, and promote it to champion if the gate allows."""
    from training.tracking import publish_training_run

    result = publish_training_run(report, settings, experiment=experiment, track=track)
    err = Console(stderr=True)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    line = f"registered {result.version.version} in {settings.models_dir}/registry.json"
    if result.tracked is not None:
        t = result.tracked
        line += (
            f"; MLflow run {t.run_id} (experiment {t.experiment!r}, {t.tracking_uri}), "
            f"model {t.registered_model!r} version {t.registered_version}"
        )
    _out.print(line, highlight=False, soft_wrap=True)
    if result.decision is not None:
        if result.promoted:
            _out.print(f"champion: {result.decision.message}", highlight=False, soft_wrap=True)
        else:
            # Not an error: the bundle is written and registered, it just does not serve.
            err.print(
                f"[yellow]not promoted:[/] {result.decision.message}",
                highlight=False,
                soft_wrap=True,
            )
