"""Streaming readers for XLSX workbooks and Parquet files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from triage.errors import InputFileError
from triage.ingest.rows import Record, Table, is_blank


def open_xlsx(path: Path, sheet: str | None = None) -> Table:
    """Open the first (or named) sheet of an XLSX workbook in openpyxl's streaming mode.

    Empty sheet rows are formatting, not data: they are skipped, counted in
    `Table.blank_rows`, and do not take a row number.
    """
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
    table = Table(name, header, iter(()), [book])

    def records() -> Iterator[Record]:
        row = 0
        for sheet_row, values in enumerate(rows, start=2):
            values = list(values[:width]) + [None] * (width - len(values))
            if is_blank(values):
                table.blank_rows += 1
                continue
            row += 1
            yield Record(row, f"sheet row {sheet_row}", values)

    table.records = records()
    return table


def open_parquet(path: Path) -> Table:
    """Open a Parquet file, reading it one record batch at a time."""
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a non-Parquet file
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = list(pfile.schema_arrow.names)
    table = Table(str(path), columns, iter(()), [pfile])

    def records() -> Iterator[Record]:
        row = 0
        for batch in pfile.iter_batches(batch_size=5_000):
            cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*cols, strict=True):
                row += 1
                if is_blank(list(values)):
                    table.blank_rows += 1
                    continue
                yield Record(row, f"record {row} of the file", list(values))

    table.records = records()
    return table
