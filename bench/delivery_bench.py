"""Delivery benchmark: a burst of stories to thousands of chats through a rate-limited Bot API.

The fake Bot API runs in its own process and enforces Telegram's limits
(30 messages/s overall, 1/s per private chat, 20/min per group) with 429s.
`evbot run` runs as a real child process against a database prepared with the
chats and the queued alerts. With `--crash-after N` the service is killed
with SIGKILL after N messages went out and started again; the report counts
chats that never got their alert (lost) and extra messages (duplicates).
`--answer-delay` makes the fake answer every request that late, like the real
round trip to api.telegram.org (50-300 ms). `--crowd N` measures instead how
fast N new users who send /start within `--crowd-seconds` get their welcome.

    python -m bench.delivery_bench [--chats 2000] [--stories 5] [--rate 30] [--crash-after 500]
                                   [--answer-delay 0.1] [--crowd 2000 --crowd-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.models import CatalogFeed, FetchRecord
from bot.storage import Storage
from tests.fakes.telegram_server import RemoteFakeTelegram, spawn_fake_telegram
from tests.support import database, store, story

REPO = Path(__file__).resolve().parent.parent


@dataclass
class DeliveryReport:
    """What one run measured."""

    chats: int
    stories: int
    rate_limit: float
    messages: int
    seconds_total: float
    seconds_window: float
    seconds_all_first_alerts: float
    floods: int
    lost: int
    duplicates: int
    crashed: bool
    clean_stop_seconds: float | None
    replicas: int = 1
    resumed_after_kill_seconds: float | None = None
    database: str = "sqlite"
    answer_delay: float = 0.0
    max_in_flight: int = 16

    @property
    def achieved_rate(self) -> float:
        """Messages per second over the delivery window."""
        return self.messages / self.seconds_window if self.seconds_window else 0.0

    @property
    def ratio(self) -> float:
        """Achieved rate over the configured global limit."""
        return self.achieved_rate / self.rate_limit


async def prepare(db_url: str, *, chats: int, stories: int) -> None:
    """Chats subscribed to Regulation and `stories` new Regulation stories queued for all."""
    now = datetime.now(UTC)
    storage = await Storage.open(db_url)
    try:
        await storage.sync_catalog(
            [CatalogFeed("bench", "Bench Haber", "http://127.0.0.1/", "tr", None, True)]
        )
        for chat_id in range(1, chats + 1):
            await storage.ensure_chat(chat_id, type="private", title=None, language="tr", now=now)
            await storage.set_subscriptions(chat_id, ["regulation"])
        new = [
            story(
                f"bench-{n}",
                title=f"EPDK şarj hizmeti yönetmeliğinde değişiklik {n}",
                summary="Elektrikli araç şarj istasyonu işletmecileri için yeni kurallar.",
                published_at=now,
                matches={"regulation": ["EPDK"]},
            )
            for n in range(stories)
        ]
        record = FetchRecord(status="ok", success=True, duration=0.0, next_poll_at=now)
        await store(storage, "bench", new=new, record=record, now=now)
    finally:
        await storage.close()


def start_service(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`evbot run` as a child process; its log goes to service.log in the work directory."""
    log = (Path(env["EVBOT_WORKDIR"]) / "service.log").open("ab")
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=env["EVBOT_WORKDIR"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def _sent(tg: RemoteFakeTelegram) -> list[dict[str, Any]]:
    calls = await tg.calls_of("sendMessage")
    return [c for c in calls if c.get("status") == 200]


async def run(
    *,
    chats: int,
    stories: int,
    rate: float,
    crash_after: int | None = None,
    db_url: str | None = None,
    replicas: int = 1,
    within: float = 600.0,
    answer_delay: float = 0.0,
    max_in_flight: int = 16,
) -> DeliveryReport:
    """Queue the burst, run `evbot run` until every chat has its alerts, measure.

    With two replicas (PostgreSQL) the crash kills the leader and the standby
    takes over instead of a restart; the report then says how long that took.
    """
    with tempfile.TemporaryDirectory(prefix="evbot-bench-") as tmp:
        url = db_url or f"sqlite:///{tmp}/bench.sqlite3"
        await prepare(url, chats=chats, stories=stories)
        catalog = Path(tmp) / "catalog.yaml"
        catalog.write_text("feeds: []\n")
        limits = [
            "--global-rate",
            str(rate),
            "--per-chat-rate",
            "1",
            "--per-group-per-minute",
            "20",
            "--answer-delay",
            str(answer_delay),
        ]
        async with spawn_fake_telegram(*limits) as tg:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")},
                "EVBOT_TELEGRAM_TOKEN": tg.token,
                "EVBOT_TELEGRAM_API_URL": tg.api_root,
                "EVBOT_DATABASE_URL": url,
                "EVBOT_FEEDS_FILE": str(catalog),
                "EVBOT_SEND_RATE": str(rate),
                "EVBOT_MAX_IN_FLIGHT": str(max_in_flight),
                "EVBOT_WORKDIR": tmp,
                "PYTHONPATH": str(REPO),
            }
            per_chat = 1 if stories > 3 else stories
            started = time.monotonic()
            proc = start_service(env)
            standby = None
            crashed = False
            killed_at: float | None = None
            try:
                if replicas > 1:
                    # The first process leads once it long-polls Telegram.
                    await tg.wait_for("getUpdates", count=1, timeout=within)
                    standby = start_service(env)
                if crash_after is not None:
                    await tg.wait_for("sendMessage", count=crash_after, ok=True, timeout=within)
                    proc.send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
                    proc.wait()
                    crashed = True
                    proc = standby if standby is not None else start_service(env)
                    standby = None
                await _wait_all(tg, chats, per_chat, within)
                total = time.monotonic() - started
                stop_started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)
                clean_stop = time.monotonic() - stop_started if proc.returncode == 0 else None
            finally:
                for leftover in (proc, standby):
                    if leftover is not None and leftover.poll() is None:
                        leftover.kill()
                        leftover.wait()
            sent = await _sent(tg)
            counters = await tg.counters()
            for cause in flood_causes(await tg.calls_of("sendMessage"), rate=rate):
                print(f"429 — {cause}", file=sys.stderr)
            print(_fake_stalls(counters), file=sys.stderr)
        per = Counter(int(c["params"]["chat_id"]) for c in sent)
        lost_chats = sum(1 for chat in range(1, chats + 1) if per[chat] < per_chat)
        duplicates = sum(max(0, n - per_chat) for n in per.values())
        times = sorted(float(c["at"]) for c in sent)
        after_kill = [t for t in times if killed_at is not None and t > killed_at]
        takeover = after_kill[0] - killed_at if after_kill and killed_at is not None else None
        first_alert: dict[int, float] = {}
        for c in sorted(sent, key=lambda c: float(c["at"])):
            first_alert.setdefault(int(c["params"]["chat_id"]), float(c["at"]))
        return DeliveryReport(
            chats=chats,
            stories=stories,
            rate_limit=rate,
            messages=len(sent),
            seconds_total=total,
            seconds_window=(times[-1] - times[0]) if len(times) > 1 else 0.0,
            seconds_all_first_alerts=max(first_alert.values()) - times[0] if times else 0.0,
            floods=int(counters.get("429", 0)),
            lost=lost_chats,
            duplicates=duplicates,
            crashed=crashed,
            clean_stop_seconds=clean_stop,
            replicas=replicas,
            resumed_after_kill_seconds=takeover,
            database="postgresql" if url.startswith("postgres") else "sqlite",
            answer_delay=answer_delay,
            max_in_flight=max_in_flight,
        )


def _fake_stalls(counters: dict[str, Any]) -> str:
    return (
        f"fake Bot API stalls: {int(counters.get('loop_stalls_over_50ms', 0))} over 50 ms, "
        f"longest {int(counters.get('max_loop_stall_ms', 0))} ms"
    )


def flood_causes(calls: list[dict[str, Any]], *, rate: float) -> list[str]:
    """Why each 429 came: the per-chat limit, or the global window (with its tightest span).

    A refusal is "global" when `rate` successful sends reached the fake within
    the second before it; the span of those sends says how much jitter bunched
    them (at the pacer's spacing they would span more than a second).
    """
    ok = sorted(float(c["at"]) for c in calls if c.get("status") == 200)
    per_chat: dict[object, list[float]] = {}
    for c in calls:
        if c.get("status") == 200:
            per_chat.setdefault(c["params"]["chat_id"], []).append(float(c["at"]))
    causes = []
    need = int(rate)
    for r in (c for c in calls if c.get("status") == 429):
        at = float(r["at"])
        before = [t for t in per_chat.get(r["params"]["chat_id"], []) if at - 1.0 < t <= at]
        i = bisect.bisect_right(ok, at)
        window = ok[max(0, i - need) : i]
        if len(window) == need and at - window[0] < 1.0:
            gaps = [b - a for a, b in itertools.pairwise(window)]
            causes.append(
                f"global: {need} sends in {(window[-1] - window[0]) * 1000:.0f} ms before it, "
                f"tightest gap {min(gaps) * 1000:.1f} ms"
            )
        elif before:
            causes.append(f"chat: {len(before)} send(s) to that chat in the second before")
        else:
            causes.append("neither window full (a fault, or counted at another moment)")
    return causes


async def _wait_all(tg: RemoteFakeTelegram, chats: int, per_chat: int, within: float) -> None:
    """Wait (server-side) until every chat has received its alerts."""
    deadline = time.monotonic() + within
    want = chats * per_chat
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"not every chat had its alerts after {within}s")
        await tg.wait_for("sendMessage", count=want, ok=True, timeout=remaining)
        per = Counter(int(c["params"]["chat_id"]) for c in await _sent(tg))
        missing = sum(max(0, per_chat - per[chat]) for chat in range(1, chats + 1))
        if not missing:
            return
        # Duplicates filled the count early: wait for as many more as are missing.
        want = sum(per.values()) + missing


@dataclass
class CrowdReport:
    """How a crowd of new users sending /start at once was answered."""

    users: int
    spread_seconds: float
    answer_delay: float
    welcomed: int
    seconds_last_welcome: float
    floods: int
    sent_inside_retry_after: int
    tracebacks: int
    rate_limit: float
    answered_fully: int = 0
    seconds_last_reply: float = 0.0
    clean_stop_seconds: float | None = None

    @property
    def goal_seconds(self) -> float:
        """Every welcome within N / rate + 2 s."""
        return self.users / self.rate_limit + 2.0


async def run_crowd(
    *,
    users: int,
    spread_seconds: float = 5.0,
    rate: float = 30.0,
    answer_delay: float = 0.0,
    within: float = 900.0,
) -> CrowdReport:
    """`users` new private chats send /start within `spread_seconds`; wait for every welcome."""
    with tempfile.TemporaryDirectory(prefix="evbot-crowd-") as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        await prepare(url, chats=0, stories=0)
        catalog = Path(tmp) / "catalog.yaml"
        catalog.write_text("feeds: []\n")
        limits = ["--global-rate", str(rate), "--per-chat-rate", "1"]
        limits += ["--answer-delay", str(answer_delay)]
        async with spawn_fake_telegram(*limits) as tg:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")},
                "EVBOT_TELEGRAM_TOKEN": tg.token,
                "EVBOT_TELEGRAM_API_URL": tg.api_root,
                "EVBOT_DATABASE_URL": url,
                "EVBOT_FEEDS_FILE": str(catalog),
                "EVBOT_SEND_RATE": str(rate),
                "EVBOT_WORKDIR": tmp,
                "PYTHONPATH": str(REPO),
            }
            proc = start_service(env)
            try:
                await tg.wait_for("getUpdates", count=1, timeout=120)
                first_id = 20_000_001
                started = time.monotonic()
                for n in range(users):
                    await tg.send_message(first_id + n, "/start", language_code="en")
                    pause = started + spread_seconds * (n + 1) / users - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                deadline = started + within
                # Waited for server-side, and read only once everything is sent: fetching
                # thousands of calls mid-run stalled the fake for up to a second, and the
                # calls queued meanwhile were then stamped (and rate-limited) as a burst.
                with contextlib.suppress(Exception):
                    await tg.wait_for(
                        "sendMessage",
                        count=2 * users,
                        ok=True,
                        timeout=max(1.0, deadline - time.monotonic()),
                    )
                stopping = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=60)
                clean_stop = time.monotonic() - stopping if proc.poll() is not None else None
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            calls = await tg.calls_of("sendMessage")
            counters = await tg.counters()
        log_text = (Path(tmp) / "service.log").read_text(errors="replace")
    refused = [c for c in calls if c.get("status") == 429]
    for cause in flood_causes(calls, rate=rate):
        print(f"429 — {cause}", file=sys.stderr)
    print(_fake_stalls(counters), file=sys.stderr)
    per_user: dict[int, list[float]] = {}
    for c in calls:
        if c.get("status") == 200:
            per_user.setdefault(int(c["params"]["chat_id"]), []).append(float(c["at"]))
    welcomed = {chat: min(sent) for chat, sent in per_user.items()}
    inside = 0
    for r in refused:
        wait = float(((r.get("response") or {}).get("parameters") or {}).get("retry_after", 0))
        chat = r["params"]["chat_id"]
        inside += sum(
            1
            for c in calls
            if c["params"]["chat_id"] == chat
            and float(r["at"]) < float(c["at"]) < float(r["at"]) + wait
        )
    return CrowdReport(
        users=users,
        spread_seconds=spread_seconds,
        answer_delay=answer_delay,
        welcomed=len(welcomed),
        # The fake runs on this machine: its monotonic clock is ours.
        seconds_last_welcome=max(welcomed.values()) - started if welcomed else 0.0,
        floods=int(counters.get("429", 0)),
        sent_inside_retry_after=inside,
        tracebacks=log_text.count("Traceback"),
        rate_limit=rate,
        answered_fully=sum(1 for sent in per_user.values() if len(sent) >= 2),
        seconds_last_reply=max((max(s) for s in per_user.values()), default=started) - started,
        clean_stop_seconds=clean_stop,
    )


def markdown(report: DeliveryReport) -> str:
    """The report as a markdown table row block."""
    rows = [
        ("chats × stories", f"{report.chats} × {report.stories}"),
        ("messages sent", str(report.messages)),
        ("configured global limit", f"{report.rate_limit:g}/s"),
        ("Bot API answer delay", f"{report.answer_delay * 1000:g} ms"),
        ("sends in flight at most (EVBOT_MAX_IN_FLIGHT)", str(report.max_in_flight)),
        ("achieved rate over the delivery window", f"{report.achieved_rate:.2f}/s"),
        ("ratio to the limit", f"{report.ratio:.3f}"),
        ("429s received", str(report.floods)),
        ("every chat had its first alert after", f"{report.seconds_all_first_alerts:.1f} s"),
        ("total (service start → last alert)", f"{report.seconds_total:.1f} s"),
        ("database, replicas", f"{report.database}, {report.replicas}"),
        ("kill -9 during the burst", "yes" if report.crashed else "no"),
        (
            "first alert after the kill (restart or standby takeover)",
            f"{report.resumed_after_kill_seconds:.1f} s"
            if report.resumed_after_kill_seconds is not None
            else "-",
        ),
        ("lost", str(report.lost)),
        ("duplicates", str(report.duplicates)),
        (
            "SIGTERM → exit",
            f"{report.clean_stop_seconds:.2f} s"
            if report.clean_stop_seconds is not None
            else "failed",
        ),
    ]
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def crowd_markdown(report: CrowdReport) -> str:
    """The crowd report as a markdown table."""
    rows = [
        ("new users sending /start", f"{report.users} within {report.spread_seconds:g} s"),
        ("Bot API answer delay", f"{report.answer_delay * 1000:g} ms"),
        ("welcomed", f"{report.welcomed} of {report.users}"),
        (
            "last welcome after the first /start",
            f"{report.seconds_last_welcome:.1f} s (goal ≤ {report.goal_seconds:.0f} s)",
        ),
        (
            "welcome and picker both sent",
            f"{report.answered_fully} of {report.users}, last after "
            f"{report.seconds_last_reply:.1f} s",
        ),
        ("429s received", str(report.floods)),
        ("sends to a chat inside its announced retry_after", str(report.sent_inside_retry_after)),
        (
            "SIGTERM → exit",
            f"{report.clean_stop_seconds:.2f} s"
            if report.clean_stop_seconds is not None
            else "not within 60 s",
        ),
        ("handler tracebacks in the log", str(report.tracebacks)),
    ]
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def main() -> None:
    """Run the delivery benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--stories", type=int, default=5)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--crash-after", type=int, default=None)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh database on the test PostgreSQL (EVBOT_TEST_POSTGRES_URL) instead of SQLite",
    )
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=1)
    parser.add_argument("--answer-delay", type=float, default=0.0, help="seconds, e.g. 0.1")
    parser.add_argument("--max-in-flight", type=int, default=16)
    parser.add_argument("--crowd", type=int, default=0, help="users sending /start instead")
    parser.add_argument("--crowd-seconds", type=float, default=5.0)
    args = parser.parse_args()
    header = (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, "
        f"Python {platform.python_version()}\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    if args.crowd:
        crowd = asyncio.run(
            run_crowd(
                users=args.crowd,
                spread_seconds=args.crowd_seconds,
                rate=args.rate,
                answer_delay=args.answer_delay,
            )
        )
        print(header)
        print(crowd_markdown(crowd))
        return

    async def go() -> DeliveryReport:
        kwargs: dict[str, Any] = {
            "chats": args.chats,
            "stories": args.stories,
            "rate": args.rate,
            "crash_after": args.crash_after,
            "replicas": args.replicas,
            "answer_delay": args.answer_delay,
            "max_in_flight": args.max_in_flight,
        }
        if not args.postgres:
            return await run(**kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            async with database("postgresql", tmp, own_database=True) as db:
                return await run(db_url=db.url, **kwargs)

    report = asyncio.run(go())
    print(header)
    print(markdown(report))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
