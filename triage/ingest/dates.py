"""Reading the dates exports write: ISO 8601, Jira's `dd/MMM/yy h:mm a` in the user's
language, spreadsheet `dd/mm/yyyy HH:MM`, or an explicit `--date-format`.

Numeric day/month dates are read day first (Jira's default formats, and Europe's): a
value that only makes sense month first is an error that says to pass `--date-format`,
never a silent swap. Month names are read in English, German, French, Spanish,
Portuguese, Russian and Polish, abbreviated or not, with or without a trailing dot;
`AM`/`PM`, `a. m.`/`p. m.` and `vorm.`/`nachm.` all work. A reader remembers which forms
it met, for the import report.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any

_MONTH_WORDS: dict[int, str] = {
    1: "january jan januar jänner jän janvier janv enero ene janeiro январь января янв "
    "styczeń stycznia sty",
    2: "february feb februar février févr fevr febrero fevereiro fev февраль февраля фев февр "
    "luty lutego lut",
    3: "march mar märz mär mrz mars marzo março март марта мар marzec marca",
    4: "april apr avril avr abril abr апрель апреля апр kwiecień kwietnia kwi",
    5: "may mai mayo maio май мая maj maja",
    6: "june jun juni juin junio junho июнь июня июн czerwiec czerwca cze",
    7: "july jul juli juillet juil julio julho июль июля июл lipiec lipca lip",
    8: "august aug août aout agosto ago август августа авг sierpień sierpnia sie",
    9: "september sep sept septembre septiembre setiembre set setembro сентябрь сентября сен "
    "сент wrzesień września wrz",
    10: "october oct oktober okt octobre octubre outubro out октябрь октября окт "
    "październik października paź",
    11: "november nov novembre noviembre novembro ноябрь ноября ноя нояб listopad listopada lis",
    12: "december dec dezember dez décembre déc diciembre dic dezembro декабрь декабря дек "
    "grudzień grudnia gru",
}


def fold(text: str) -> str:
    """Lower case without accents or trailing dots: how names are compared."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


MONTHS: dict[str, int] = {
    fold(word): month for month, words in _MONTH_WORDS.items() for word in words.split()
}
_AM = {"am", "a", "vorm", "vm"}
_PM = {"pm", "p", "nachm", "nm"}

_DAY_FIRST = re.compile(
    r"^(?P<d>\d{1,2})[./\- ](?P<m>\d{1,2}|[^\W\d_]+\.?)[./\- ,]+(?P<y>\d{4}|\d{2})"
    r"(?:[ T,]+(?P<H>\d{1,2})[:.h](?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\s*(?P<ampm>\D+?))?)?$"
)
_YEAR_FIRST = re.compile(
    r"^(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_OFFSET = re.compile(r"^(?P<base>.+?)\s*(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})$")


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _hour(hour: int, ampm: str | None, text: str) -> int:
    if not ampm:
        return hour
    marker = fold(ampm).replace(".", "").replace(" ", "")
    if marker in _AM:
        return 0 if hour == 12 else hour
    if marker in _PM:
        return hour if hour == 12 else hour + 12
    raise ValueError(f"unknown time marker {ampm.strip()!r}")


def _month(token: str, text: str) -> tuple[int, str]:
    if token.isdigit():
        return int(token), "mm"
    month = MONTHS.get(fold(token))
    if month is None:
        raise ValueError(f"{token!r} is not a month name this importer knows")
    return month, "MMM"


def _form(m: re.Match[str], month_kind: str, year_first: bool) -> str:
    year = "yyyy" if len(m["y"]) == 4 else "yy"
    date = f"yyyy/{month_kind}/dd" if year_first else f"dd/{month_kind}/{year}"
    if m["H"] is None:
        return date
    clock = "h:mm a" if m.groupdict().get("ampm") else "HH:mm"
    return f"{date} {clock}"


def parse_loose(text: str) -> tuple[datetime, str]:
    """A datetime from the non-ISO forms above, and a description of the form it had."""
    m = _DAY_FIRST.match(text) or _YEAR_FIRST.match(text)
    if m is None:
        raise ValueError("not ISO 8601, day/month/year or a form with a month name")
    year_first = m.re is _YEAR_FIRST
    month, kind = _month(m["m"], text)
    day = int(m["d"])
    if kind == "mm" and month > 12 and day <= 12 and not year_first:
        raise ValueError(f"it reads month first ({month} is not a month)")
    hour = _hour(int(m["H"] or 0), m.groupdict().get("ampm"), text)
    value = datetime(_year(m["y"]), month, day, hour, int(m["M"] or 0), int(m["S"] or 0))
    return value, _form(m, kind, year_first)


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def _with_offset(text: str) -> datetime | None:
    """`2024-05-01 09:15:00 +0200` (Zendesk's CSV), which `fromisoformat` refuses."""
    m = _OFFSET.match(text)
    if m is None:
        return None
    try:
        base = _iso(m["base"])
    except ValueError:
        return None
    minutes = int(m["h"]) * 60 + int(m["m"])
    offset = timedelta(minutes=minutes if m["sign"] == "+" else -minutes)
    return base.replace(tzinfo=timezone(offset))


class DateReader:
    """Reads date cells; remembers the forms it met (`forms`) for the import report.

    With `date_format` only that format is accepted (strptime). Otherwise: ISO 8601, then
    each of `formats` (strptime), then, when `loose` (a preset that knows its tool writes
    them), the day-first and month-name forms of `parse_loose`. A generic file gets no
    guessing: `01/02/2024` is a different day in the US.
    """

    def __init__(
        self,
        date_format: str | None = None,
        formats: tuple[str, ...] = (),
        *,
        loose: bool = False,
    ) -> None:
        self.date_format = date_format
        self.formats = formats
        self.loose = loose
        self.forms: set[str] = set()

    def __call__(self, value: Any) -> datetime | None:
        """The datetime in a cell; None for an empty one; ValueError saying what was tried."""
        if value is None or isinstance(value, datetime):
            return value
        text = str(value).strip()
        if not text:
            return None
        if self.date_format:
            try:
                parsed = datetime.strptime(text, self.date_format)
            except ValueError:
                raise ValueError(
                    f"cannot parse {text!r} with --date-format {self.date_format!r}"
                ) from None
            self.forms.add(f"--date-format {self.date_format}")
            return parsed
        return self._guess(text)

    def _guess(self, text: str) -> datetime:
        try:
            parsed = _iso(text)
            self.forms.add("ISO 8601")
            return parsed
        except ValueError:
            pass
        offset = _with_offset(text)
        if offset is not None:
            self.forms.add("yyyy-mm-dd HH:MM:SS +hhmm")
            return offset
        for fmt in self.formats:
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
            self.forms.add(fmt)
            return parsed
        if not self.loose:
            raise ValueError(
                f"cannot parse {text!r} as an ISO 8601 date; pass --date-format, "
                "e.g. '%d/%m/%Y %H:%M'"
            )
        try:
            parsed, form = parse_loose(text)
        except ValueError as exc:
            example = "%m/%d/%Y %H:%M" if "month first" in str(exc) else "%d/%m/%Y %H:%M"
            raise ValueError(
                f"cannot parse {text!r} as a date: {exc}; pass --date-format, e.g. {example!r}"
            ) from None
        self.forms.add(form)
        return parsed
