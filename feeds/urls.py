"""URL helpers: resolving entry links and the canonical link used for identity.

``canonical_link`` is a comparison key, never shown to users (they get the
entry's real link). Two links that lead to the same article should give the
same key, so it:

* lower-cases the scheme and host, drops a leading ``www.`` and the default
  port, and treats ``http`` and ``https`` alike (key scheme is ``https``);
* drops the fragment and a trailing ``/`` on a non-root path;
* removes tracking parameters (``utm_*``, ``fbclid``, ``gclid``, … — see
  ``TRACKING_PARAMS``) and sorts the remaining query parameters;
* returns ``None`` for anything that is not an absolute http(s) URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_link", "resolve_link"]

TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "mtm_", "pk_", "_hs", "oly_")
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "gbraid",
        "wbraid",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "ref_src",
        "cmpid",
        "ito",
        "ocid",
    }
)


def resolve_link(link: str | None, base_url: str) -> str | None:
    """``link`` made absolute against ``base_url``; None if empty or not http(s)."""
    if link is None:
        return None
    link = link.strip()
    if not link:
        return None
    try:
        absolute = urljoin(base_url, link)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_link(link: str | None) -> str | None:
    """Comparison key of an absolute link (see module docstring)."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query = urlencode(sorted(query_pairs))
    return urlunsplit(("https", host, path, query, ""))
