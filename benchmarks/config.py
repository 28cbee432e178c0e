"""Benchmark datasets by configuration: one small TOML entry per dataset.

An entry names where the data is, how to import it (a registered importer, or a generic
table format plus a column map), which heads to report, the split and optional targets:

    data_root = "../../shared/datasets"   # relative sources resolve here (default: this folder)

    [datasets.my_desk]
    source = "exports/desk.csv"           # relative to data_root, or absolute
    format = "csv"                        # an importer: `triage data import --format` names
    map = { subject = "Title", body = "Text", category = "Kind", created_at = "Opened" }
    date_format = "%d.%m.%Y %H:%M"        # optional, generic formats only
    encoding = "utf-8"                    # optional, CSV/JSONL only
    kb = "exports/desk.kb.parquet"        # optional: KB articles (the common format) for auto-reply
    encoder = "use-multilingual"          # optional: this dataset's encoder (default: the run's);
                                          # an explicit `--encoder` overrides it
    heads = ["category"]                  # reported heads, the first is the primary one
    label = "ticket kind"                 # optional: what the primary head predicts
    note = "..."                          # optional: shown in the report
    split = { kind = "auto", test_fraction = 0.2, seed = 42 }  # kind: auto | time | stratified
    targets.category.macro_f1 = 0.80      # a number is a minimum ...
    targets.category.ece = { max = 0.05 } # ... a table says min and/or max
    targets.auto_reply.kb_only.recall_at_5 = 0.8

Nothing else is needed for a dataset the benchmark has never seen: the generic importer
reads it through `map`. Every mistake is a `DatasetConfigError` naming the file, the
entry and the field (exit code 2 on the CLI).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.errors import InputFileError

DEFAULT_CONFIG = Path(__file__).resolve().with_name("datasets.toml")

# The heads `training.pipeline.train` can build (tests/benchmarks checks they agree);
# listed here so a config error shows before the training stack is even imported.
HEADS = ("category", "subcategory", "priority", "team", "assignee", "escalation")
SPLIT_KINDS = ("auto", "time", "stratified")
HEAD_METRICS = (
    "accuracy",
    "macro_f1",
    "coverage_at_target_precision",
    "precision_at_threshold",
    "ece",
    "brier",
    "roc_auc",
)
AUTO_REPLY_METRICS = tuple(
    f"{prefix}{name}"
    for prefix in ("", "kb_only.")
    for name in (
        "recall_at_1",
        "recall_at_5",
        "coverage_at_safe_threshold",
        "precision_at_safe_threshold",
    )
)
_ENTRY_FIELDS = {
    "source",
    "format",
    "map",
    "date_format",
    "encoding",
    "kb",
    "encoder",
    "heads",
    "label",
    "note",
    "split",
    "targets",
}
_SPLIT_FIELDS = {"kind", "test_fraction", "seed"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class DatasetConfigError(InputFileError):
    """A benchmark dataset config that cannot be used: names the file, entry and field."""

    def __init__(self, file: Path | str, entry: str | None, fld: str | None, reason: str) -> None:
        self.file, self.entry, self.field, self.reason = str(file), entry, fld, reason
        where = [self.file]
        if entry is not None:
            where.append(f"dataset {entry!r}")
        if fld:
            where.append(f"field {fld!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


@dataclass(frozen=True)
class SplitSpec:
    """How the tickets are split; the model and both baselines share it."""

    kind: str = "auto"
    test_fraction: float = 0.2
    seed: int = 42


@dataclass(frozen=True)
class Target:
    """A bound on one metric: `category.macro_f1`, `auto_reply.kb_only.recall_at_1`, ..."""

    metric: str
    minimum: float | None = None
    maximum: float | None = None

    def met(self, value: float | None) -> bool:
        """Whether `value` satisfies the bound (a missing value never does)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def describe(self) -> str:
        """`≥ 0.800`, `≤ 0.050` or `0.100 .. 0.900`."""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum:.3f} .. {self.maximum:.3f}"
        if self.minimum is not None:
            return f"≥ {self.minimum:.3f}"
        return f"≤ {self.maximum:.3f}"


@dataclass(frozen=True)
class DatasetSpec:
    """One benchmark dataset, as its config entry describes it (paths resolved)."""

    name: str
    source: Path
    format: str
    heads: tuple[str, ...]
    config_file: Path
    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str = "utf-8"
    kb: Path | None = None
    encoder: str | None = None
    label: str | None = None
    note: str | None = None
    split: SplitSpec = SplitSpec()
    targets: tuple[Target, ...] = ()

    @property
    def primary_head(self) -> str:
        """The head the summary leads with: the first one listed."""
        return self.heads[0]

    def as_dict(self) -> dict[str, Any]:
        """The entry as recorded in a result JSON."""
        return {
            "source": str(self.source),
            "format": self.format,
            "map": dict(self.mapping),
            "date_format": self.date_format,
            "encoding": self.encoding,
            "kb": None if self.kb is None else str(self.kb),
            "encoder": self.encoder,
            "heads": list(self.heads),
            "label": self.label,
            "note": self.note,
            "split": vars(self.split).copy(),
            "targets": {t.metric: {"min": t.minimum, "max": t.maximum} for t in self.targets},
            "config_file": str(self.config_file),
        }


def load_config(path: Path | str = DEFAULT_CONFIG) -> dict[str, DatasetSpec]:
    """Every dataset entry of the TOML file at `path`, checked, in file order."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetConfigError(path, None, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetConfigError(path, None, None, f"unreadable: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DatasetConfigError(path, None, None, f"not valid TOML: {exc}") from None
    unknown = set(raw) - {"data_root", "datasets"}
    if unknown:
        raise DatasetConfigError(
            path, None, min(unknown), "unknown top-level key; expected data_root, datasets"
        )
    root = path.resolve().parent
    if "data_root" in raw:
        if not isinstance(raw["data_root"], str):
            raise DatasetConfigError(path, None, "data_root", "expected a path string")
        root = (root / raw["data_root"]).resolve()
    entries = raw.get("datasets")
    if not isinstance(entries, dict) or not entries:
        raise DatasetConfigError(
            path, None, "datasets", "no [datasets.NAME] entries (see docs/benchmarks.md)"
        )
    return {name: _entry(path, root, name, entry) for name, entry in entries.items()}


def select(
    specs: dict[str, DatasetSpec], names: list[str] | None, config_file: Path | str
) -> list[DatasetSpec]:
    """The entries called `names` (all when None), or an error listing the known ones."""
    if not names:
        return list(specs.values())
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise DatasetConfigError(
            config_file,
            unknown[0],
            None,
            f"no such dataset entry; the file has {', '.join(specs)}",
        )
    return [specs[n] for n in names]


# Complexity 21: one flat check per key of a dataset entry, each naming its own field;
# split up, the checks would only pass `fail` around.
def _entry(file: Path, root: Path, name: str, entry: Any) -> DatasetSpec:  # noqa: C901
    def fail(fld: str | None, reason: str) -> DatasetConfigError:
        return DatasetConfigError(file, name, fld, reason)

    if not _NAME.match(name):
        raise fail(
            None,
            "a dataset name may hold letters, digits, '_', '.' and '-' only "
            "(it names result files and MLflow metrics)",
        )
    if not isinstance(entry, dict):
        raise fail(None, "expected a table [datasets.NAME]")
    unknown = set(entry) - _ENTRY_FIELDS
    if unknown:
        raise fail(min(unknown), f"unknown field; expected {', '.join(sorted(_ENTRY_FIELDS))}")
    for required in ("source", "format", "heads"):
        if required not in entry:
            raise fail(required, "missing (every entry needs source, format and heads)")

    source = _text(entry, "source", fail)
    fmt = _text(entry, "format", fail)
    from triage.ingest import importer_for, parse_mapping

    try:
        importer = importer_for(fmt)
    except InputFileError as exc:
        raise fail("format", str(exc)) from None
    mapping = entry.get("map", {})
    if not isinstance(mapping, dict):
        raise fail("map", 'expected a table of FIELD = "Column" strings')
    if mapping and not importer.takes_mapping:
        raise fail(
            "map",
            f"format {fmt!r} has a fixed column mapping; use a generic format "
            "(csv, parquet, jsonl, xlsx) or a preset to map columns",
        )
    flat_map = _flatten_map(mapping)
    for target, column in flat_map.items():
        if not isinstance(column, str):
            raise fail(f"map.{target}", f"{column!r}: expected a column name (a string)")
        try:
            parse_mapping([f"{target}={column}"])
        except InputFileError as exc:
            raise fail(f"map.{target}", str(exc).removeprefix(f"--map {target}=...: ")) from None

    heads = entry["heads"]
    if isinstance(heads, str):
        heads = [heads]
    if not isinstance(heads, list) or not heads or not all(isinstance(h, str) for h in heads):
        raise fail("heads", f"expected a non-empty list of head names ({', '.join(HEADS)})")
    for head in heads:
        if head not in HEADS:
            raise fail("heads", f"unknown head {head!r}; expected one of {', '.join(HEADS)}")
    if len(set(heads)) != len(heads):
        raise fail("heads", "a head is listed twice")

    split = _split(entry.get("split", {}), fail)
    targets = _targets(entry.get("targets", {}), tuple(heads), fail)
    optional = {
        k: _text(entry, k, fail) if k in entry else None
        for k in ("date_format", "label", "note", "encoder")
    }
    encoding = _text(entry, "encoding", fail) if "encoding" in entry else "utf-8"
    kb = None
    if "kb" in entry:
        if importer.articles is not None:
            raise fail("kb", f"format {fmt!r} imports its own knowledge base")
        kb = _resolve(root, _text(entry, "kb", fail))
        if not kb.name.endswith(".parquet"):
            raise fail(
                "kb",
                "expected a Parquet file of KB articles (the common format, e.g. "
                "NAME.kb.parquet from `triage data import` or `triage data demo`)",
            )
    return DatasetSpec(
        name=name,
        source=_resolve(root, source),
        format=fmt,
        heads=tuple(heads),
        config_file=file,
        mapping=flat_map,
        date_format=optional["date_format"],
        encoding=encoding,
        kb=kb,
        encoder=optional["encoder"],
        label=optional["label"],
        note=optional["note"],
        split=split,
        targets=targets,
    )


def _resolve(root: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def _text(entry: dict, key: str, fail) -> str:  # type: ignore[no-untyped-def]
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "expected a non-empty string")
    return value


def _flatten_map(mapping: dict, prefix: str = "") -> dict[str, str]:
    # `extra.region = "Region"` arrives from TOML as {"extra": {"region": "Region"}}.
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten_map(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _split(raw: Any, fail) -> SplitSpec:  # type: ignore[no-untyped-def]
    if not isinstance(raw, dict):
        raise fail("split", "expected a table { kind = ..., test_fraction = ..., seed = ... }")
    unknown = set(raw) - _SPLIT_FIELDS
    if unknown:
        raise fail(f"split.{min(unknown)}", "unknown field; expected kind, test_fraction, seed")
    kind = raw.get("kind", "auto")
    if kind not in SPLIT_KINDS:
        raise fail("split.kind", f"{kind!r} is not one of {', '.join(SPLIT_KINDS)}")
    fraction = raw.get("test_fraction", 0.2)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise fail("split.test_fraction", f"{fraction!r}: expected a number between 0 and 1")
    seed = raw.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise fail("split.seed", f"{seed!r}: expected a non-negative integer")
    return SplitSpec(kind=kind, test_fraction=float(fraction), seed=seed)


def _targets(raw: Any, heads: tuple[str, ...], fail) -> tuple[Target, ...]:  # type: ignore[no-untyped-def]
    if not isinstance(raw, dict):
        raise fail("targets", "expected a table, e.g. targets.category.macro_f1 = 0.8")
    found: list[Target] = []

    def walk(node: dict, path: str) -> None:
        for key, value in node.items():
            metric = f"{path}{key}"
            if isinstance(value, dict) and not (set(value) and set(value) <= {"min", "max"}):
                walk(value, f"{metric}.")
                continue
            found.append(_target(metric, value, heads, fail))

    walk(raw, "")
    return tuple(found)


def _target(metric: str, value: Any, heads: tuple[str, ...], fail) -> Target:  # type: ignore[no-untyped-def]
    fld = f"targets.{metric}"
    owner, _, rest = metric.partition(".")
    if owner == "auto_reply":
        if rest not in AUTO_REPLY_METRICS:
            raise fail(
                fld,
                f"unknown auto-reply metric {rest!r}; expected one of "
                f"{', '.join(AUTO_REPLY_METRICS)}",
            )
    elif owner in heads:
        if rest not in HEAD_METRICS:
            raise fail(fld, f"unknown metric {rest!r}; expected one of {', '.join(HEAD_METRICS)}")
    else:
        raise fail(fld, f"{owner!r} is neither a reported head ({', '.join(heads)}) nor auto_reply")

    def number(v: Any, what: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise fail(f"{fld}{what}", f"{v!r}: expected a number")
        return float(v)

    if isinstance(value, dict):
        minimum = number(value["min"], ".min") if "min" in value else None
        maximum = number(value["max"], ".max") if "max" in value else None
        if minimum is not None and maximum is not None and minimum > maximum:
            raise fail(fld, f"min {minimum} is above max {maximum}")
        return Target(metric, minimum, maximum)
    return Target(metric, number(value, ""))
