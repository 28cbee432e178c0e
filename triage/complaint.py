"""A rule-based complaint and follow-up signal in English, Russian, Polish and German.

The auto-reply policy (`triage.desk.reply_policy`) never answers an angry customer or a
follow-up with a canned text: a person has to. A lexicon is crude but predictable, works
from the first ticket (no labels needed) and is easy to audit: the audit entry names the
phrase that matched. It errs on the side of holding a reply back: a held reply is a
suggestion an agent can still send, a wrong automatic one is harm done.

Patterns are lower-case regular expressions matched against the lower-cased text; stems
(`ужасн`) cover inflected forms.
"""

from __future__ import annotations

import re

# Anger, complaint, threats to leave or to escalate.
_COMPLAINT: dict[str, tuple[str, ...]] = {
    "en": (
        r"\bunacceptable\b",
        r"\bridiculous\b",
        r"\boutrageous\b",
        r"\bdisgrace",
        r"\bfrustrat",
        r"\bfurious\b",
        r"\bangry\b",
        r"\bterrible\b",
        r"\bawful\b",
        r"\bhorrible\b",
        r"\bworst\b",
        r"\bscam\b",
        r"\bcomplain",
        r"\bdisappointed\b",
        r"\bfed up\b",
        r"\blawyer\b",
        r"\bconsidering cancell?ing\b",
        r"\bmoney back\b",
        r"\bthird time\b",
    ),
    "ru": (
        r"недопустим",
        r"возмутительн",
        r"безобрази",
        r"ужасн",
        r"отвратительн",
        r"раздраж",
        r"жалоб",
        r"обман",
        r"сколько можно",
        r"третий раз",
        r"потребую",
        r"вернуть деньги",
        r"верните деньги",
        r"отказаться от подписки",
    ),
    "pl": (
        r"niedopuszczaln",
        r"skandal",
        r"oburzając",
        r"fataln",
        r"zirytowan",
        r"wkurz",
        r"skarg",
        r"oszust",
        r"żenując",
        r"trzeci raz",
        r"zażądam",
        r"zwrotu pieniędzy",
        r"rezygnacj",
    ),
    "de": (
        r"inakzeptabel",
        r"unverschämt",
        r"frechheit",
        r"skandal",
        r"verärgert",
        r"miserabel",
        r"katastroph",
        r"beschwerde",
        r"enttäuscht",
        r"betrug",
        r"dritten mal",
        r"geld zurück",
        r"zu kündigen",
        r"anwalt",
    ),
}

# The customer writes again about something earlier: "still not solved", "again".
_FOLLOW_UP: dict[str, tuple[str, ...]] = {
    "en": (
        r"\bstill not (?:solved|resolved|fixed|working)\b",
        r"\bwriting again\b",
        r"\bfollowing up\b",
        r"\bprevious ticket\b",
        r"\balready reported\b",
        r"\bnothing has happened\b",
    ),
    "ru": (r"до сих пор не", r"пишу повторно", r"прошлой заявк", r"уже писал", r"снова по"),
    "pl": (
        r"nadal nie",
        r"wciąż nie",
        r"piszę ponownie",
        r"poprzednie zgłoszeni",
        r"zgłaszał\w* to już",
        r"wracam do",
    ),
    "de": (
        r"immer noch nicht",
        r"noch einmal wegen",
        r"vorheriges ticket",
        r"bereits in .{0,40}gemeldet",
        r"nachtrag zu",
    ),
}

# Subject prefixes of a reply in a mail thread (en, de "AW", pl "Odp", ru "Ответ").
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|odp|wg|ответ|отв)\s*:", re.IGNORECASE)


def _compile(table: dict[str, tuple[str, ...]]) -> list[tuple[str, re.Pattern[str]]]:
    return [(lang, re.compile(p)) for lang, patterns in table.items() for p in patterns]


_COMPLAINT_PATTERNS = _compile(_COMPLAINT)
_FOLLOW_UP_PATTERNS = _compile(_FOLLOW_UP)
_SHOUTING = re.compile(r"!{3,}")


def complaint_signals(text: str) -> list[str]:
    """The complaint phrases found in `text` (as `lang:pattern`), empty when none.

    Three exclamation marks in a row count as one too (`punct:!!!`).
    """
    lowered = text.lower()
    found = [f"{lang}:{p.pattern}" for lang, p in _COMPLAINT_PATTERNS if p.search(lowered)]
    if _SHOUTING.search(text):
        found.append("punct:!!!")
    return found


def follow_up_signals(subject: str, body: str) -> list[str]:
    """Why the message reads as a follow-up of an earlier request: a reply prefix on
    the subject, or a phrase such as "still not solved"; empty when none."""
    found = ["subject:reply-prefix"] if _REPLY_PREFIX.match(subject or "") else []
    lowered = (body or "").lower()
    found.extend(f"{lang}:{p.pattern}" for lang, p in _FOLLOW_UP_PATTERNS if p.search(lowered))
    return found
