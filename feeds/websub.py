"""WebSub (W3C PubSubHubbub 0.4) as a subscriber: the protocol, no storage.

* :func:`subscribe` POSTs ``hub.mode=subscribe`` with our callback, the
  topic, a per-subscription ``hub.secret`` and ``hub.lease_seconds``; a hub
  answers 202 and then verifies the intent with a GET to the callback.
* :func:`verification_answer` decides that GET: the challenge is echoed only
  for a subscription we asked for (pending), for the same topic and mode.
* :func:`signature_valid` checks ``X-Hub-Signature: method=hexdigest``, the
  HMAC of the pushed body with the subscription's secret (sha1, sha256,
  sha384 or sha512), in constant time.
* :func:`renew_at` is when to subscribe again before the lease ends.

A push only tells us a feed changed; the caller polls the feed instead of
trusting the pushed body.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "SubscribeResult",
    "new_secret",
    "renew_at",
    "signature_valid",
    "subscribe",
    "verification_answer",
]

DEFAULT_LEASE_SECONDS = 10 * 24 * 3600
_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def new_secret() -> str:
    """A fresh per-subscription secret (the spec allows up to 200 bytes)."""
    return secrets.token_hex(32)


@dataclass(frozen=True)
class SubscribeResult:
    """What the hub said to our subscription request."""

    accepted: bool
    error: str | None = None


async def subscribe(
    client: httpx.AsyncClient,
    *,
    hub: str,
    topic: str,
    callback: str,
    secret: str,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    seconds: float = 20.0,
) -> SubscribeResult:
    """Ask ``hub`` to push ``topic`` to ``callback``; accepted means 2xx (verification follows)."""
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": callback,
        "hub.secret": secret,
        "hub.lease_seconds": str(lease_seconds),
    }
    try:
        response = await client.post(hub, data=form, timeout=seconds, follow_redirects=False)
    except httpx.HTTPError as exc:
        return SubscribeResult(False, f"hub unreachable: {type(exc).__name__}: {exc}"[:300])
    if 200 <= response.status_code < 300:
        return SubscribeResult(True)
    body = response.text[:200].strip()
    return SubscribeResult(False, f"hub answered {response.status_code}: {body}"[:300])


def verification_answer(
    query: Mapping[str, str], *, expected_topic: str | None, pending: bool
) -> str | None:
    """The challenge to echo for a hub's verification GET, or None to refuse (404).

    Only ``subscribe`` is confirmed, and only while we wait for it (``pending``)
    and for the topic we asked for: anybody can send this GET.
    """
    if query.get("hub.mode") != "subscribe" or not pending or expected_topic is None:
        return None
    if query.get("hub.topic") != expected_topic:
        return None
    challenge = query.get("hub.challenge")
    return challenge or None


def lease_of(query: Mapping[str, str], asked: int = DEFAULT_LEASE_SECONDS) -> int:
    """The lease the hub granted (``hub.lease_seconds``), else what we asked for."""
    value = query.get("hub.lease_seconds", "")
    return int(value) if value.isdigit() and int(value) > 0 else asked


def signature_valid(secret: str, header: str | None, body: bytes) -> bool:
    """Whether ``X-Hub-Signature`` is the HMAC of ``body`` with ``secret``."""
    if not header or "=" not in header:
        return False
    method, _, given = header.strip().partition("=")
    digest = _METHODS.get(method.strip().lower())
    if digest is None:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def renew_at(expires_at: datetime, granted: timedelta) -> datetime:
    """When to renew: a tenth of the lease before it ends, at least an hour (or half) early."""
    margin = max(granted / 10, min(timedelta(hours=1), granted / 2))
    return expires_at - margin
