"""Keep the customer's link tokens and query values out of the access log.

A CSAT or confirm link carries its credential in the path (`/v1/csat/<token>`); an
access log line would hand it to anyone who reads the logs. Query strings carry
personal data too (`?assignee=<e-mail>`, `?q=<words of a ticket>`). The filter rewrites
the token segment to `***` and every query value to `***` (the names stay, they say
what was asked) in uvicorn's access records before any handler formats them.
"""

from __future__ import annotations

import logging
import re

_TOKEN_PATH = re.compile(r"(/v1/(?:csat|confirm)/)[^/?#\s\"]+")


_QUERY_VALUE = re.compile(r"([?&][^=&#\s\"]*=)[^&#\s\"]*")


def redact(path: str) -> str:
    """`path` with the token of a customer link and every query value replaced by `***`."""
    return _QUERY_VALUE.sub(r"\1***", _TOKEN_PATH.sub(r"\1***", path))


class TokenRedactingFilter(logging.Filter):
    """A logging filter for `uvicorn.access`: redacts link tokens in the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments (uvicorn passes the path as one) and message."""
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True
