"""Hide credentials in text meant for people: database URLs in errors, logs and reports.

A database URL carries its password (`postgresql://user:password@host/db`);
it turns up in settings errors, driver exceptions and tracebacks. Masking is
done on the text, so it also works on URLs too broken to parse.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# `scheme://user:password@` — everything between the user's colon and the last `@`
# before the path is the password (it may itself contain `:` or `@`).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<password>[^\s/]*)@")


def mask_url(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` URL in it masked."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)


def url_password(url: str) -> str | None:
    """The password in a URL, decoded, if it has one (for log redaction)."""
    match = _URL_PASSWORD.search(url)
    if match is None or not match.group("password"):
        return None
    return unquote(match.group("password"))
