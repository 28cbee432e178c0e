"""How one cell becomes a field's value: dates, yes/no, channels, tags, text, extras.

A converter raises ValueError when a cell cannot be read; the caller turns that into a
`RowError` naming the column. A channel outside the contract's list is not an error: the
ticket keeps it in `extra.channel` and the import warns, counting each value.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from triage.contract import CHANNEL_ALIASES, Channel
from triage.ingest.base import optional_text, text_of
from triage.ingest.dates import DateReader, fold
from triage.ingest.presets import Preset
from triage.ingest.report_text import plural

DATE_FIELDS = frozenset({"created_at", "first_response_at", "resolved_at"})
BOOL_FIELDS = frozenset({"escalated", "sla_breached"})
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}
_CHANNELS = {c.value for c in Channel}


class OutsideEnum:
    """A channel value the contract has no name for, kept aside for `extra.channel`."""

    def __init__(self, text: str) -> None:
        self.text = text


def scalar(value: Any) -> str | int | float | bool | None:
    """A value as an `extra` entry holds it: lists joined, objects as JSON."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return ", ".join(text_of(v) for v in value if v is not None) or None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text_of(value)


def boolean(value: Any) -> bool:
    """A yes/no cell; ValueError for anything else."""
    if isinstance(value, bool):
        return value
    text = text_of(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a yes/no value")


def tags(values: list[Any], separator: str | None) -> list[str] | None:
    """Every tag of a row's tag columns (repeated columns joined, lists flattened)."""
    out: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend(text_of(v) for v in value if v is not None)
        elif separator:
            out.extend(text_of(value).split(separator))
        else:
            out.extend(text_of(value).replace(";", ",").split(","))
    cleaned = [t.strip() for t in out if t.strip()]
    return cleaned or None


def _text(value: Any) -> str:
    # Cells arrive cleaned (stripped, never empty): text needs no more work.
    return value if type(value) is str else text_of(scalar(value))


def _optional_text(value: Any) -> str | None:
    return value if type(value) is str else optional_text(scalar(value))


class Converters:
    """The converters of one import, with what they saw (date forms, channels kept aside)."""

    def __init__(self, preset: Preset | None, date_format: str | None) -> None:
        self.preset = preset
        self.date_format = date_format
        self.dates: dict[str, DateReader] = {}
        self.outside: Counter[str] = Counter()
        formats = preset.date_formats if preset else ()
        # Dates inside text (Jira comments) read loosely, the user's format first.
        self.loose = DateReader(None, ((date_format,) if date_format else ()) + formats, loose=True)

    def for_target(self, target: str) -> Callable[[Any], Any]:
        """How a non-empty cell becomes the value of `target`."""
        preset = self.preset
        if preset is not None and target in preset.value_maps:
            return self._mapped(target, preset.value_maps[target])
        if target in DATE_FIELDS:
            reader = DateReader(
                self.date_format,
                preset.date_formats if preset else (),
                loose=bool(preset and preset.loose_dates),
            )
            self.dates[target] = reader
            return reader
        if target in BOOL_FIELDS:
            return boolean
        if target == "channel":
            return self.channel
        if target.startswith("extra."):
            return scalar
        if target in ("subject", "body"):
            return _text
        return _optional_text

    def _mapped(self, target: str, table: dict[str, Any]) -> Callable[[Any], Any]:
        def convert(value: Any) -> Any:
            key = fold(text_of(value))
            if key in table:
                return table[key]
            raise ValueError(f"{value!r} is not one of {', '.join(repr(k) for k in table)}")

        return convert

    def channel(self, value: Any) -> str | OutsideEnum | None:
        """A channel the contract knows, or the raw value kept aside (counted)."""
        text = text_of(scalar(value)).strip()
        key = text.lower()
        if not key:
            return None
        if self.preset is not None and key in self.preset.channel_values:
            return self.preset.channel_values[key]
        if key in CHANNEL_ALIASES or key in _CHANNELS:
            return key
        self.outside[text] += 1
        return OutsideEnum(text)

    def warnings(self, column: str | None) -> list[str]:
        """What to tell the user about values kept aside."""
        if not self.outside:
            return []
        top = ", ".join(f"{v!r} x{n}" for v, n in self.outside.most_common(8))
        more = len(self.outside) - 8
        tail = f" and {more} more" if more > 0 else ""
        return [
            f"{column!r} -> channel: {plural(sum(self.outside.values()), 'row')} with a value "
            "outside "
            f"{', '.join(sorted(_CHANNELS))} ({top}{tail}); kept in extra.channel, channel "
            "left empty"
        ]
