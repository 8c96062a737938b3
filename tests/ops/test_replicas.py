"""Two `evbot run` processes on one PostgreSQL database: one leads, the other takes over.

The leader is killed with SIGKILL in the middle of a burst; the standby must
take over delivery (and Telegram polling), every alert must arrive (at most
the one in flight at the kill twice), and polling must go on. Alerts are
counted by the stories their text links to, not by messages: a chat that has
more than three waiting when the standby takes over gets them as one message.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

from bench.delivery_bench import REPO, prepare
from bot.delivery.worker import MAX_IN_FLIGHT
from tests.fakes.feed_server import FeedServer
from tests.fakes.feed_xml import FeedItem
from tests.fakes.telegram_server import RemoteFakeTelegram, spawn_fake_telegram
from tests.support import database

CHATS = 20


def story(n: int) -> FeedItem:
    return FeedItem(
        f"EPDK şarj hizmeti yönetmeliğinde {n}. değişiklik yürürlüğe girdi",
        link=f"https://news.example/epdk-{n}",
        guid=f"epdk-{n}",
        summary="Elektrikli araç şarj istasyonu işletmecileri için yeni kurallar.",
    )


_STORY_LINK = re.compile(r"news\.example/epdk-(\d+)")


async def stories_per_chat(tg: RemoteFakeTelegram) -> dict[int, Counter[int]]:
    """Chat -> how many times each story number reached it (digests count every story)."""
    got: dict[int, Counter[int]] = defaultdict(Counter)
    for call in await tg.calls_of("sendMessage"):
        if call.get("status") == 200:
            text = str(call["params"]["text"])
            got[int(call["params"]["chat_id"])].update(int(n) for n in _STORY_LINK.findall(text))
    return got


async def test_standby_takes_over_when_the_leader_is_killed(tmp_path: Path) -> None:
    async with (
        database("postgresql", str(tmp_path), own_database=True) as db,
        FeedServer() as feeds,
        spawn_fake_telegram("--global-rate", "40", "--per-chat-rate", "1") as tg,
    ):
        await prepare(db.url, chats=CHATS, stories=0)
        feeds.add_feed("/haber.xml", entries=[story(0)])
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            yaml.safe_dump(
                {
                    "feeds": [
                        {
                            "id": "haber",
                            "name": "Haber",
                            "url": feeds.url("/haber.xml"),
                            "language": "tr",
                            "interval": 1,
                        }
                    ]
                }
            )
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")},
            "EVBOT_TELEGRAM_TOKEN": tg.token,
            "EVBOT_TELEGRAM_API_URL": tg.api_root,
            "EVBOT_DATABASE_URL": db.url,
            "EVBOT_FEEDS_FILE": str(catalog),
            "EVBOT_SEND_RATE": "40",
            "PYTHONPATH": str(REPO),
        }

        def replica() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        leader = replica()
        standby = None
        try:
            await tg.wait_for("getUpdates", count=1, timeout=60)
            standby = replica()
            # A second request of the feed means the first poll (the backlog) was stored.
            await feeds.wait_for_requests("/haber.xml", 2, within=30)
            polls = feeds.request_count("/haber.xml")
            for n in range(1, 4):
                feeds.add_entry("/haber.xml", story(n))
            await tg.wait_for("sendMessage", count=CHATS, ok=True, timeout=60)
            leader.send_signal(signal.SIGKILL)
            leader.wait()
            # A story published after the kill must still be polled and delivered.
            feeds.add_entry("/haber.xml", story(4))
            # Each chat's outbox goes out in order, so story 4 reaching every chat
            # means everything before it was delivered too.
            await tg.wait_for(
                "sendMessage", count=CHATS, ok=True, contains={"text": "epdk-4"}, timeout=90
            )
            got = await stories_per_chat(tg)
            assert sorted(got) == list(range(1, CHATS + 1))
            assert all(set(stories) == {1, 2, 3, 4} for stories in got.values()), got
            repeats = sum(n - 1 for stories in got.values() for n in stories.values())
            # What was in flight at the kill may repeat: at most one message per chat.
            assert repeats <= MAX_IN_FLIGHT, got
            assert all(n <= 2 for stories in got.values() for n in stories.values()), got
            assert feeds.request_count("/haber.xml") > polls
            # The standby answers Telegram now.
            get_updates_before = len(await tg.calls_of("getUpdates"))
            await tg.wait_for("getUpdates", count=get_updates_before + 1, timeout=30)
        finally:
            for proc in (leader, standby):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
