"""WebSub for the service: subscribe to hubs that feeds advertise, verify, renew, take pushes.

Only with `EVBOT_PUBLIC_URL` (`Service` creates this then). The poll job tells
us each feed's hints (`on_parsed`); a feed advertising a hub and a `self`
topic gets a subscription with its own secret, stored in the database so any
replica can answer the hub. The HTTP server routes `/websub/{feed_id}` here:
a GET is the hub verifying our intent, a POST is a push. A push whose
signature checks out makes the feed due now (`poll_soon`); its body is not
trusted beyond that. Subscriptions are renewed before their lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from bot.clock import Clock
from bot.models import FeedRow
from bot.storage import Storage
from bot.storage.feeds import WebSubRow
from feeds import websub
from feeds.hints import FeedHints

if TYPE_CHECKING:
    from aiohttp import web

    from bot.ops.http_server import Route

log = logging.getLogger(__name__)

# A hub that neither verified nor refused within this is asked again.
PENDING_WAIT = timedelta(hours=1)
RETRY_FAILED = timedelta(hours=1)
RETRY_DENIED = timedelta(days=1)


class WebSubManager:
    """Subscriptions of this service (see the module docstring)."""

    def __init__(
        self,
        storage: Storage,
        client: httpx.AsyncClient,
        clock: Clock,
        *,
        public_url: str,
        poll_soon: Callable[[str], Awaitable[bool]],
        lease_seconds: int = websub.DEFAULT_LEASE_SECONDS,
        check_seconds: float = 60.0,
    ) -> None:
        self.storage = storage
        self.client = client
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.poll_soon = poll_soon
        self.lease_seconds = lease_seconds
        self.check_seconds = check_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[str] = set()

    def callback_url(self, feed_id: str) -> str:
        """Where the hub calls us back for this feed."""
        return f"{self.public_url}/websub/{quote(feed_id, safe='')}"

    def routes(self) -> list[Route]:
        """The HTTP routes to add to the service's server."""
        return [
            ("GET", "/websub/{feed_id}", self._verify_route),
            ("POST", "/websub/{feed_id}", self._push_route),
        ]

    # -- subscribing ------------------------------------------------------------------
    def on_parsed(self, feed: FeedRow, hints: FeedHints) -> None:
        """The poll job read a feed: subscribe when it offers a hub and we have none."""
        if hints.hub is None or hints.self_url is None or feed.id in self._busy:
            return
        self._spawn(self.ensure(feed.id, hints.hub, hints.self_url))

    async def ensure(self, feed_id: str, hub: str, topic: str) -> None:
        """Subscribe unless a current subscription (or a recent attempt) exists."""
        sub = await self.storage.websub_subscription(feed_id)
        now = self.clock.now()
        if sub is not None and sub.hub == hub and sub.topic == topic:
            if sub.state == "active" and not self._renewal_due(sub):
                return
            waits = {"pending": PENDING_WAIT, "failed": RETRY_FAILED, "denied": RETRY_DENIED}
            if sub.state in waits and now - sub.requested_at < waits[sub.state]:
                return
        keep = sub.secret if sub is not None and sub.hub == hub and sub.topic == topic else None
        await self.subscribe(feed_id, hub, topic, secret=keep)

    async def subscribe(
        self, feed_id: str, hub: str, topic: str, *, secret: str | None = None
    ) -> None:
        """Record a pending subscription, then ask the hub.

        A renewal keeps the secret: the hub signs with the old one until it
        has verified the renewal.
        """
        self._busy.add(feed_id)
        try:
            secret = secret or websub.new_secret()
            await self.storage.save_websub(
                WebSubRow(feed_id, hub, topic, secret, "pending", self.clock.now(), None, None)
            )
            result = await websub.subscribe(
                self.client,
                hub=hub,
                topic=topic,
                callback=self.callback_url(feed_id),
                secret=secret,
                lease_seconds=self.lease_seconds,
            )
            if result.accepted:
                log.info("feed %s: WebSub subscription requested at %s", feed_id, hub)
            else:
                log.warning("feed %s: WebSub hub %s refused: %s", feed_id, hub, result.error)
                await self.storage.update_websub(feed_id, state="failed", last_error=result.error)
        finally:
            self._busy.discard(feed_id)

    def _renewal_due(self, sub: WebSubRow) -> bool:
        if sub.expires_at is None:
            return False
        granted = timedelta(seconds=self.lease_seconds)
        return self.clock.now() >= websub.renew_at(sub.expires_at, granted)

    async def renew_due(self) -> int:
        """Renew the active subscriptions whose lease ends soon; returns how many."""
        renewed = 0
        for sub in await self.storage.websub_subscriptions():
            if sub.state == "active" and self._renewal_due(sub) and sub.feed_id not in self._busy:
                await self.subscribe(sub.feed_id, sub.hub, sub.topic, secret=sub.secret)
                renewed += 1
        return renewed

    async def run(self, stop: asyncio.Event) -> None:
        """Renew subscriptions every `check_seconds` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.renew_due()
            except Exception:
                log.warning("renewing WebSub subscriptions failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.check_seconds)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.warning("WebSub: %s", finished.exception())

        task.add_done_callback(done)

    async def idle(self) -> None:
        """Wait until no subscription request is under way (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel subscription requests under way."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the hub calling us -------------------------------------------------------------
    async def verify(self, feed_id: str, query: dict[str, str]) -> str | None:
        """Answer a verification GET: the challenge to echo, or None (404)."""
        sub = await self.storage.websub_subscription(feed_id)
        topic = sub.topic if sub is not None else None
        denied = query.get("hub.mode") == "denied"
        if denied and sub is not None and query.get("hub.topic") == topic:
            reason = query.get("hub.reason", "no reason given")[:300]
            log.warning("feed %s: WebSub hub denied the subscription: %s", feed_id, reason)
            await self.storage.update_websub(feed_id, state="denied", last_error=reason)
            return ""
        challenge = websub.verification_answer(
            query, expected_topic=topic, pending=sub is not None and sub.state == "pending"
        )
        if challenge is None:
            return None
        lease = websub.lease_of(query, self.lease_seconds)
        confirmed = await self.storage.update_websub(
            feed_id,
            only_state="pending",
            state="active",
            expires_at=self.clock.now() + timedelta(seconds=lease),
            last_error=None,
        )
        if not confirmed:
            return None
        log.info("feed %s: WebSub subscription active for %d s", feed_id, lease)
        return challenge

    async def push(self, feed_id: str, signature: str | None, body: bytes) -> bool:
        """A hub's push: poll the feed now if the signature is right; True if so."""
        sub = await self.storage.websub_subscription(feed_id)
        if sub is None or sub.state not in ("active", "pending"):
            return False
        if not websub.signature_valid(sub.secret, signature, body):
            log.warning("feed %s: WebSub push with a bad or missing signature ignored", feed_id)
            return False
        return await self.poll_soon(feed_id)

    async def _verify_route(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        challenge = await self.verify(request.match_info["feed_id"], dict(request.query))
        if challenge is None:
            return web.Response(status=404, text="no such pending subscription")
        return web.Response(status=200, text=challenge, content_type="text/plain")

    async def _push_route(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        body = await request.read()
        feed_id = request.match_info["feed_id"]
        if await self.storage.websub_subscription(feed_id) is None:
            return web.Response(status=410, text="not subscribed")
        await self.push(feed_id, request.headers.get("X-Hub-Signature"), body)
        # A bad signature still gets 2xx (WebSub 0.4 §8): the sender learns nothing.
        return web.Response(status=202)
