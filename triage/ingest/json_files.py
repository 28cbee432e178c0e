"""JSON sources as tables: JSON lines, JSON documents, API pages, and archives of them.

What help desks hand out as "JSON" comes in several shapes, all read here:

* NDJSON / JSON lines: one object per line (Zendesk's JSON export, `.jsonl`, `.ndjson`);
* a document or an API page: `[...]`, `{"tickets": [...], "next_page": ...}` (Zendesk REST
  and incremental export), `{"result": [...]}` / `{"records": [...]}` (ServiceNow),
  `{"results": [...]}`, `{"ticket": {...}}`; several pages concatenated or one per line;
* a zip or a folder of such files (pages in natural order; `__MACOSX/` and dotfiles aside).

An object with an envelope key (`tickets`, `results`, `result`, `records`, ...) holding a
list, and no `id` of its own, is a page: its items are the rows.

With `flatten`, nested values become columns of their own: `via: {"channel": "web"}` is
the column `via.channel`; `custom_fields: [{"id": 7, "value": "x"}]` is `custom_fields.7`;
ServiceNow's `{"display_value": ..., "value": ...}` is its display value. Other lists
(tags) stay lists.

The file is read twice, once for the columns (exports leave empty fields out, so a key may
first appear on any row; this pass also checks every row before one is used) and once for
the records, a line at a time where the file has lines.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from triage.errors import InputFileError, RowError
from triage.ingest.archives import files_in, visible
from triage.ingest.csv_files import check_encoding, decoded_lines
from triage.ingest.rows import BadRowHandler, Record, Table, is_blank, row_position

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_LINE_SUFFIXES = (".jsonl", ".ndjson")
ENVELOPE_KEYS = ("tickets", "results", "result", "records", "incidents", "requests", "items")


@dataclass(frozen=True)
class _Source:
    label: str
    open: Callable[[], IO[bytes]]
    lines: bool


class _BadJson(Exception):
    def __init__(self, where: str, reason: str, fatal: bool) -> None:
        super().__init__(reason)
        self.where, self.reason, self.fatal = where, reason, fatal


def _looks_like_lines(opener: Callable[[], IO[bytes]]) -> bool:
    """A `.json` file whose first two non-blank lines each parse on their own is NDJSON."""
    with opener() as raw:
        complete = 0
        for chunk in raw:
            if not chunk.strip():
                continue
            try:
                json.loads(chunk)
            except ValueError:
                return False
            complete += 1
            if complete == 2:
                return True
    return False


def _sources(path: Path, label: str = "the file") -> list[_Source]:
    """What to read, each with the label positions use ("line 3 of the file", "line 3 of
    page-2.json" inside an archive or folder)."""
    if path.is_dir():
        files = [p for p in files_in(path, "*") if p.name.lower().endswith(JSON_SUFFIXES)]
        if not files:
            raise InputFileError(f"{path}: no .json/.jsonl/.ndjson files in the folder")
        return [s for f in files for s in _sources(f, f.name)]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = visible(archive.namelist(), JSON_SUFFIXES)
        if not members:
            raise InputFileError(
                f"{path}: no JSON file inside the zip (__MACOSX/ and dotfiles aside)"
            )

        def member_opener(member: str) -> Callable[[], IO[bytes]]:
            def opener() -> IO[bytes]:
                archive = zipfile.ZipFile(path)
                # _ClosingMember has what the readers use of IO[bytes]: iteration, read,
                # close and the context manager.
                return cast(IO[bytes], _ClosingMember(archive, archive.open(member)))

            return opener

        return [
            _Source(
                m,
                member_opener(m),
                m.lower().endswith(_LINE_SUFFIXES) or _looks_like_lines(member_opener(m)),
            )
            for m in members
        ]

    def opener() -> IO[bytes]:
        try:
            return open(path, "rb")  # noqa: SIM115 - the reader closes it
        except OSError as exc:
            raise InputFileError(f"{path}: cannot open ({exc.strerror or exc})") from None

    lines = path.suffix.lower() in _LINE_SUFFIXES or _looks_like_lines(opener)
    return [_Source(label, opener, lines)]


class _ClosingMember:
    """A zip member stream that also closes its archive."""

    def __init__(self, archive: zipfile.ZipFile, raw: IO[bytes]) -> None:
        self.archive, self.raw = archive, raw

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.raw)

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        self.archive.close()

    def __enter__(self) -> _ClosingMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line_values(src: _Source, encoding: str) -> Iterator[tuple[str, Any]]:
    with src.open() as raw:
        for line_no, text in enumerate(decoded_lines(raw, src.label, encoding), start=1):
            if not text.strip():
                continue
            where = f"line {line_no} of {src.label}"
            try:
                yield where, json.loads(text)
            except json.JSONDecodeError as exc:
                yield where, _BadJson(where, f"invalid JSON ({exc.msg})", fatal=False)


def _document_values(src: _Source, encoding: str) -> Iterator[tuple[str, Any]]:
    with src.open() as raw:
        data = raw.read()
    try:
        text = data.decode(check_encoding(encoding, src.label))
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{src.label}: byte {exc.start} is not valid {encoding} ({exc.reason}); "
            "pass the file's encoding with --encoding"
        ) from None
    decoder = json.JSONDecoder()
    pos, count = 0, 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        count += 1
        line = text.count("\n", 0, pos) + 1
        where = f"JSON value {count} (line {line}) of {src.label}"
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield (
                where,
                _BadJson(
                    f"line {exc.lineno} of {src.label}", f"invalid JSON ({exc.msg})", fatal=True
                ),
            )
            return
        yield where, value


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if set(value) == {"ticket"} and isinstance(value["ticket"], dict):
            return [value["ticket"]]
        if "id" not in value:
            for key in ENVELOPE_KEYS:
                if isinstance(value.get(key), list):
                    return value[key]
    return [value]


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted columns (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if "display_value" in value:
                out[name] = value["display_value"]
            else:
                out.update(flatten(value, name + "."))
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "id" in v and "value" in v for v in value)
        ):
            for item in value:
                out[f"{name}.{item['id']}"] = item["value"]
        else:
            out[name] = value
    return out


def _rows(
    sources: list[_Source], encoding: str, nested: bool
) -> Iterator[tuple[str, dict[str, Any] | _BadJson]]:
    for src in sources:
        values = _line_values(src, encoding) if src.lines else _document_values(src, encoding)
        for where, value in values:
            if isinstance(value, _BadJson):
                yield where, value
                continue
            items = _items(value)
            for i, item in enumerate(items, start=1):
                at = where if len(items) == 1 else f"item {i} of {where}"
                if not isinstance(item, dict):
                    yield at, _BadJson(at, "each row must be a JSON object", fatal=False)
                else:
                    yield at, (item if nested else flatten(item))


def open_json(
    path: Path,
    encoding: str = "utf-8",
    *,
    flatten_nested: bool = False,
    on_bad_row: BadRowHandler | None = None,
) -> Table:
    """Open JSON lines, a JSON document or API page, or a zip/folder of them, as a table.

    A line that is not JSON, or a row that is not an object, is a `RowError` raised before
    any row is used, unless `on_bad_row` takes it (then the row is skipped). A document
    that is not valid JSON past some point always ends the read.
    """
    path = Path(path)
    name = str(path)
    sources = _sources(path)
    nested = not flatten_nested
    columns: dict[str, None] = {}  # an ordered set
    row = 0
    for _where, obj in _rows(sources, encoding, nested):
        row += 1
        if isinstance(obj, _BadJson):
            if obj.fatal or on_bad_row is None:
                raise RowError(name, row, None, f"{obj.reason} " + row_position(row, obj.where))
            continue
        for key in obj:
            columns.setdefault(key, None)
    if not row:
        raise InputFileError(f"{name}: empty file, no JSON object")
    header = list(columns)
    table = Table(name, header, iter(()))

    def records() -> Iterator[Record]:
        n = 0
        for where, obj in _rows(sources, encoding, nested):
            n += 1
            if isinstance(obj, _BadJson):
                assert on_bad_row is not None  # pass one raised otherwise
                on_bad_row(RowError(name, n, None, f"{obj.reason} " + row_position(n, obj.where)))
                continue
            values = [obj.get(c) for c in header]
            if is_blank(values):
                table.blank_rows += 1
                continue
            yield Record(n, where, values)

    table.records = records()
    return table
