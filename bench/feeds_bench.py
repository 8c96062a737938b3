"""Feed polling benchmark: ``python -m bench.feeds_bench [--feeds N] [--entries M]``.

A local feed server runs in a separate process (so it does not share this
process's CPU time or GIL) and serves N RSS feeds of M entries each. After a
warm-up cycle that collects validators, 20% of the feeds gain an entry and the
measured cycle polls all N with ``feeds.poller.poll_batch``: 80% answer 304,
20% are fetched and parsed in worker threads. The same run then polls the
same N feeds the naive way — one after another, no conditional requests,
parsing on the event loop — and prints both side by side, plus the event-loop
lag while one large feed parses on the loop versus in a thread.

The conditional cycle is run twice in the same process against the same
server state: with the expat fast path (``feeds.fastparse``, the default) and
with ``feeds.parse.FAST_PATH_ENABLED = False`` (feedparser only), and the
report gives both rows and their ratios, plus how many parsed feeds took the
fast path and a per-feed parse timing of the two paths.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection

import httpx

import feeds.parse as parse_module
from feeds.fetch import FetchStatus, Validators, build_client, fetch
from feeds.parse import parse_feed
from feeds.poller import PollOutcome, PollRequest, poll_batch, timed_parse
from tests.fakes.feed_server import FeedItem, FeedServer
from tests.fakes.feed_xml import rss_xml


def _items(feed: int, count: int, start: int = 0) -> list[FeedItem]:
    return [
        FeedItem(
            title=f"Elektrikli araç haberi {feed}-{i}: Togg ve şarj altyapısı",
            link=f"https://news{feed % 50}.test/haber/{feed}/{i}?utm_source=rss",
            guid=f"f{feed}-e{i}",
            summary="<p>" + "Elektrikli otobüs, batarya üretimi ve şarj ağı. " * 6 + "</p>",
            published=datetime(2025, 1, 1, tzinfo=UTC).replace(hour=i % 24),
        )
        for i in range(start, start + count)
    ]


def _serve(conn: Connection, feeds: int, entries: int) -> None:
    async def main() -> None:
        server = FeedServer()
        server.set_recording(False)
        for n in range(feeds):
            server.add_feed(f"/f/{n}.xml", title=f"Feed {n}", entries=_items(n, entries))
        await server.start()
        conn.send(server.port)
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                break
            kind, count = command
            if kind == "change":
                for n in range(count):
                    server.add_entry(f"/f/{n}.xml", _items(n, 1, start=entries + 1)[0])
            conn.send("ok")
        await server.stop()

    asyncio.run(main())


@dataclass
class CycleStats:
    wall: float
    cpu: float
    outcomes: int
    statuses: dict[str, int]
    parse_times: list[float]
    fast_share: float = 0.0

    @property
    def per_second(self) -> float:
        return self.outcomes / self.wall

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu / self.outcomes * 1000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _now() -> datetime:
    return datetime.now(UTC)


def _count(outcomes: Sequence[PollOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        key = o.fetch.status.value if o.parse_error is None else "parse_error"
        counts[key] = counts.get(key, 0) + 1
    return counts


async def _optimised_cycle(
    client: httpx.AsyncClient,
    urls: Sequence[str],
    validators: dict[str, Validators],
    concurrency: int,
    executor: Executor | None = None,
) -> tuple[CycleStats, list[PollOutcome]]:
    requests = [
        PollRequest(str(i), url, validators.get(url, Validators())) for i, url in enumerate(urls)
    ]
    cpu0, t0 = _cpu(), time.perf_counter()
    # All local feeds share one host, so the per-host limit is lifted here.
    outcomes = await poll_batch(
        client, requests, concurrency=concurrency, per_host=concurrency, now=_now, executor=executor
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    parsed = [o.parsed for o in outcomes if o.parsed is not None]
    parse_times = [o.parse_seconds for o in outcomes if o.parsed is not None]
    fast = sum(1 for p in parsed if p.parser == "fast") / len(parsed) if parsed else 0.0
    return CycleStats(wall, cpu, len(outcomes), _count(outcomes), parse_times, fast), outcomes


async def _naive_cycle(urls: Sequence[str]) -> CycleStats:
    statuses: dict[str, int] = {}
    parse_times: list[float] = []
    async with build_client() as client:
        cpu0, t0 = _cpu(), time.perf_counter()
        for url in urls:
            result = await fetch(client, url, Validators())
            if result.status is FetchStatus.OK and result.body is not None:
                p0 = time.perf_counter()
                parse_feed(result.body, base_url=result.final_url, now=_now())
                parse_times.append(time.perf_counter() - p0)
            statuses[result.status.value] = statuses.get(result.status.value, 0) + 1
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    return CycleStats(wall, cpu, len(urls), statuses, parse_times)


async def _max_lag_while(work: Callable[[], object], *, in_thread: bool) -> tuple[float, float]:
    """(max event-loop lag, parse seconds) while ``work`` runs on the loop or in a thread."""
    lags: list[float] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def probe() -> None:
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.001)
            lags.append(loop.time() - before - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    if in_thread:
        await asyncio.to_thread(work)
    else:
        work()
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    return max(lags), elapsed


async def _loop_lag() -> dict[str, tuple[float, float]]:
    big = rss_xml(_items(0, 1500)).encode()

    def work() -> object:
        return timed_parse(big, "https://news.test/rss", _now(), None)

    work()  # warm caches so both runs do the same work
    return {
        "size_mib": (len(big) / 1024 / 1024, 0.0),
        "on_loop": await _max_lag_while(work, in_thread=False),
        "thread": await _max_lag_while(work, in_thread=True),
    }


def _parse_timing(entries: int, repeat: int = 40) -> dict[str, float]:
    """Mean ms to parse one ``entries``-entry feed, fast path vs feedparser only."""
    body = rss_xml(_items(7, entries)).encode()
    out: dict[str, float] = {}
    for name, enabled in (("fast", True), ("feedparser", False)):
        parse_module.FAST_PATH_ENABLED = enabled
        parse_feed(body, base_url="http://news.test/rss", now=_now())
        t0 = time.perf_counter()
        for _ in range(repeat):
            parse_feed(body, base_url="http://news.test/rss", now=_now())
        out[name] = (time.perf_counter() - t0) / repeat * 1000
    parse_module.FAST_PATH_ENABLED = True
    return out


def _noop() -> None:
    return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(feeds: int, entries: int, changed_share: float, concurrency: int) -> str:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, feeds, entries), daemon=True)
    proc.start()
    try:
        port = await asyncio.to_thread(parent.recv)
        urls = [f"http://127.0.0.1:{port}/f/{n}.xml" for n in range(feeds)]

        # One shared client for the service's lifetime, as in production (every
        # feed of this bench is on one host: its pool may hold `concurrency`).
        async with build_client(per_host=concurrency) as client:
            warm, outcomes = await _optimised_cycle(client, urls, {}, concurrency)
            validators = {o.request.url: o.fetch.validators for o in outcomes}
            changed = int(feeds * changed_share)
            parent.send(("change", changed))
            await asyncio.to_thread(parent.recv)
            rss_before = _peak_rss_mib()
            cycle, _ = await _optimised_cycle(client, urls, validators, concurrency)
            rss_after = _peak_rss_mib()
            # Same cycle (same 304/200 split), feedparser only.
            parse_module.FAST_PATH_ENABLED = False
            try:
                slow, _ = await _optimised_cycle(client, urls, validators, concurrency)
            finally:
                parse_module.FAST_PATH_ENABLED = True
            # Same cycle again (same 304/200 split), parsing in a process pool.
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                await asyncio.get_running_loop().run_in_executor(pool, _noop)  # start workers
                pooled, _ = await _optimised_cycle(client, urls, validators, concurrency, pool)
        naive = await _naive_cycle(urls)
        lag = await _loop_lag()
        timing = _parse_timing(entries)
        parent.send("stop")
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()

    cpu_model = _cpu_model()
    load = os.getloadavg()

    def row(name: str, s: CycleStats) -> str:
        return (
            f"| {name} | {s.wall:.2f} | {s.per_second:.0f} | {s.cpu_per_1000:.2f} | "
            f"{statistics.mean(s.parse_times) * 1000 if s.parse_times else 0:.2f} | "
            f"{_pct(s.parse_times, 0.95) * 1000:.2f} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(s.statuses.items()))} |"
        )

    on_loop_lag, on_loop_time = lag["on_loop"]
    thread_lag, thread_time = lag["thread"]
    lines = [
        f"Command: `python -m bench.feeds_bench --feeds {feeds} --entries {entries}`  ",
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model}, Python {platform.python_version()}"
        f"  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Load average at the end (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        "",
        f"{feeds} feeds × {entries} entries, local server in another process; measured cycle has "
        f"{100 - changed_share * 100:.0f}% unchanged (304) and {changed_share * 100:.0f}% changed.",
        "",
        "| cycle | wall s | feeds/s | CPU s per 1,000 polls | parse ms/feed (mean) | "
        "parse ms/feed (p95) | results |",
        "|---|---|---|---|---|---|---|",
        row(f"poll_batch, conditional, concurrency {concurrency}", cycle),
        row("same, feedparser only (fast path off)", slow),
        row("same, parsing in a process pool (CPU: this process only)", pooled),
        row("naive: sequential, unconditional, parse on loop", naive),
        row("(warm-up: first poll, all 200)", warm),
        "",
        f"Fast path vs feedparser only, same run: **{slow.wall / cycle.wall:.2f}×** wall time, "
        f"**{slow.cpu / max(cycle.cpu, 1e-9):.2f}×** CPU, "
        f"**{_mean(slow.parse_times) / max(_mean(cycle.parse_times), 1e-9):.2f}×** mean parse"
        f" time; {cycle.fast_share * 100:.0f}% of parsed feeds took the fast path.  ",
        f"One {entries}-entry feed parsed in isolation: {timing['fast']:.2f} ms fast path, "
        f"{timing['feedparser']:.2f} ms feedparser only "
        f"(**{timing['feedparser'] / max(timing['fast'], 1e-9):.1f}×**).  ",
        f"Speed-up of the optimised cycle over the naive loop: **{naive.wall / cycle.wall:.1f}×**"
        f" wall time, **{naive.cpu / max(cycle.cpu, 1e-9):.1f}×** less CPU.  ",
        f"Peak RSS of the benchmark process: {rss_after:.0f} MiB "
        f"(before the measured cycle: {rss_before:.0f} MiB).",
        "",
        f"Event-loop lag while one {lag['size_mib'][0]:.1f} MiB feed (1,500 entries) parses:",
        "",
        "| where | max loop lag ms | parse wall ms |",
        "|---|---|---|",
        f"| on the event loop | {on_loop_lag * 1000:.0f} | {on_loop_time * 1000:.0f} |",
        f"| worker thread (`poll_batch` default) | {thread_lag * 1000:.1f} | "
        f"{thread_time * 1000:.0f} |",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=30)
    parser.add_argument("--changed", type=float, default=0.2, help="share of changed feeds")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.feeds, args.entries, args.changed, args.concurrency)))


if __name__ == "__main__":
    main()
