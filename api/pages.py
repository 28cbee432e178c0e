"""The small HTML pages a customer's links open: rate a solved ticket (CSAT), say whether
an auto-reply solved the request. English, Russian, Polish and German, by the ticket's
language.

A link in an e-mail is opened with GET; the page's buttons POST a form, so a mail
scanner or a preview that follows the link answers nothing. Everything interpolated is
HTML-escaped; the pages send no referrer (the token is in the URL) and are not cached.
"""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "csat_title": "How did we do?",
        "csat_question": "How satisfied are you with the help on {ref}?",
        "csat_low": "1 = very unhappy, 5 = very happy",
        "confirm_title": "Did this solve your request?",
        "confirm_question": "Our automatic answer to {ref}: did it solve your request?",
        "yes": "Yes, this solved it",
        "no": "No, I still need help",
        "thanks": "Thank you, your answer was recorded.",
        "thanks_yes": "Thank you! We have marked {ref} as solved.",
        "thanks_no": "Thank you. A member of our team will answer {ref} as soon as possible.",
        "used": "This link was already used. Thank you!",
        "invalid": "This link is not valid or has expired.",
        "comment": "Comment (optional)",
    },
    "ru": {
        "csat_title": "Как мы справились?",
        "csat_question": "Насколько вы довольны помощью по обращению {ref}?",
        "csat_low": "1 = очень недоволен, 5 = очень доволен",
        "confirm_title": "Это решило ваш вопрос?",
        "confirm_question": "Наш автоматический ответ на {ref}: он решил ваш вопрос?",
        "yes": "Да, вопрос решён",
        "no": "Нет, мне всё ещё нужна помощь",
        "thanks": "Спасибо, ваш ответ сохранён.",
        "thanks_yes": "Спасибо! Мы отметили {ref} как решённое.",
        "thanks_no": "Спасибо. Сотрудник поддержки ответит на {ref} как можно скорее.",
        "used": "Эта ссылка уже использована. Спасибо!",
        "invalid": "Ссылка недействительна или устарела.",
        "comment": "Комментарий (необязательно)",
    },
    "pl": {
        "csat_title": "Jak nam poszło?",
        "csat_question": "Jak bardzo jesteś zadowolony z pomocy w sprawie {ref}?",
        "csat_low": "1 = bardzo niezadowolony, 5 = bardzo zadowolony",
        "confirm_title": "Czy to rozwiązało Twój problem?",
        "confirm_question": "Nasza automatyczna odpowiedź na {ref}: czy rozwiązała problem?",
        "yes": "Tak, problem rozwiązany",
        "no": "Nie, nadal potrzebuję pomocy",
        "thanks": "Dziękujemy, Twoja odpowiedź została zapisana.",
        "thanks_yes": "Dziękujemy! Oznaczyliśmy {ref} jako rozwiązane.",
        "thanks_no": "Dziękujemy. Konsultant odpowie na {ref} najszybciej, jak to możliwe.",
        "used": "Ten link został już użyty. Dziękujemy!",
        "invalid": "Ten link jest nieprawidłowy lub wygasł.",
        "comment": "Komentarz (opcjonalnie)",
    },
    "de": {
        "csat_title": "Wie waren wir?",
        "csat_question": "Wie zufrieden sind Sie mit der Hilfe zu {ref}?",
        "csat_low": "1 = sehr unzufrieden, 5 = sehr zufrieden",
        "confirm_title": "Hat das Ihr Anliegen gelöst?",
        "confirm_question": "Unsere automatische Antwort auf {ref}: Hat sie Ihr Anliegen gelöst?",
        "yes": "Ja, das hat geholfen",
        "no": "Nein, ich brauche noch Hilfe",
        "thanks": "Vielen Dank, Ihre Antwort wurde gespeichert.",
        "thanks_yes": "Vielen Dank! Wir haben {ref} als gelöst markiert.",
        "thanks_no": "Vielen Dank. Ein Mitarbeiter beantwortet {ref} so bald wie möglich.",
        "used": "Dieser Link wurde bereits verwendet. Vielen Dank!",
        "invalid": "Dieser Link ist ungültig oder abgelaufen.",
        "comment": "Kommentar (optional)",
    },
}

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "button{font-size:1.1rem;margin:.3rem;padding:.5rem 1rem}"
)


def texts(language: str | None) -> dict[str, str]:
    """The page texts in the ticket's language (its first two letters), English else."""
    return TEXTS.get((language or "en")[:2].lower(), TEXTS["en"])


def page(language: str | None, title: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A whole page around `body` (already HTML); `title` is escaped here."""
    lang = (language or "en")[:2].lower() if (language or "en")[:2].lower() in TEXTS else "en"
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def message(language: str | None, key: str, status_code: int = 200, **values: str) -> HTMLResponse:
    """A page saying one thing (thanks, already used, invalid)."""
    t = texts(language)
    title = t["csat_title"] if key.startswith("thanks") or key == "used" else t["invalid"]
    return page(language, title, f"<p>{escape(t[key].format(**values))}</p>", status_code)


def csat_form(language: str | None, reference: str, action: str) -> HTMLResponse:
    """Five buttons (1-5) and an optional comment, posted to `action`."""
    t = texts(language)
    buttons = "".join(
        f'<button type="submit" name="rating" value="{n}">{n}</button>' for n in range(1, 6)
    )
    body = (
        f"<p>{escape(t['csat_question'].format(ref=reference))}</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<p><label>{escape(t["comment"])}<br><textarea name="comment" rows="3" cols="40" '
        f'maxlength="5000"></textarea></label></p>'
        f"<p>{buttons}</p><p><small>{escape(t['csat_low'])}</small></p></form>"
    )
    return page(language, t["csat_title"], body)


def confirm_form(language: str | None, reference: str, action: str) -> HTMLResponse:
    """ "This solved it" / "I still need help", posted to `action`."""
    t = texts(language)
    body = (
        f"<p>{escape(t['confirm_question'].format(ref=reference))}</p>"
        f'<form method="post" action="{escape(action)}">'
        f'<button type="submit" name="solved" value="yes">{escape(t["yes"])}</button>'
        f'<button type="submit" name="solved" value="no">{escape(t["no"])}</button></form>'
    )
    return page(language, t["confirm_title"], body)
