"""Jira Server / Data Center and Jira Cloud CSV exports ("all fields" and "current fields").

The export's headers follow the exporting user's language; the names below are Jira's
own for English, German, French, Spanish, Portuguese, Russian and Polish (older and
newer translations both). Multi-valued fields repeat their column (`Labels` x4,
`Comment` x13): labels are joined into tags, the first non-empty component becomes the
team. Comments read `date;author;text`; the first one not written by the reporter gives
`first_response_at`. Dates are `dd/MMM/yy h:mm a` with the month in the user's language,
or whatever a spreadsheet re-saved them as (`16/02/2017 15:26`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from triage.ingest.dates import fold
from triage.ingest.presets.base import Derivation, Preset, RowContext

# field -> language -> header names
_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "id": {
        "en": ("Issue key",),
        "de": ("Vorgangsschlüssel", "Schlüssel"),
        "fr": ("Clé de ticket", "Clé de la demande", "Clé"),
        "es": ("Clave de incidencia", "Clave"),
        "pt": ("Chave do item", "Chave da item", "Chave da pendência", "Chave"),
        "ru": ("Ключ задачи", "Ключ проблемы", "Ключ"),
        "pl": ("Klucz zgłoszenia", "Klucz"),
    },
    "subject": {
        "en": ("Summary",),
        "de": ("Zusammenfassung",),
        "fr": ("Résumé",),
        "es": ("Resumen",),
        "pt": ("Resumo",),
        "ru": ("Тема", "Краткое описание"),
        "pl": ("Podsumowanie",),
    },
    "body": {
        "en": ("Description",),
        "de": ("Beschreibung",),
        "fr": ("Description",),
        "es": ("Descripción",),
        "pt": ("Descrição",),
        "ru": ("Описание",),
        "pl": ("Opis",),
    },
    "created_at": {
        "en": ("Created",),
        "de": ("Erstellt",),
        "fr": ("Création", "Créé", "Créée"),
        "es": ("Creada", "Creado"),
        "pt": ("Criado", "Criada"),
        "ru": ("Создано", "Дата создания"),
        "pl": ("Utworzono", "Utworzone"),
    },
    "resolved_at": {
        "en": ("Resolved",),
        "de": ("Erledigt", "Gelöst"),
        "fr": ("Résolue", "Résolu"),
        "es": ("Resuelta", "Resuelto"),
        "pt": ("Resolvido", "Resolvida"),
        "ru": ("Дата решения", "Решено"),
        "pl": ("Rozwiązano", "Rozwiązane"),
    },
    "priority": {
        "en": ("Priority",),
        "de": ("Priorität",),
        "fr": ("Priorité",),
        "es": ("Prioridad",),
        "pt": ("Prioridade",),
        "ru": ("Приоритет",),
        "pl": ("Priorytet",),
    },
    "category": {
        "en": ("Issue Type",),
        "de": ("Vorgangstyp",),
        "fr": ("Type de ticket", "Type de demande"),
        "es": ("Tipo de incidencia",),
        "pt": ("Tipo de item", "Tipo de pendência"),
        "ru": ("Тип задачи", "Тип проблемы"),
        "pl": ("Typ zgłoszenia",),
    },
    "assignee": {
        "en": ("Assignee",),
        "de": ("Bearbeiter", "Zugewiesene Person"),
        "fr": ("Responsable", "Personne assignée"),
        "es": ("Persona asignada", "Responsable"),
        "pt": ("Responsável",),
        "ru": ("Исполнитель",),
        "pl": ("Osoba przypisana",),
    },
    "requester": {
        "en": ("Reporter",),
        "de": ("Autor", "Melder", "Berichterstatter"),
        "fr": ("Rapporteur",),
        "es": ("Informador",),
        "pt": ("Relator",),
        "ru": ("Автор",),
        "pl": ("Zgłaszający",),
    },
    "team": {
        "en": ("Component/s",),
        "de": ("Komponente/n", "Komponenten"),
        "fr": ("Composant/s", "Composants"),
        "es": ("Componente/s", "Componentes"),
        "pt": ("Componente/s", "Componentes"),
        "ru": ("Компоненты",),
        "pl": ("Komponent/y", "Komponenty"),
    },
    "tags": {
        "en": ("Labels",),
        "de": ("Stichwörter", "Labels"),
        "fr": ("Étiquettes", "Libellés"),
        "es": ("Etiquetas",),
        "pt": ("Rótulos", "Etiquetas"),
        "ru": ("Метки",),
        "pl": ("Etykiety",),
    },
    "extra.status": {
        "en": ("Status",),
        "de": ("Status",),
        "fr": ("État", "Statut"),
        "es": ("Estado",),
        "pt": ("Status", "Estado"),
        "ru": ("Статус",),
        "pl": ("Status",),
    },
    "extra.resolution": {
        "en": ("Resolution",),
        "de": ("Lösung",),
        "fr": ("Résolution",),
        "es": ("Resolución",),
        "pt": ("Resolução",),
        "ru": ("Решение", "Резолюция"),
        "pl": ("Rozwiązanie",),
    },
    "extra.project": {
        "en": ("Project key",),
        "de": ("Projektschlüssel",),
        "fr": ("Clé du projet", "Clé de projet"),
        "es": ("Clave de proyecto", "Clave del proyecto"),
        "pt": ("Chave do projeto",),
        "ru": ("Ключ проекта",),
        "pl": ("Klucz projektu",),
    },
}
_ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "comments": {
        "en": ("Comment",),
        "de": ("Kommentar",),
        "fr": ("Commentaire",),
        "es": ("Comentario",),
        "pt": ("Comentário",),
        "ru": ("Комментарий",),
        "pl": ("Komentarz",),
    },
    "reporter_id": {"en": ("Reporter Id", "Reporter ID")},
}
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "ru": "Russian",
    "pl": "Polish",
}


def _merged(table: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for target, by_language in table.items():
        names: list[str] = []
        for language in LANGUAGE_NAMES:
            names += [n for n in by_language.get(language, ()) if n not in names]
        out[target] = tuple(names)
    return out


def _languages() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {language: set() for language in LANGUAGE_NAMES}
    for table in (_HEADERS, _ROLES):
        for by_language in table.values():
            for language, names in by_language.items():
                out[language].update(fold(n) for n in names)
    return {language: frozenset(names) for language, names in out.items()}


def parse_comment(cell: str) -> tuple[str, str, str]:
    """`date;author;text` -> its parts (text may hold more semicolons)."""
    when, _, rest = cell.partition(";")
    author, _, text = rest.partition(";")
    return when.strip(), author.strip(), text


def first_response(ctx: RowContext) -> datetime | None:
    """The earliest comment whose author is not the reporter (by name or account id)."""
    reporter = {
        str(v).strip()
        for v in (ctx.data.get("requester"), *ctx.roles.get("reporter_id", ()))
        if v is not None and str(v).strip()
    }
    first: datetime | None = None
    for cell in ctx.roles.get("comments", ()):
        if cell is None or not str(cell).strip():
            continue
        when, author, _ = parse_comment(str(cell))
        if author and author in reporter:
            continue
        at = ctx.dates(when)  # raises ValueError naming the date when it cannot be read
        if at is not None and (first is None or at < first):
            first = at
    return first


def _first_response_in_comments(ctx: RowContext) -> Any:
    return first_response(ctx)


JIRA = Preset(
    name="jira",
    title="Jira CSV export",
    description="Jira Server/Data Center and Cloud CSV export (all or current fields), "
    "headers in en/de/fr/es/pt/ru/pl",
    fields=_merged(_HEADERS),
    roles=_merged(_ROLES),
    derivations=(
        Derivation(
            "first_response_at",
            ("comments",),
            "the first comment (date;author;text) not written by the reporter; a comment "
            "without an author counts",
            _first_response_in_comments,
            optional=("reporter_id",),
        ),
    ),
    languages=_languages(),
)
