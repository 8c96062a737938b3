"""Conditional GET for the archive: strong ETags, Last-Modified and 304 answers.

Feed readers poll the Atom feeds every few minutes; answering "not modified"
without a body is what keeps that cheap for them and for us.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web


def conditional(
    request: web.Request,
    body: bytes,
    content_type: str,
    modified: datetime | None,
    *,
    max_age: int = 300,
    etag: str | None = None,
) -> web.Response:
    """`body` with a strong ETag (and Last-Modified); 304 when the client's copy is current."""
    etag = etag or strong_etag(body)
    headers = {"ETag": etag, "Cache-Control": f"max-age={max_age}"}
    headers["X-Content-Type-Options"] = "nosniff"
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    if not_modified(request, etag, modified):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, headers=headers)
    response.content_type = content_type
    response.charset = "utf-8"
    return response


def strong_etag(body: bytes) -> str:
    """A strong ETag: the document's digest, so it changes exactly when the bytes do."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def not_modified(request: web.Request, etag: str, modified: datetime | None) -> bool:
    """Whether the client's copy (its If-None-Match / If-Modified-Since) is current."""
    # RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since and modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= since
    return False
