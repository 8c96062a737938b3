"""WebSub's subscriber rules: who gets a challenge echoed, which signature counts."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from feeds.websub import renew_at, signature_valid, verification_answer

TOPIC = "https://news.example/rss.xml"


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    return f"{method}=" + hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()


def test_signatures_are_checked_with_the_subscriptions_secret() -> None:
    body = b"<rss>pushed</rss>"
    assert signature_valid("s3cret", sign("s3cret", body), body)
    assert signature_valid("s3cret", sign("s3cret", body, "sha1"), body)
    assert not signature_valid("s3cret", sign("other", body), body)
    assert not signature_valid("s3cret", sign("s3cret", body), body + b"x")
    assert not signature_valid("s3cret", None, body)
    assert not signature_valid("s3cret", "md5=abc", body)
    assert not signature_valid("s3cret", "garbage", body)


def test_only_a_pending_subscription_for_its_topic_is_confirmed() -> None:
    ask = {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.challenge": "c-123"}
    assert verification_answer(ask, expected_topic=TOPIC, pending=True) == "c-123"
    assert verification_answer(ask, expected_topic=TOPIC, pending=False) is None
    assert verification_answer(ask, expected_topic="https://other/", pending=True) is None
    assert verification_answer(ask, expected_topic=None, pending=True) is None
    unsubscribe = {**ask, "hub.mode": "unsubscribe"}
    assert verification_answer(unsubscribe, expected_topic=TOPIC, pending=True) is None
    assert (
        verification_answer({**ask, "hub.challenge": ""}, expected_topic=TOPIC, pending=True)
        is None
    )


def test_renewal_comes_before_the_lease_ends() -> None:
    ends = datetime(2026, 12, 1, tzinfo=UTC)
    assert renew_at(ends, timedelta(days=10)) == ends - timedelta(days=1)
    assert renew_at(ends, timedelta(minutes=30)) == ends - timedelta(minutes=15)
