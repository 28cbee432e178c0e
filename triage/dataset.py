"""The common on-disk format: Parquet files whose columns are the contract's fields.

Writers stream: rows are buffered in small batches and written as row groups, so a
million-row import never holds a million rows. A writer writes to a temporary file and
renames it only when the caller finishes without error, so a failed import never leaves
a partial file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from triage.contract import KBArticle, Ticket
from triage.errors import InputFileError
from triage.files import atomic_path

_TS = pa.timestamp("us", tz="UTC")

TICKET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("created_at", _TS),
        ("channel", pa.string()),
        ("subject", pa.string()),
        ("body", pa.string()),
        ("requester", pa.string()),
        ("customer_tier", pa.string()),
        ("language", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("priority", pa.string()),
        ("team", pa.string()),
        ("assignee", pa.string()),
        ("escalated", pa.bool_()),
        ("sla_breached", pa.bool_()),
        ("first_response_at", _TS),
        ("resolved_at", _TS),
        ("agent_answer", pa.string()),
        ("kb_article_id", pa.string()),
        # Structured extras as a JSON object: their keys differ per desk.
        ("extra", pa.string()),
    ]
)

ARTICLE_SCHEMA = pa.schema([(name, pa.string()) for name in KBArticle.model_fields])

M = TypeVar("M", bound=BaseModel)


def kb_path_for(path: str | Path) -> Path:
    """Where the knowledge-base articles that go with a ticket file live (`NAME.kb.parquet`)."""
    path = Path(path)
    return path.with_name(f"{path.name.removesuffix('.parquet')}.kb.parquet")


def _ticket_row(ticket: Ticket) -> dict:
    row = ticket.model_dump(mode="python")
    row["channel"] = ticket.channel.value if ticket.channel else None
    row["extra"] = (
        json.dumps(ticket.extra, ensure_ascii=False, sort_keys=True) if ticket.extra else None
    )
    return row


def _article_row(article: KBArticle) -> dict:
    return article.model_dump(mode="python")


class _Writer(Generic[M]):
    def __init__(self, path: str | Path, schema: pa.Schema, batch_rows: int = 2_000) -> None:
        self.path = Path(path)
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows_written = 0
        self._buffer: list[dict] = []
        self._target = ExitStack()  # holds `atomic_path(path)` while the writer is open
        self._tmp: Path | None = None  # the temporary file, inside the `with` block
        self._writer: pq.ParquetWriter | None = None

    def _row(self, item: M) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def write(self, item: M) -> None:
        """Buffer one record; flushes a row group every `batch_rows` records."""
        self._buffer.append(self._row(item))
        if len(self._buffer) >= self.batch_rows:
            self._flush()

    def write_all(self, items: Iterable[M]) -> None:
        """Write every record of an iterable."""
        for item in items:
            self.write(item)

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            if self._tmp is None:
                raise RuntimeError("write inside `with TicketWriter(path) as writer:`")
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._writer.write_table(table)
        self.rows_written += len(self._buffer)
        self._buffer.clear()

    def __enter__(self) -> _Writer[M]:
        self._tmp = self._target.enter_context(atomic_path(self.path))
        self._target.callback(self._close)  # first out: the file is complete before the rename
        return self

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._target.__exit__(exc_type, exc, tb)  # closes the writer, removes the file
            return
        with self._target:  # closes the writer, then renames the file over `path`
            self._flush()
            if self._writer is None:  # no rows: still write a valid, empty file
                pq.write_table(self.schema.empty_table(), self._tmp)


class TicketWriter(_Writer[Ticket]):
    """Streams `Ticket`s into a Parquet file, atomically."""

    def __init__(self, path: str | Path, batch_rows: int = 2_000) -> None:
        super().__init__(path, TICKET_SCHEMA, batch_rows)

    def _row(self, item: Ticket) -> dict:
        return _ticket_row(item)


class ArticleWriter(_Writer[KBArticle]):
    """Streams `KBArticle`s into a Parquet file, atomically."""

    def __init__(self, path: str | Path, batch_rows: int = 2_000) -> None:
        super().__init__(path, ARTICLE_SCHEMA, batch_rows)

    def _row(self, item: KBArticle) -> dict:
        return _article_row(item)


def _open(path: str | Path) -> pq.ParquetFile:
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from exc


def iter_ticket_rows(path: str | Path, batch_rows: int = 5_000) -> Iterator[dict]:
    """Rows of a ticket Parquet file as plain dicts (`extra` decoded), one batch in memory."""
    for batch in _open(path).iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            extra = row.get("extra")
            row["extra"] = json.loads(extra) if extra else {}
            yield row


def iter_tickets(path: str | Path, batch_rows: int = 5_000) -> Iterator[Ticket]:
    """`Ticket`s of a Parquet file in the common format, streamed."""
    for row in iter_ticket_rows(path, batch_rows):
        yield Ticket.model_validate(row)


def iter_articles(path: str | Path) -> Iterator[KBArticle]:
    """`KBArticle`s of a `.kb.parquet` file."""
    for batch in _open(path).iter_batches():
        for row in batch.to_pylist():
            yield KBArticle.model_validate(row)


def write_tickets(path: str | Path, tickets: Iterable[Ticket]) -> int:
    """Write tickets to `path` atomically; returns the number written."""
    with TicketWriter(path) as writer:
        writer.write_all(tickets)
    return writer.rows_written


def write_articles(path: str | Path, articles: Iterable[KBArticle]) -> int:
    """Write KB articles to `path` atomically; returns the number written."""
    with ArticleWriter(path) as writer:
        writer.write_all(articles)
    return writer.rows_written
