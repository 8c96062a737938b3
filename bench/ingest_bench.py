"""Ingest benchmark: ``python -m bench.ingest_bench [--feeds N] [--seconds S] [--interval I]``.

Part 1 — latency with hostile feeds. A local aiohttp server in another
process serves N feeds, each on its own port (its own "host", as real news
sites are); 0, 1 or 10 of them never answer (held until the client gives
up). The real `Ingestor` loop polls all of them (interval I, pinned) into a
SQLite database with one subscriber, while the server publishes stories to
random healthy feeds for S seconds. Latency is publication → the story's
transaction committed with its alerts queued (what the delivery worker is
woken for).

Part 2 — fetches per day, fixed versus adaptive intervals: a pure simulation
on `feeds.schedule` over a week, for a catalog of busy wire services, ordinary
news sites and quiet blogs (Poisson publication, each feed listing its latest
20 entries), also giving the mean delay from publication to the poll that
finds the entry.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import multiprocessing
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import SystemClock
from bot.ingest.poll import Ingestor
from bot.models import CatalogFeed, StoredBatch
from bot.storage import Storage
from feeds.fetch import build_client
from feeds.schedule import (
    bounds_for,
    choose_interval,
    entries_per_day,
    next_due,
)
from rules import load_rules
from tests.fakes.feed_xml import FeedItem, rss_xml

# -- part 1: the feed server process ----------------------------------------------------


def _serve(conn: Connection, feeds: int, hanging: int, seconds: float, rate: float) -> None:
    async def main() -> None:
        items: dict[int, list[FeedItem]] = {
            n: [FeedItem(f"Eski haber {n}", guid=f"old-{n}", link=f"https://b.test/{n}/old")]
            for n in range(feeds)
        }
        bodies = {n: rss_xml(items[n]).encode() for n in range(feeds)}
        never = asyncio.Event()

        def handler(n: int) -> Any:
            async def handle(request: web.Request) -> web.Response:
                if n < hanging:
                    await never.wait()  # held until the client gives up
                return web.Response(body=bodies[n], content_type="application/rss+xml")

            return handle

        runners = []
        ports = []
        for n in range(feeds):
            app = web.Application()
            app.router.add_get("/feed.xml", handler(n))
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            ports.append(int(runner.addresses[0][1]))
        conn.send(ports)
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, conn.recv) == "publish"
        rng = random.Random(7)
        published = 0
        end = time.time() + seconds
        while time.time() < end:
            await asyncio.sleep(rng.expovariate(rate))
            n = rng.randrange(hanging, feeds)
            published += 1
            at = time.time()
            items[n].append(
                FeedItem(
                    # "site{n}", not "{n}": story 98 on feed 86 and story 86 on feed 98
                    # would otherwise have the same title words, and dedupe (rightly)
                    # makes them one story.
                    f"Elektrikli araç şarj istasyonu yönetmeliği değişti {published} site{n}",
                    guid=f"s-{published}",
                    link=f"https://b.test/{n}/{published}?t={at:.6f}",
                    summary="EPDK elektrikli araç şarj hizmeti yönetmeliği.",
                )
            )
            bodies[n] = rss_xml(list(reversed(items[n][-20:]))).encode()
        conn.send(published)
        await loop.run_in_executor(None, conn.recv)
        for runner in runners:
            await runner.cleanup()

    asyncio.run(main())


@dataclass
class Latency:
    hanging: int
    published: int
    measured: int
    p50: float
    p95: float
    worst: float


async def _latency_run(feeds: int, hanging: int, seconds: float, interval: int) -> Latency:
    parent, child = multiprocessing.Pipe()
    rate = 4.0  # stories a second, over all healthy feeds
    server = multiprocessing.Process(
        target=_serve, args=(child, feeds, hanging, seconds, rate), daemon=True
    )
    server.start()
    ports: list[int] = parent.recv()
    committed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        real_store = storage.store_batch

        async def timed_store(feed_id: str, **kwargs: Any) -> StoredBatch:
            stored = await real_store(feed_id, **kwargs)
            at = time.time()
            for item in kwargs["new"]:
                if item.link and "?t=" in item.link:
                    committed[item.link] = at
            return stored

        storage.store_batch = timed_store  # type: ignore[method-assign]
        await storage.sync_catalog(
            [
                CatalogFeed(
                    f"f{n}",
                    f"Feed {n}",
                    f"http://127.0.0.1:{port}/feed.xml",
                    "tr",
                    interval,
                    True,
                    adaptive=False,
                )
                for n, port in enumerate(ports)
            ]
        )
        clock = SystemClock()
        rules = load_rules()
        await storage.ensure_chat(1, type="private", title=None, language="tr", now=clock.now())
        await storage.set_subscriptions(1, [c.id for c in rules.categories])
        async with build_client() as client:
            ingestor = Ingestor(
                storage,
                client,
                lambda: rules,
                clock,
                default_interval=interval,
                max_bytes=1 << 20,
                fetch_timeout=seconds + 30,
            )
            stop = asyncio.Event()
            loop = asyncio.create_task(ingestor.run(stop))
            # Warm-up: every healthy feed polled once (the backlog is recorded, not alerted).
            healthy = {f"f{n}" for n in range(hanging, feeds)}
            done = ingestor.passes
            while not all(r.last_success_at for r in await storage.feeds() if r.id in healthy):
                # Between passes (a pass is held by a hanging feed: then up to 5 s).
                with contextlib.suppress(TimeoutError):
                    done = await ingestor.wait_for_pass(done, within=5)
            parent.send("publish")
            published = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
            await asyncio.sleep(interval + 3)  # the last stories' polls
            stop.set()
            await loop
            await ingestor.close(grace=1)
            ingestor.classifier.close()
        await storage.close()
    parent.send("stop")
    server.join(timeout=10)
    latencies = sorted(at - float(link.rsplit("?t=", 1)[1]) for link, at in committed.items())
    cuts = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [0.0] * 19
    return Latency(
        hanging,
        published,
        len(latencies),
        statistics.median(latencies),
        cuts[18],
        latencies[-1] if latencies else 0.0,
    )


# -- part 2: fetches per day, simulated ---------------------------------------------------


@dataclass(frozen=True)
class FeedKind:
    name: str
    count: int
    per_day: float


CATALOG = (
    FeedKind("wire service (300/day)", 10, 300.0),
    FeedKind("news site (20/day)", 60, 20.0),
    FeedKind("blog (1/week)", 30, 1 / 7),
)


@dataclass
class SimResult:
    kind: str
    fetches_per_feed_day: float
    mean_delay: float


def _simulate(
    kind: FeedKind, *, adaptive: bool, days: int, start: float, seed: int
) -> tuple[int, list[float]]:
    """Polls of one feed over `days` and each entry's publication → found delay."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    end = t0 + timedelta(days=days + 7)
    published: list[datetime] = []
    t = t0 - timedelta(days=150)  # a history: the document lists the latest 20 entries
    while t < end:
        t += timedelta(seconds=rng.expovariate(kind.per_day / 86400))
        published.append(t)
    bounds = bounds_for(
        default_interval=start, adaptive=adaptive, catalog_interval=None if adaptive else start
    )
    # A week of history before the measured days, so the document shows a steady state.
    now = t0 + timedelta(days=7)
    due = now
    seen = 0
    last_new: datetime | None = None
    polls = 0
    delays: list[float] = []
    seen = bisect.bisect_right(published, now)
    while due < end:
        now = due
        polls += 1
        visible_upto = bisect.bisect_right(published, now)
        for p in published[seen:visible_upto]:
            delays.append((now - p).total_seconds())
        if visible_upto > seen:
            last_new = now
        seen = visible_upto
        listed = published[max(0, visible_upto - 20) : visible_upto]
        rate = entries_per_day(listed, now)
        quiet = None if last_new is None else (now - last_new).total_seconds()
        choice = choose_interval(bounds, rate=rate, quiet_for=quiet)
        due = next_due(due, choice.seconds, now)
    return polls, delays


def simulate(*, days: int = 7, start: float = 300.0) -> list[tuple[str, SimResult, SimResult]]:
    """Per kind of feed: fixed (pinned at `start`) and adaptive results."""
    rows = []
    for kind in CATALOG:
        results = []
        for adaptive in (False, True):
            polls = 0
            delays: list[float] = []
            for i in range(kind.count):
                p, d = _simulate(kind, adaptive=adaptive, days=days, start=start, seed=i)
                polls += p
                delays += d
            results.append(
                SimResult(
                    kind.name,
                    polls / kind.count / (days + 0.0),
                    statistics.fmean(delays) if delays else 0.0,
                )
            )
        rows.append((kind.name, results[0], results[1]))
    return rows


# -- report -------------------------------------------------------------------------------


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


async def run(feeds: int, seconds: float, interval: int, hanging: Sequence[int]) -> str:
    """Both parts; a markdown report."""
    lines = [
        f"Machine: {_machine()}; {datetime.now(UTC):%Y-%m-%d}.",
        "",
        f"Latency, publication → alerts queued, {feeds} feeds on {feeds} local hosts, "
        f"interval {interval} s (pinned), {seconds:g} s of publishing, ~4 stories/s:",
        "",
        "| hanging feeds | stories | p50 | p95 | worst |",
        "|---:|---:|---:|---:|---:|",
    ]
    for count in hanging:
        result = await _latency_run(feeds, count, seconds, interval)
        lines.append(
            f"| {count} | {result.measured}/{result.published} | {result.p50:.2f} s "
            f"| {result.p95:.2f} s | {result.worst:.2f} s |"
        )
    lines += [
        "",
        "Fetches per feed and day, fixed 300 s vs adaptive (defaults: 30 s – 6 h), "
        "simulated week; delay = mean publication → poll that finds it:",
        "",
        "| feeds | fixed: fetches/day | fixed: delay | adaptive: fetches/day | adaptive: delay |",
        "|---|---:|---:|---:|---:|",
    ]
    total_fixed = total_adaptive = 0.0
    for kind, fixed, adaptive in simulate():
        count = next(k.count for k in CATALOG if k.name == kind)
        total_fixed += fixed.fetches_per_feed_day * count
        total_adaptive += adaptive.fetches_per_feed_day * count
        lines.append(
            f"| {count} × {kind} | {fixed.fetches_per_feed_day:.0f} | "
            f"{_duration(fixed.mean_delay)} | {adaptive.fetches_per_feed_day:.0f} | "
            f"{_duration(adaptive.mean_delay)} |"
        )
    lines.append(
        f"| **all {sum(k.count for k in CATALOG)}** | **{total_fixed:,.0f}** | | "
        f"**{total_adaptive:,.0f}** | |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--hanging", type=int, nargs="*", default=[0, 1, 10])
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.feeds, args.seconds, args.interval, args.hanging)))


if __name__ == "__main__":
    main()
