"""uvicorn's access log without emails: a request line may carry one (an address pasted
where a click token goes, a report's parameters), percent-encoded or not, and log lines
are kept and shipped elsewhere. Each is written as its digest, as the store keeps it."""

import logging
import re

from offers.identity import without_emails

# A path's segments and a query's names and values, each on its own: an email's local
# part may hold ``/``, ``?`` or ``=``, so the whole request line would otherwise read as one.
_URL_PART = re.compile(r"[^/?&=]+")


class _EmailsAsDigests(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _URL_PART.sub(_digest, arg) if isinstance(arg, str) and _may_hold_one(arg) else arg
                for arg in record.args
            )
        return True


def _may_hold_one(text: str) -> bool:  # most lines: no regex over the request path
    return "@" in text or "%" in text


def _digest(part: re.Match[str]) -> str:
    return without_emails(part.group())


def hide_emails_in_access_log() -> None:
    """Install the filter on ``uvicorn.access`` (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _EmailsAsDigests) for existing in access.filters):
        access.addFilter(_EmailsAsDigests())
