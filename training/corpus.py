"""The data a run trains on: the tickets and KB articles loaded from a file (`load_data`),
the heads their labels support (`head_labels`), the languages of their text, and the
`Corpus` that holds them row-aligned with their feature matrices."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from triage.contract import KBArticle, Ticket
from triage.dataset import iter_articles, iter_tickets, kb_path_for
from triage.errors import InputFileError

TEXT_HEADS = ("category", "subcategory", "priority", "team", "assignee")
MIN_LABELLED = 30


@dataclass
class Corpus:
    """The loaded tickets and everything derived from them, row-aligned."""

    tickets: list[Ticket]
    articles: list[KBArticle]
    texts: list[str]  # normalised, what the TF-IDF graph reads
    x_text: sp.csr_matrix | None = None
    x_emb: np.ndarray | None = None
    x_meta: np.ndarray | None = None
    kb_text: sp.csr_matrix | None = None  # KB titles (questions)
    kb_emb: np.ndarray | None = None
    kb_body_text: sp.csr_matrix | None = None  # KB answers: a weaker second field for auto-reply
    kb_body_emb: np.ndarray | None = None
    # Word stems (`triage.vectorizer`'s third block): the auto-reply matcher's only.
    x_stem: sp.csr_matrix | None = None
    kb_stem: sp.csr_matrix | None = None
    kb_body_stem: sp.csr_matrix | None = None


def load_data(path: Path) -> tuple[list[Ticket], list[KBArticle]]:
    """Tickets of `path` and the KB articles of its `.kb.parquet` sibling (if any)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    tickets = list(iter_tickets(path))
    if not tickets:
        raise InputFileError(f"{path}: no tickets")
    kb = kb_path_for(path)
    articles = list(iter_articles(kb)) if kb.exists() else []
    return tickets, articles


def head_labels(tickets: list[Ticket]) -> dict[str, tuple[str, list[str | None]]]:
    """The heads this data supports: name → (ticket field, label per ticket or None).

    A label qualifies with at least `MIN_LABELLED` values and two classes that occur
    twice or more. Escalation uses `escalated`, else `sla_breached`.
    """
    heads: dict[str, tuple[str, list[str | None]]] = {}

    def usable(values: list[str | None]) -> bool:
        counts = Counter(v for v in values if v is not None)
        return sum(counts.values()) >= MIN_LABELLED and sum(c >= 2 for c in counts.values()) >= 2

    for name in TEXT_HEADS:
        values = [getattr(t, name) for t in tickets]
        values = [v if v else None for v in values]
        if usable(values):
            heads[name] = (name, values)
    for fld in ("escalated", "sla_breached"):
        values = [
            None if getattr(t, fld) is None else str(getattr(t, fld)).lower() for t in tickets
        ]
        if usable(values):
            heads["escalation"] = (fld, values)
            break
    return heads


def supported_languages(tickets: list[Ticket], texts: list[str], seed: int) -> list[str]:
    """Languages the text models were trained on: the data's `language` column, else detected."""
    declared = [t.language for t in tickets if t.language]
    if len(declared) >= 0.5 * len(tickets):
        codes = Counter(c.lower() for c in declared)
    else:
        from triage.language import UNDETERMINED, detect

        rng = np.random.default_rng(seed)
        sample = rng.choice(len(tickets), size=min(2_000, len(tickets)), replace=False)
        codes = Counter(detect(tickets[i].text)[0] for i in sample)
        codes.pop(UNDETERMINED, None)
    total = sum(codes.values())
    return sorted(c for c, n in codes.items() if n >= 3 and n >= 0.01 * total)
