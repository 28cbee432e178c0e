"""The console's UI strings: English, with Russian, Polish and German translations.

Templates call `t("Sign in")`; a string missing from a language's catalogue shows in
English, so a new string never breaks a page. The language is `?lang=xx` (kept in a
cookie), else the browser's `Accept-Language`, else English.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "ru", "pl", "de")
LANG_COOKIE = "triage_console_lang"

# English -> (ru, pl, de).
_CATALOGUE: dict[str, tuple[str, str, str]] = {
    "Sign in": ("Войти", "Zaloguj się", "Anmelden"),
    "Sign out": ("Выйти", "Wyloguj się", "Abmelden"),
    "API key": ("API-ключ", "Klucz API", "API-Schlüssel"),
    "Sign in with an API key from `triage keys create`.": (
        "Войдите с API-ключом из `triage keys create`.",
        "Zaloguj się kluczem API z `triage keys create`.",
        "Melden Sie sich mit einem API-Schlüssel aus `triage keys create` an.",
    ),
    "That key is not valid.": (
        "Этот ключ недействителен.",
        "Ten klucz jest nieprawidłowy.",
        "Dieser Schlüssel ist ungültig.",
    ),
    "Queues": ("Очереди", "Kolejki", "Warteschlangen"),
    "Human triage": ("Ручная сортировка", "Ręczna klasyfikacja", "Manuelle Sichtung"),
    "Mine": ("Мои", "Moje", "Meine"),
    "My team": ("Моя команда", "Mój zespół", "Mein Team"),
    "Breaching soon": ("Скоро нарушение SLA", "Wkrótce po terminie", "Bald überfällig"),
    "Unconfirmed priority": (
        "Приоритет не подтверждён",
        "Niepotwierdzony priorytet",
        "Unbestätigte Priorität",
    ),
    "All open": ("Все открытые", "Wszystkie otwarte", "Alle offenen"),
    "Dashboard": ("Панель", "Pulpit", "Übersicht"),
    "Ticket": ("Заявка", "Zgłoszenie", "Ticket"),
    "Subject": ("Тема", "Temat", "Betreff"),
    "SLA time left": ("Осталось по SLA", "Pozostało SLA", "SLA-Restzeit"),
    "Breach risk": ("Риск нарушения", "Ryzyko naruszenia", "Eskalationsrisiko"),
    "Priority": ("Приоритет", "Priorytet", "Priorität"),
    "Category": ("Категория", "Kategoria", "Kategorie"),
    "Subcategory": ("Подкатегория", "Podkategoria", "Unterkategorie"),
    "Team": ("Команда", "Zespół", "Team"),
    "Assignee": ("Исполнитель", "Przypisany", "Bearbeiter"),
    "Language": ("Язык", "Język", "Sprache"),
    "Channel": ("Канал", "Kanał", "Kanal"),
    "Status": ("Статус", "Status", "Status"),
    "unconfirmed": ("не подтверждён", "niepotwierdzony", "unbestätigt"),
    "breached": ("нарушен", "przekroczony", "überschritten"),
    "No tickets here.": ("Здесь нет заявок.", "Brak zgłoszeń.", "Keine Tickets."),
    "tickets": ("заявок", "zgłoszeń", "Tickets"),
    "Thread": ("Переписка", "Wątek", "Verlauf"),
    "Predictions": ("Предсказания", "Predykcje", "Vorhersagen"),
    "Field": ("Поле", "Pole", "Feld"),
    "Model says": ("Модель", "Model", "Modell"),
    "Confidence": ("Уверенность", "Pewność", "Konfidenz"),
    "Current": ("Сейчас", "Obecnie", "Aktuell"),
    "abstained": ("воздержалась", "wstrzymał się", "enthalten"),
    "Accept": ("Принять", "Akceptuj", "Übernehmen"),
    "Change": ("Изменить", "Zmień", "Ändern"),
    "New value": ("Новое значение", "Nowa wartość", "Neuer Wert"),
    "Why": ("Почему", "Dlaczego", "Warum"),
    "Top terms": ("Главные слова", "Najważniejsze słowa", "Wichtigste Begriffe"),
    "Similar past tickets": (
        "Похожие прошлые заявки",
        "Podobne wcześniejsze zgłoszenia",
        "Ähnliche frühere Tickets",
    ),
    "Suggested replies": ("Предлагаемые ответы", "Sugerowane odpowiedzi", "Antwortvorschläge"),
    "Use this reply": ("Использовать ответ", "Użyj odpowiedzi", "Antwort übernehmen"),
    "Reply": ("Ответ", "Odpowiedź", "Antwort"),
    "Send reply": ("Отправить ответ", "Wyślij odpowiedź", "Antwort senden"),
    "Move to": ("Перевести в", "Przenieś do", "Verschieben nach"),
    "Move": ("Перевести", "Przenieś", "Verschieben"),
    "Audit trail": ("Журнал изменений", "Historia zmian", "Änderungsprotokoll"),
    "None": ("Нет", "Brak", "Keine"),
    "SLA compliance": ("Соблюдение SLA", "Zgodność z SLA", "SLA-Einhaltung"),
    "SLA compliance over time": (
        "Соблюдение SLA по дням",
        "Zgodność z SLA w czasie",
        "SLA-Einhaltung im Verlauf",
    ),
    "Open tickets by team": (
        "Открытые заявки по командам",
        "Otwarte zgłoszenia wg zespołu",
        "Offene Tickets nach Team",
    ),
    "Breached, open": ("Нарушено, открыто", "Przekroczone, otwarte", "Überschritten, offen"),
    "Agent load against capacity": (
        "Загрузка агентов и ёмкость",
        "Obciążenie agentów a pojemność",
        "Auslastung der Agenten",
    ),
    "Auto-reply outcomes": (
        "Итоги автоответов",
        "Wyniki autoodpowiedzi",
        "Ergebnisse der Auto-Antworten",
    ),
    "CSAT": ("CSAT", "CSAT", "CSAT"),
    "Acceptance rate per head": (
        "Доля принятых предсказаний по головам",
        "Odsetek zaakceptowanych predykcji wg głowicy",
        "Akzeptanzrate je Kopf",
    ),
    "sent": ("отправлено", "wysłane", "gesendet"),
    "resolved": ("решено", "rozwiązane", "gelöst"),
    "reopened": ("переоткрыто", "ponownie otwarte", "wiedereröffnet"),
    "no answer": ("без ответа", "bez odpowiedzi", "keine Antwort"),
    "answered": ("с ответом", "z odpowiedzią", "beantwortet"),
    "average": ("среднее", "średnia", "Durchschnitt"),
    "follow-ups": ("на контроле", "do wyjaśnienia", "Nachfassen"),
    "Tag": ("Метка", "Tag", "Tag"),
    "Filter": ("Фильтр", "Filtruj", "Filtern"),
    "Refresh": ("Обновить", "Odśwież", "Aktualisieren"),
    "Keys: j/k move, Enter opens, a accepts.": (
        "Клавиши: j/k — перемещение, Enter — открыть, a — принять.",
        "Klawisze: j/k — ruch, Enter — otwórz, a — akceptuj.",
        "Tasten: j/k bewegen, Enter öffnet, a übernimmt.",
    ),
}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The UI language: the query's, the cookie's, the browser's first supported, or en."""
    for asked in (query, cookie):
        if asked in LANGUAGES:
            return str(asked)
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(language: str) -> Callable[[str], str]:
    """`t(text)`: `text` in `language`, or in English when not translated."""
    if language not in LANGUAGES[1:]:
        return lambda text: text
    index = LANGUAGES.index(language) - 1

    def t(text: str) -> str:
        entry = _CATALOGUE.get(text)
        return entry[index] if entry else text

    return t
