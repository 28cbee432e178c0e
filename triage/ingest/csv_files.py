"""Streaming CSV reader (a plain file or the CSV inside a zip), decoding line by line.

Memory stays flat however long the file is. Rows of only empty cells (Jira's trailing
`,,,,` rows, blank lines) are skipped and counted in `Table.blank_rows`. A record with
more or fewer fields than the header is a `RowError`; with a bad-row handler the caller
may skip it instead (`--on-error skip`).
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from triage.errors import InputFileError, RowError
from triage.ingest.archives import visible
from triage.ingest.rows import BadRowHandler, Record, Table, is_blank, row_position

# Real exports carry long descriptions; the csv module's default cap is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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


def _whole_stream(raw: IO[bytes], name: str, codec: str, encoding: str) -> Iterator[str]:
    # UTF-16/32: a b"\n" byte is not a line boundary, so decode the stream as a whole.
    text = io.TextIOWrapper(raw, encoding=codec, newline="")
    line = 0
    try:
        for chunk in text:
            line += 1
            yield chunk
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{name}: cannot decode the bytes after line {line} as {encoding} ({exc.reason}); "
            "pass the file's encoding with --encoding"
        ) from None


def decoded_lines(raw: IO[bytes], name: str, encoding: str) -> Iterator[str]:
    """Text lines of a binary stream, decoded one line at a time so an error names its line."""
    codec = check_encoding(encoding, name)
    if "\n".encode(codec if codec != "utf-8-sig" else "utf-8") != b"\n":
        yield from _whole_stream(raw, name, codec, encoding)
        return
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
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


class _Records:
    """The records of a CSV body: numbering, blank rows, short and long rows."""

    def __init__(
        self,
        table_name: str,
        width: int,
        on_truncated_tail: Callable[[int, str], None] | None,
        on_bad_row: BadRowHandler | None,
        header_lines: int,
    ) -> None:
        self.name, self.width, self.header_lines = table_name, width, header_lines
        self.on_truncated_tail, self.on_bad_row = on_truncated_tail, on_bad_row
        self.table: Table | None = None

    def _bad(self, error: RowError) -> None:
        if self.on_bad_row is None:
            raise error
        self.on_bad_row(error)

    def _short(self, record: Record) -> RowError:
        return RowError(
            self.name,
            record.row,
            None,
            f"has {len(record.values)} fields but the header has {self.width} (truncated row?) "
            + row_position(record.row, record.position),
        )

    def _blank(self) -> None:
        if self.table is not None:
            self.table.blank_rows += 1

    def _end(self, held: Record | None) -> None:
        if held is None:
            return
        if self.on_truncated_tail is None:
            self._bad(self._short(held))
        else:
            self.on_truncated_tail(
                held.row, f"the last record has {len(held.values)} of {self.width} fields"
            )

    def _broken(self, lines: Iterator[str], row: int, start_line: int, exc: csv.Error) -> None:
        """An unterminated quote: the last record of a cut file may be dropped; anywhere else
        what follows cannot be told apart, so it ends the read even when skipping rows."""
        if self.on_truncated_tail is not None and next(lines, None) is None:
            self.on_truncated_tail(row, f"the last record ends inside a quoted field ({exc})")
            return
        raise RowError(
            self.name,
            row,
            None,
            f"malformed CSV ({exc}): the record starting on line {start_line} has an "
            "unterminated quote or stray characters; a truncated file ends like this "
            + row_position(row, f"line {start_line} of the file"),
        ) from None

    def _fits(self, record: Record) -> bool | None:
        """True: a full record; None: blank (counted); False: too long (handled)."""
        if is_blank(record.values):
            self._blank()  # `,,,,`: spreadsheets pad exports with these
            return None
        if len(record.values) > self.width:
            self._bad(
                RowError(
                    self.name,
                    record.row,
                    None,
                    f"has {len(record.values)} fields but the header has {self.width} "
                    + row_position(record.row, record.position),
                )
            )
            return False
        return True

    def __call__(self, lines: Iterator[str]) -> Iterator[Record]:
        reader = csv.reader(lines, strict=True)
        row = 0
        held: Record | None = None  # a short record, held back until we know if it is the last
        while True:
            start_line = reader.line_num + self.header_lines + 1
            try:
                values = next(reader)
            except StopIteration:
                self._end(held)
                return
            except csv.Error as exc:
                if held is not None:
                    self._bad(self._short(held))
                self._broken(lines, row + 1, start_line, exc)
                return
            if not values:
                self._blank()  # an empty line
                continue
            if held is not None:
                self._bad(self._short(held))
                held = None
            row += 1
            where = f"record ends on line {reader.line_num + self.header_lines} of the file"
            record = Record(row, where, values)
            fits = self._fits(record)
            if fits and len(values) < self.width:
                held = record
            elif fits:
                yield record


def _open_raw(path: Path, member: str | None) -> tuple[IO[bytes], str, list[Any]]:
    closers: list[Any] = []
    try:
        if not zipfile.is_zipfile(path):
            raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by Table.close
            return raw, str(path), [raw]
        archive = zipfile.ZipFile(path)
        closers.append(archive)
        if member is None:
            members = visible(archive.namelist(), (".csv",))
            if len(members) != 1:
                archive.close()
                raise InputFileError(
                    f"{path}: expected one CSV inside the zip (__MACOSX/ and dotfiles aside), "
                    f"found {members}"
                )
            member = members[0]
        raw = archive.open(member)
        closers.append(raw)
        return raw, f"{path}:{member}", closers
    except OSError as exc:
        for c in closers:
            c.close()
        raise InputFileError(f"{path}: cannot open ({exc.strerror or exc})") from None


def open_csv(
    path: Path,
    encoding: str = "utf-8",
    member: str | None = None,
    on_truncated_tail: Callable[[int, str], None] | None = None,
    on_bad_row: BadRowHandler | None = None,
) -> Table:
    """Open a CSV file, or the CSV `member` of a zip archive (the only CSV when None).

    A record with fewer fields than the header, or an unterminated quote, is a `RowError`.
    Only when `on_truncated_tail` is given and that record is the file's last one, the
    record is skipped and the callback gets its row number and what was wrong with it.
    With `on_bad_row`, a record with the wrong number of fields goes to it instead of
    ending the read.
    """
    raw, name, closers = _open_raw(path, member)

    def close_all() -> None:
        for c in reversed(closers):
            c.close()

    lines = decoded_lines(raw, name, encoding)
    header_reader = csv.reader(lines, strict=True)
    try:
        header = next(header_reader, [])
    except csv.Error as exc:
        close_all()
        raise InputFileError(f"{name}: the header line is not valid CSV ({exc})") from None
    except InputFileError:
        close_all()
        raise
    if not header:
        close_all()
        raise InputFileError(f"{name}: empty file, no header line")
    header = [h.strip() for h in header]
    records = _Records(name, len(header), on_truncated_tail, on_bad_row, header_reader.line_num)
    table = Table(name, header, records(lines), closers)
    records.table = table
    return table
