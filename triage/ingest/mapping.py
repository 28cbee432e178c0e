"""Which column fills which ticket field: `--map`, a preset, or the same name.

Precedence, lowest first: a column named exactly like a contract field (`subject`,
`created_at`, `extra.region`) maps to it, except the label fields (`team`, `category`,
`priority`, ...: `contract.LABEL_FIELDS`), which a plain column fills only through
`--map` or a preset and otherwise becomes `extra.NAME`; a preset's names for the field
override that; the user's `--map FIELD=COLUMN` overrides both, and `--map FIELD=` leaves
the field out whatever would have filled it (a preset, a same-name column, a
derivation). Only then is the file checked for ticket text, so a map can always rescue
a preset.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from triage.contract import LABEL_FIELDS, Ticket
from triage.errors import InputFileError
from triage.ingest.dates import fold
from triage.ingest.presets import Derivation, Preset
from triage.ingest.rows import missing_column

CONTRACT_FIELDS: tuple[str, ...] = tuple(f for f in Ticket.model_fields if f != "extra")
# How a label-named column that no map or preset made a label is reported.
LABEL_BY_NAME = "same name, not a label"
_SPACES = re.compile(r"\s+")


def header_key(name: str) -> str:
    """How header names compare: no case, accents, trailing dot or repeated spaces."""
    return _SPACES.sub(" ", fold(name))


def check_target(target: str) -> None:
    """Raise `InputFileError` unless `target` is a contract field or `extra.NAME`."""
    if target in CONTRACT_FIELDS:
        return
    if target.startswith("extra.") and len(target) > len("extra."):
        return
    raise InputFileError(
        f"--map {target}=...: {target!r} is not a ticket field; use one of "
        f"{', '.join(CONTRACT_FIELDS)} or extra.NAME"
    )


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`['subject=Title', 'extra.region=Region', 'team=']` as a dict target -> column
    (empty: unmapped), checked."""
    mapping: dict[str, str] = {}
    for item in items:
        target, sep, column = item.partition("=")
        target = target.strip()
        if not sep or not target:
            raise InputFileError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map subject=Title")
        check_target(target)
        mapping[target] = column.strip()
    return mapping


@dataclass
class Step:
    """One field and the header positions that fill it."""

    target: str
    column: str
    positions: list[int]
    how: str


@dataclass
class Plan:
    """The decided mapping of one file."""

    steps: dict[str, Step]
    roles: dict[str, list[int]] = field(default_factory=dict)
    derivations: list[Derivation] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    language: str | None = None

    def columns(self) -> dict[str, str]:
        """target -> the column that fills it (for error messages)."""
        return {t: s.column for t, s in self.steps.items()}


class _Header:
    def __init__(self, header: list[str]) -> None:
        self.header = header
        self.by_key: dict[str, list[int]] = {}
        for i, name in enumerate(header):
            self.by_key.setdefault(header_key(name), []).append(i)

    def exact(self, name: str) -> list[int]:
        return [i for i, h in enumerate(self.header) if h == name]

    def find(self, name: str) -> list[int]:
        return self.exact(name) or self.by_key.get(header_key(name), [])

    def first(self, candidates: tuple[str, ...]) -> list[int]:
        for candidate in candidates:
            found = self.by_key.get(header_key(candidate))
            if found:
                return found
        return []

    def every(self, candidates: tuple[str, ...]) -> list[int]:
        """Positions of every candidate present, in the candidates' order: a row takes the
        first non-empty (ServiceNow's `opened_at`, else `sys_created_on`)."""
        out: list[int] = []
        for candidate in candidates:
            out += [i for i in self.by_key.get(header_key(candidate), []) if i not in out]
        return out


# How a label column of a file in the common format (`triage.dataset.TICKET_SCHEMA`) is
# reported: the file is the contract, so its label fields are labels by definition.
LABEL_BY_CONTRACT = "the common format's label field"


def _same_name(head: _Header, common_format: bool = False) -> dict[str, Step]:
    """Columns named like a contract field fill it, except the labels: a column named
    `team` (or `category`, `priority`, ...) in a plain table is a structured field,
    `extra.team`, until `--map team=team` (or a preset's documented mapping) says it is
    the label to learn. Which column the models learn to predict is never implicit."""
    steps: dict[str, Step] = {}
    labels: list[tuple[str, list[int]]] = []
    for name in CONTRACT_FIELDS:
        found = head.exact(name)
        if found and name in LABEL_FIELDS and common_format:
            steps[name] = Step(name, name, found, LABEL_BY_CONTRACT)
        elif found and name in LABEL_FIELDS:
            labels.append((name, found))
        elif found:
            steps[name] = Step(name, name, found, "same name")
    for i, name in enumerate(head.header):
        if name.startswith("extra.") and len(name) > 6 and name not in steps:
            steps[name] = Step(name, name, [i], "same name")
    for name, found in labels:
        target = f"extra.{name}"
        if target not in steps:
            steps[target] = Step(target, name, found, LABEL_BY_NAME)
    return steps


def _drop_shadowed(steps: dict[str, Step]) -> None:
    """A label column kept as `extra.NAME` by its name is not also a structured field
    once a map or a preset makes it a label."""
    chosen = {i for s in steps.values() if s.how != LABEL_BY_NAME for i in s.positions}
    for target in [t for t, s in steps.items() if s.how == LABEL_BY_NAME]:
        if set(steps[target].positions) & chosen:
            del steps[target]


def _preset_steps(head: _Header, preset: Preset, steps: dict[str, Step]) -> None:
    for target, candidates in preset.fields.items():
        found = head.every(candidates)
        if found:
            steps[target] = Step(target, head.header[found[0]], found, "preset")
    for prefix, key_prefix in preset.extra_prefixes.items():
        for i, name in enumerate(head.header):
            if name.startswith(prefix) and len(name) > len(prefix):
                target = f"extra.{key_prefix}{name[len(prefix) :]}"
                steps[target] = Step(target, name, [i], "preset")


def _language(head: _Header, preset: Preset) -> str | None:
    keys = set(head.by_key)
    scores = {lang: len(keys & names) for lang, names in preset.languages.items()}
    best = max(scores, key=lambda lang: scores[lang], default=None)
    return best if best is not None and scores[best] else None


def _text_error(name: str, header: list[str], preset: Preset | None) -> InputFileError:
    present = ", ".join(repr(c) for c in header)
    if preset is None:
        return InputFileError(
            f"{name}: no column maps to the ticket text; name columns 'subject'/'body' or "
            f"pass e.g. --map subject=Title --map body=Description (columns present: {present})"
        )
    looked = " / ".join(repr(c) for t in ("subject", "body") for c in preset.fields.get(t, ())[:3])
    return InputFileError(
        f"{name}: no ticket text: the {preset.name} preset looks for {looked} (and their "
        f"translations); pass --map subject=COLUMN or --map body=COLUMN (columns present: "
        f"{present})"
    )


def plan_columns(
    name: str,
    header: list[str],
    preset: Preset | None,
    explicit: dict[str, str],
    *,
    require_text: bool = True,
    reserved: tuple[str, ...] = (),
    common_format: bool = False,
) -> Plan:
    """Decide which column fills which field (module docstring), or say why none can.

    `reserved` columns (an event log's case and time) fill nothing by their name;
    `common_format`: the table is a ticket file of our own format (`triage data import`,
    `triage data demo`), whose label columns are the contract's labels.
    """
    head = _Header(header)
    steps = {t: s for t, s in _same_name(head, common_format).items() if s.column not in reserved}
    plan = Plan(steps)
    if preset is not None:
        _preset_steps(head, preset, steps)
        plan.language = _language(head, preset)
        plan.roles = {r: head.first(c) for r, c in preset.roles.items() if head.first(c)}
    unmapped_by_user = set()
    for target, column in explicit.items():
        check_target(target)
        if not column:
            steps.pop(target, None)
            unmapped_by_user.add(target)
            continue
        found = head.find(column)
        if not found:
            raise missing_column(name, column, header)
        steps[target] = Step(target, header[found[0]], found, "map")
    _drop_shadowed(steps)
    if preset is not None:
        for derivation in preset.derivations:
            target = derivation.target
            if target in steps or target in unmapped_by_user:
                continue
            if all(r in plan.roles for r in derivation.roles) and target not in {
                d.target for d in plan.derivations
            }:
                plan.derivations.append(derivation)
    if require_text and "subject" not in steps and "body" not in steps:
        raise _text_error(name, header, preset)
    used = {i for s in steps.values() for i in s.positions}
    used |= {i for d in plan.derivations for r in d.reads(plan.roles) for i in plan.roles[r]}
    used |= {i for i, h in enumerate(header) if h in reserved}
    counts = Counter(h for i, h in enumerate(header) if i not in used)
    plan.unmapped = [f"{h!r} x{n}" if n > 1 else repr(h) for h, n in counts.items()]
    return plan
