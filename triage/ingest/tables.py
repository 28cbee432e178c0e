"""Streaming readers for tabular exports: CSV (optionally inside a zip), XLSX, Parquet, JSONL.

Every reader yields one `Record` at a time, so memory stays flat however long the
file is. Record numbers are 1-based *data* rows (the header is not counted); each
record also carries where it sits in the file (the line a CSV record ends on, the
sheet row of an XLSX record) so an error message can point at it either way.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from triage.errors import InputFileError, RowError

# Real exports carry long descriptions; the csv module's default cap is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

TABLE_FORMATS = ("csv", "parquet", "jsonl", "xlsx")


@dataclass(frozen=True)
class Record:
    """One data row: its 1-based data-row number, its position in the file, its values."""

    row: int
    position: str
    values: list[Any]


@dataclass
class Table:
    """An open tabular source: its display name, its header and a stream of records."""

    name: str
    columns: list[str]
    records: Iterator[Record]
    _closers: list[Any] = field(default_factory=list)

    def __iter__(self) -> Iterator[Record]:
        return self.records

    def index(self, column: str) -> int:
        """Position of `column` in the header; `InputFileError` listing the header if absent."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise missing_column(self.name, column, self.columns) from None

    def close(self) -> None:
        """Release the underlying file handles."""
        for closer in reversed(self._closers):
            closer.close()
        self._closers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def missing_column(name: str, column: str, present: list[str]) -> InputFileError:
    """The error for a required column the file does not have, listing what it has."""
    shown = ", ".join(repr(c) for c in present) or "(none)"
    return InputFileError(
        f"{name}: required column {column!r} is missing; the columns present are: {shown}"
    )


def clean_cell(value: Any) -> Any:
    """A cell as the contract reads it: surrounding blanks stripped; empty text and NaN
    (how Parquet and pandas exports write a missing number) are missing values (None)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def row_position(row: int, where: str) -> str:
    """Text that says how a row number counts, appended to row error reasons."""
    return f"(row {row} = data row after the header; {where})"


def check_encoding(encoding: str, name: str = "") -> str:
    """The codec name to use for `encoding`; UTF-8 always tolerates a byte-order mark."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(
            f"{name + ': ' if name else ''}unknown encoding {encoding!r}; pass a Python codec "
            "name to --encoding, e.g. utf-8, cp1252, latin-1, utf-16"
        ) from None
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") else info.name


def _decoded_lines(raw: IO[bytes], name: str, encoding: str) -> Iterator[str]:
    """Text lines of a binary stream, decoded one line at a time so an error names its line."""
    codec = check_encoding(encoding, name)
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    ascii_newlines = "\n".encode(codec if codec != "utf-8-sig" else "utf-8") == b"\n"
    if not ascii_newlines:
        # UTF-16/32: a b"\n" byte is not a line boundary, so decode the stream as a whole.
        text = io.TextIOWrapper(raw, encoding=codec, newline="")
        line = 0
        try:
            for line, chunk in enumerate(text, start=1):
                yield chunk
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{name}: cannot decode the bytes after line {line} as {encoding} ({exc.reason}); "
                "pass the file's encoding with --encoding"
            ) from None
        return
    for line, chunk in enumerate(raw, start=1):
        try:
            yield decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise InputFileError(
                f"{name}: line {line}: byte {chunk[exc.start : exc.start + 1]!r} at column "
                f"{exc.start + 1} is not valid {encoding} ({exc.reason}); "
                "pass the file's encoding with --encoding, e.g. --encoding cp1252"
            ) from None
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{name}: the file ends in the middle of a {encoding} character ({exc.reason}); "
            "pass the file's encoding with --encoding"
        ) from None
    if tail:
        yield tail


def _csv_records(
    lines: Iterator[str],
    name: str,
    width: int,
    on_truncated_tail: Callable[[int, str], None] | None,
    header_lines: int,
) -> Iterator[Record]:
    reader = csv.reader(lines, strict=True)
    line_of = lambda n: n + header_lines
    row = 0
    held: Record | None = None  # a short record, held back until we know whether it is the last
    while True:
        start_line = line_of(reader.line_num) + 1
        try:
            values = next(reader)
        except StopIteration:
            if held is not None:
                if on_truncated_tail is None:
                    raise _short(name, held, width) from None
                on_truncated_tail(
                    held.row, f"the last record has {len(held.values)} of {width} fields"
                )
            return
        except csv.Error as exc:
            row += 1
            if held is not None:
                raise _short(name, held, width) from None
            if on_truncated_tail is not None and next(lines, None) is None:
                on_truncated_tail(row, f"the last record ends inside a quoted field ({exc})")
                return
            raise RowError(
                name,
                row,
                None,
                f"malformed CSV ({exc}): the record starting on line {start_line} has an "
                "unterminated quote or stray characters; a truncated file ends like this "
                + row_position(row, f"line {start_line} of the file"),
            ) from None
        if not values:
            continue  # blank line
        if held is not None:
            raise _short(name, held, width)
        row += 1
        record = Record(row, f"record ends on line {line_of(reader.line_num)} of the file", values)
        if len(values) < width:
            held = record
            continue
        if len(values) > width:
            raise RowError(
                name,
                row,
                None,
                f"has {len(values)} fields but the header has {width} "
                + row_position(row, record.position),
            )
        yield record


def _short(name: str, record: Record, width: int) -> RowError:
    return RowError(
        name,
        record.row,
        None,
        f"has {len(record.values)} fields but the header has {width} (truncated row?) "
        + row_position(record.row, record.position),
    )


def open_csv(
    path: Path,
    encoding: str = "utf-8",
    member: str | None = None,
    on_truncated_tail: Callable[[int, str], None] | None = None,
) -> Table:
    """Open a CSV file, or the CSV `member` of a zip archive (the only CSV when None).

    A record with fewer fields than the header, or an unterminated quote, is a `RowError`.
    Only when `on_truncated_tail` is given and that record is the file's last one, the
    record is skipped and the callback gets its row number and what was wrong with it.
    """
    closers: list[Any] = []
    name = str(path)
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            closers.append(archive)
            if member is None:
                members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
                if len(members) != 1:
                    raise InputFileError(
                        f"{path}: expected one CSV inside the zip, found {members}"
                    )
                member = members[0]
            raw: IO[bytes] = archive.open(member)
            name = f"{path}:{member}"
        else:
            raw = open(path, "rb")  # noqa: SIM115 - closed by Table.close
        closers.append(raw)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot open ({exc.strerror or exc})") from None
    lines = _decoded_lines(raw, name, encoding)
    header_reader = csv.reader(lines, strict=True)
    try:
        header = next(header_reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise InputFileError(f"{name}: the header line is not valid CSV ({exc})") from None
    except InputFileError:
        for c in closers:
            c.close()
        raise
    if not header:
        for c in closers:
            c.close()
        raise InputFileError(f"{name}: empty file, no header line")
    header = [h.strip() for h in header]
    return Table(
        name,
        header,
        _csv_records(lines, name, len(header), on_truncated_tail, header_reader.line_num),
        closers,
    )


def open_xlsx(path: Path, sheet: str | None = None) -> Table:
    """Open the first (or named) sheet of an XLSX workbook in openpyxl's streaming mode."""
    import openpyxl  # heavy-ish; only XLSX imports need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a non-workbook
        raise InputFileError(f"{path}: not a readable XLSX workbook ({exc})") from None
    sheet_obj = book[sheet] if sheet else book.worksheets[0]
    name = f"{path}[{sheet_obj.title}]"
    rows = sheet_obj.iter_rows(values_only=True)
    header_row = next(rows, None)
    if not header_row:
        book.close()
        raise InputFileError(f"{name}: empty sheet, no header row")
    header = [str(h).strip() if h is not None else "" for h in header_row]
    while header and header[-1] == "":
        header.pop()
    width = len(header)

    def records() -> Iterator[Record]:
        row = 0
        for sheet_row, values in enumerate(rows, start=2):
            values = list(values[:width]) + [None] * (width - len(values))
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue  # an empty sheet row is formatting, not data
            row += 1
            yield Record(row, f"sheet row {sheet_row}", values)

    return Table(name, header, records(), [book])


def open_parquet(path: Path) -> Table:
    """Open a Parquet file, reading it one record batch at a time."""
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a non-Parquet file
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = list(pfile.schema_arrow.names)

    def records() -> Iterator[Record]:
        row = 0
        for batch in pfile.iter_batches(batch_size=5_000):
            cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*cols, strict=True):
                row += 1
                yield Record(row, f"record {row} of the file", list(values))

    return Table(str(path), columns, records(), [pfile])


def _open_binary(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")  # the caller closes it
    except OSError as exc:
        raise InputFileError(f"{path}: cannot open ({exc.strerror or exc})") from None


def _json_objects(
    raw: IO[bytes], name: str, encoding: str
) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(row, line, object) for every non-blank line; a line that is not a JSON object is a
    `RowError`."""
    row = 0
    for line_no, text in enumerate(_decoded_lines(raw, name, encoding), start=1):
        if not text.strip():
            continue
        row += 1
        where = row_position(row, f"line {line_no} of the file")
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RowError(name, row, None, f"invalid JSON ({exc.msg}) " + where) from None
        if not isinstance(obj, dict):
            raise RowError(name, row, None, "each line must hold a JSON object " + where)
        yield row, line_no, obj


def open_jsonl(path: Path, encoding: str = "utf-8") -> Table:
    """Open a JSON-lines file; the columns are the keys of all its objects, in the order
    they first appear.

    Exports leave empty fields out, so a key may first appear on any line: the file is
    read twice, once for the keys (which also checks every line before a row is used)
    and once for the records, each a line at a time.
    """
    name = str(path)
    columns: dict[str, None] = {}  # an ordered set
    rows = 0
    with _open_binary(path) as raw:
        for rows, _line, obj in _json_objects(raw, name, encoding):
            for key in obj:
                if key not in columns:
                    columns[key] = None
    if not rows:
        raise InputFileError(f"{name}: empty file, no JSON object")
    header = list(columns)
    raw = _open_binary(path)

    def records() -> Iterator[Record]:
        for row, line_no, obj in _json_objects(raw, name, encoding):
            yield Record(row, f"line {line_no} of the file", [obj.get(c) for c in header])

    return Table(name, header, records(), [raw])


def format_of(path: Path) -> str:
    """The table format a file name implies (csv, parquet, jsonl, xlsx)."""
    suffixes = [s.lower() for s in path.suffixes]
    for fmt, exts in (
        ("parquet", (".parquet", ".pq")),
        ("jsonl", (".jsonl", ".ndjson")),
        ("xlsx", (".xlsx", ".xlsm")),
        ("csv", (".csv", ".zip")),
    ):
        if suffixes and suffixes[-1] in exts:
            return fmt
    return "csv"


def open_table(path: Path, fmt: str | None = None, encoding: str = "utf-8") -> Table:
    """Open any supported table; `fmt` defaults to what the file name implies."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(
            f"{path}: is a folder; this format reads one file (dataset folders have their own "
            "--format)"
        )
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    fmt = fmt or format_of(path)
    if fmt == "csv":
        return open_csv(path, encoding)
    if fmt == "xlsx":
        return open_xlsx(path)
    if fmt == "parquet":
        return open_parquet(path)
    if fmt == "jsonl":
        return open_jsonl(path, encoding)
    raise InputFileError(
        f"{path}: unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)}"
    )
