"""Importer for `rutube_support_ru`: Russian FAQ (knowledge base) and real support cases.

The KB (`knowledge_base.xlsx`) becomes `KBArticle`s with ids `rutube-kb-<data row>`:
stable for this file, and distinct even where the published KB repeats an entry
(it holds 26 repeated question/answer/category rows; each stays its own article, and a
case points at the first of them).

A case (`real_cases.xlsx`) names its gold KB entry by copying the entry's question
(`Вопрос из БЗ`), answer (`Ответ из БЗ`) and both classifier levels. The match is made
on whitespace-normalised text, in this order of preference: same question, answer and
categories; same question and answer; same question, and then the answer most similar
to the KB's (a few cases carry a lightly edited copy of the KB answer, e.g. a different
link). A case whose question is in no KB entry is an error, never an unlinked ticket.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from triage.contract import KBArticle, Ticket
from triage.errors import InputFileError, RowError
from triage.ingest.base import (
    ImportOptions,
    ImportReport,
    declare,
    optional_text,
    text_of,
    validate_article,
    validate_ticket,
)
from triage.ingest.tables import open_xlsx, row_position

KB_FILE = "knowledge_base.xlsx"
CASES_FILE = "real_cases.xlsx"
_TOPIC, _QUESTION, _ANSWER, _LEVEL1, _LEVEL2 = (
    "Тема",
    "Вопрос из БЗ",
    "Ответ из БЗ",
    "Классификатор 1 уровня",
    "Классификатор 2 уровня",
)
_USER_QUESTION, _AGENT_ANSWER = "Вопрос пользователя", "Ответ сотрудника"


def _norm(text: object) -> str:
    return " ".join(text_of(text).split())


@dataclass(frozen=True)
class _Entry:
    id: str
    question: str
    answer: str
    level1: str
    level2: str


def _folder(source: Path) -> Path:
    folder = source if source.is_dir() else source.parent
    for name in (KB_FILE, CASES_FILE):
        if not (folder / name).is_file():
            raise InputFileError(
                f"{folder}: {name} not found (rutube_support_ru takes the dataset folder)"
            )
    return folder


def iter_rutube_articles(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[KBArticle]:
    """The FAQ as articles: title = KB question, body = KB answer, two category levels."""
    with open_xlsx(_folder(source) / KB_FILE) as table:
        q, a, l1, l2 = (table.index(c) for c in (_QUESTION, _ANSWER, _LEVEL1, _LEVEL2))
        for rec in table:
            v = rec.values
            yield validate_article(
                {
                    "id": f"rutube-kb-{rec.row}",
                    "title": text_of(v[q]),
                    "body": text_of(v[a]),
                    "category": optional_text(v[l1]),
                    "subcategory": optional_text(v[l2]),
                    "language": "ru",
                },
                table.name,
                rec.row,
                rec.position,
            )


def _entries(folder: Path) -> dict[str, list[_Entry]]:
    by_question: dict[str, list[_Entry]] = {}
    with open_xlsx(folder / KB_FILE) as table:
        q, a, l1, l2 = (table.index(c) for c in (_QUESTION, _ANSWER, _LEVEL1, _LEVEL2))
        for rec in table:
            v = rec.values
            entry = _Entry(
                f"rutube-kb-{rec.row}", _norm(v[q]), _norm(v[a]), _norm(v[l1]), _norm(v[l2])
            )
            by_question.setdefault(entry.question, []).append(entry)
    return by_question


def _gold(candidates: list[_Entry], answer: str, level1: str, level2: str) -> _Entry:
    def score(entry: _Entry) -> tuple[bool, bool, float]:
        same_answer = entry.answer == answer
        same_cats = (entry.level1, entry.level2) == (level1, level2)
        similarity = (
            1.0 if same_answer else difflib.SequenceMatcher(None, entry.answer, answer).ratio()
        )
        return same_answer, same_cats, similarity

    # max() keeps the first of equal scores: the earliest KB row wins ties.
    return max(candidates, key=score)


def iter_rutube_cases(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """Real cases: body = user question, agent_answer = agent's reply, category/subcategory
    = level-1/level-2 classifier, kb_article_id = the gold KB entry. Ids `rutube-<data row>`."""
    folder = _folder(source)
    by_question = _entries(folder)
    with open_xlsx(folder / CASES_FILE) as table:
        uq, aa, q, a, l1, l2 = (
            table.index(c)
            for c in (_USER_QUESTION, _AGENT_ANSWER, _QUESTION, _ANSWER, _LEVEL1, _LEVEL2)
        )
        columns = {
            "body": _USER_QUESTION,
            "agent_answer": _AGENT_ANSWER,
            "category": _LEVEL1,
            "subcategory": _LEVEL2,
        }
        declare(report, columns | {"kb_article_id": _QUESTION})
        for rec in table:
            v = rec.values
            candidates = by_question.get(_norm(v[q]))
            if not candidates:
                raise RowError(
                    table.name,
                    rec.row,
                    _QUESTION,
                    f"no knowledge-base entry has the question {text_of(v[q])[:80]!r} "
                    + row_position(rec.row, rec.position),
                )
            gold = _gold(candidates, _norm(v[a]), _norm(v[l1]), _norm(v[l2]))
            data = {
                "id": f"rutube-{rec.row}",
                "body": text_of(v[uq]),
                "agent_answer": optional_text(v[aa]),
                "category": optional_text(v[l1]),
                "subcategory": optional_text(v[l2]),
                "language": "ru",
                "kb_article_id": gold.id,
            }
            yield validate_ticket(data, table.name, rec.row, rec.position, columns)
