"""Every tabular source an importer reads, opened by one call: `open_table`.

CSV (optionally inside a zip), XLSX, Parquet and JSON (lines, documents, API pages,
archives of them) all become a `Table` of `Record`s, streamed one at a time so memory
stays flat however long the file is. The readers live in `csv_files`, `sheets` and
`json_files`; their shared types in `rows`.
"""

from __future__ import annotations

from pathlib import Path

from triage.errors import InputFileError
from triage.ingest.csv_files import check_encoding, decoded_lines, open_csv
from triage.ingest.json_files import open_json
from triage.ingest.rows import (
    BadRowHandler,
    Record,
    Table,
    clean_cell,
    is_blank,
    missing_column,
    row_position,
)
from triage.ingest.sheets import open_parquet, open_xlsx

__all__ = [
    "TABLE_FORMATS",
    "BadRowHandler",
    "Record",
    "Table",
    "check_encoding",
    "clean_cell",
    "decoded_lines",
    "format_of",
    "is_blank",
    "missing_column",
    "open_csv",
    "open_json",
    "open_jsonl",
    "open_parquet",
    "open_table",
    "open_xlsx",
    "row_position",
]

TABLE_FORMATS = ("csv", "parquet", "jsonl", "json", "xlsx")


def open_jsonl(path: Path, encoding: str = "utf-8") -> Table:
    """Open a JSON-lines file (kept for callers that name the format)."""
    return open_json(path, encoding)


def format_of(path: Path) -> str:
    """The table format a file name implies (csv, parquet, jsonl, json, xlsx)."""
    suffixes = [s.lower() for s in path.suffixes]
    for fmt, exts in (
        ("parquet", (".parquet", ".pq")),
        ("jsonl", (".jsonl", ".ndjson")),
        ("json", (".json",)),
        ("xlsx", (".xlsx", ".xlsm")),
        ("csv", (".csv",)),
    ):
        if suffixes and suffixes[-1] in exts:
            return fmt
    if path.is_dir():
        return "json"
    if suffixes and suffixes[-1] == ".zip":
        return _zip_format(path)
    return "csv"


def _zip_format(path: Path) -> str:
    import zipfile

    from triage.ingest.archives import visible

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return "csv"  # open_csv names the problem
    return (
        "json"
        if not visible(names, (".csv",)) and visible(names, (".json", ".jsonl", ".ndjson"))
        else "csv"
    )


def open_table(
    path: Path,
    fmt: str | None = None,
    encoding: str = "utf-8",
    *,
    flatten: bool = False,
    on_bad_row: BadRowHandler | None = None,
) -> Table:
    """Open any supported table; `fmt` defaults to what the file name implies.

    `flatten` turns nested JSON values into dotted columns (see `json_files`);
    `on_bad_row` takes malformed rows instead of raising (`--on-error skip`).
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if path.is_dir() and fmt not in ("json", "jsonl"):
        raise InputFileError(
            f"{path}: is a folder; this format reads one file (dataset folders have their own "
            "--format; a folder of JSON pages reads with a JSON format)"
        )
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if fmt == "csv":
        return open_csv(path, encoding, on_bad_row=on_bad_row)
    if fmt == "xlsx":
        return open_xlsx(path)
    if fmt == "parquet":
        return open_parquet(path)
    if fmt in ("jsonl", "json"):
        return open_json(path, encoding, flatten_nested=flatten, on_bad_row=on_bad_row)
    raise InputFileError(
        f"{path}: unknown table format {fmt!r}; expected one of {', '.join(TABLE_FORMATS)}"
    )
