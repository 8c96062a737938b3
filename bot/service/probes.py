"""The service's answers to /healthz and /readyz: what is stale, what is not ready yet.

Functions of the running `Service`, kept out of its life cycle code; the HTTP
server (bot.ops.http_server) calls them through the service's callbacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ops.http_server import Health, Staleness, check_health, stale_reasons
from bot.storage import Storage

if TYPE_CHECKING:
    from bot.service.core import Service


def role(service: Service) -> str:
    """'leader', 'standby', or 'unknown' before the first election."""
    if not service.role_known:
        return "unknown"
    return "leader" if service.leading else "standby"


async def health(service: Service) -> Health:
    """Liveness (/healthz): the database answers, the scheduler runs, nothing is stale."""
    running = service.scheduler is not None and bool(service.scheduler.running)
    polling = service.ingest_running()
    result = await check_health(service.storage, scheduler_running=running and polling)
    if not result.ok or service.storage is None:
        return result
    age = await staleness(service, service.storage)
    reasons = stale_reasons(age)
    details = {**result.details, "role": role(service), **age.details()}
    return Health(not reasons, "; ".join(reasons) or None, details)


async def staleness(service: Service, storage: Storage) -> Staleness:
    """How long since Telegram, delivery and feeds last went well (see stale_reasons)."""
    settings = service.settings
    now_mono = service.monotonic()
    telegram: float | None = None
    outbox: float | None = None
    if service.leading:
        # Delivery and Telegram are the leader's work; a standby is not to blame.
        link = service.telegram
        # A webhook has no poll to watch: updates come when users write.
        polling = link.webhook is None and link.application is not None
        if polling and service.leading_since is not None:
            telegram = now_mono - max(service.leading_since, link.last_get_updates or 0.0)
        now = service.clock.now()
        due_since = await storage.oldest_due_delivery(now)
        outbox = 0.0 if due_since is None else max(0.0, (now - due_since).total_seconds())
    count, last_success = await storage.feed_freshness()
    feeds: float | None = None
    if count:
        now = service.clock.now()
        up_for = (now - service.started_at).total_seconds()
        since = up_for
        if last_success is not None:
            since = (now - last_success).total_seconds()
        # A replica that just started has not had the chance to poll yet.
        feeds = max(0.0, min(since, up_for))
    return Staleness(
        telegram_poll=telegram,
        outbox_overdue=outbox,
        feeds=feeds,
        telegram_limit=float(settings.health_telegram_seconds),
        outbox_limit=float(settings.health_outbox_seconds),
        feeds_limit=float(max(settings.health_feeds_seconds, 3 * settings.poll_interval)),
    )


async def ready(service: Service) -> Health:
    """Readiness (/readyz): migrated, catalog synced, leader or standby known."""
    details = {
        "migrated": service.storage is not None,
        "catalog": "synced" if service.catalog_synced else "pending",
        "role": role(service),
    }
    if service.storage is None:
        return Health(False, "database not open and migrated yet", details)
    if not service.catalog_synced:
        return Health(False, "feed catalog not synced yet", details)
    if not service.role_known:
        return Health(False, "leader election not done yet", details)
    return Health(True, None, details)
