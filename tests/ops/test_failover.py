"""Replicas of `evbot run` on one PostgreSQL database, watched from outside.

A frozen leader (SIGSTOP) keeps its database session; with leadership as a
lease it still loses it when it stops renewing, a standby takes over, and
when the old leader is resumed (SIGCONT) it sends nothing more and becomes a
standby. Three replicas started at the same moment on a fresh database all
come up, and exactly one of them leads. Roles are read from each replica's
/readyz; alerts are counted at the fake Bot API server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from bench.delivery_bench import REPO, prepare
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_server import RemoteFakeTelegram, spawn_fake_telegram
from tests.ops.test_replicas import CHATS, stories_per_chat, story
from tests.support import database

TAKEOVER_LIMIT = 15.0


async def sent_ok(tg: RemoteFakeTelegram) -> int:
    return sum(1 for call in await tg.calls_of("sendMessage") if call.get("status") == 200)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_catalog(tmp_path: Path, url: str) -> Path:
    catalog = tmp_path / "catalog.yaml"
    feed = {"id": "haber", "name": "Haber", "url": url, "language": "tr", "interval": 1}
    catalog.write_text(yaml.safe_dump({"feeds": [feed]}))
    return catalog


class Replica:
    """One `evbot run` child process with its own health port and log file."""

    def __init__(self, env: dict[str, str], cwd: Path, name: str) -> None:
        self.port = free_port()
        self.log = cwd / f"{name}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env={**env, "EVBOT_HTTP_PORT": str(self.port)},
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def role(self, client: httpx.AsyncClient) -> str | None:
        """'leader' or 'standby' from /readyz; None while it does not answer or is not ready."""
        try:
            response = await client.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return str(response.json()["role"])

    async def wait_role(self, client: httpx.AsyncClient, role: str, within: float) -> float:
        """Wait until /readyz reports `role`; returns when (time.monotonic())."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await self.role(client) == role:
                return time.monotonic()
            await asyncio.sleep(0.1)  # an outside process: there is no event to wait on
        raise AssertionError(f"{self.log.name} did not become {role} within {within} s")

    async def wait_metric(self, client: httpx.AsyncClient, sample: str, within: float) -> None:
        """Wait until /metrics shows this exact sample line."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            response = await client.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2.0)
            if sample in response.text.splitlines():
                return
            await asyncio.sleep(0.1)  # an outside process: there is no event to wait on
        raise AssertionError(f"{self.log.name}: no {sample!r} within {within} s")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        yield started
    except BaseException:
        # A failure here is about processes the test cannot see into: show their logs.
        for replica in started:
            print(f"--- {replica.log.name} (last 4000 characters)")
            print(replica.log.read_text(errors="replace")[-4000:])
        raise
    finally:
        for replica in started:
            replica.stop()


def service_env(tg_token: str, api_root: str, db_url: str, catalog: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")},
        "EVBOT_TELEGRAM_TOKEN": tg_token,
        "EVBOT_TELEGRAM_API_URL": api_root,
        "EVBOT_DATABASE_URL": db_url,
        "EVBOT_FEEDS_FILE": str(catalog),
        "EVBOT_SEND_RATE": "40",
        "PYTHONPATH": str(REPO),
    }


async def test_a_frozen_leader_is_replaced_and_sends_nothing_when_it_wakes(
    tmp_path: Path,
) -> None:
    async with (
        database("postgresql", str(tmp_path), own_database=True) as db,
        FeedServer() as feeds,
        spawn_fake_telegram("--global-rate", "40", "--per-chat-rate", "1") as tg,
        httpx.AsyncClient() as http,
    ):
        await prepare(db.url, chats=CHATS, stories=0)
        feeds.add_feed("/haber.xml", entries=[story(0)])
        env = service_env(
            tg.token, tg.api_root, db.url, write_catalog(tmp_path, feeds.url("/haber.xml"))
        )
        # Slow sends (a round of CHATS takes two seconds) so that a freeze lands mid-round.
        env["EVBOT_SEND_RATE"] = "10"
        with replicas() as running:
            old = Replica(env, tmp_path, "first")
            running.append(old)
            await old.wait_role(http, "leader", within=60)
            standby = Replica(env, tmp_path, "second")
            running.append(standby)
            await standby.wait_role(http, "standby", within=60)
            # The first poll (the backlog) is stored once the feed is asked again.
            await feeds.wait_for_requests("/haber.xml", 2, within=30)
            # Three stories: each chat gets them one by one, one per second, a burst of ~3 s.
            for n in range(1, 4):
                feeds.add_entry("/haber.xml", story(n))
            # Freeze early in the second round: the leader has the rest of the round in
            # hand, which it must not send when it wakes (the new leader has sent it).
            await tg.wait_for("sendMessage", count=CHATS + 3, ok=True, timeout=60)
            old.proc.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()
            took_over = await standby.wait_role(http, "leader", within=TAKEOVER_LIMIT + 5)
            takeover = took_over - frozen_at
            print(f"standby leads {takeover:.1f} s after SIGSTOP of the leader")
            assert takeover < TAKEOVER_LIMIT
            # The new leader finishes the burst (story 3 is the last of every chat's queue).
            await tg.wait_for(
                "sendMessage", count=CHATS, ok=True, contains={"text": "epdk-3"}, timeout=90
            )

            # Nothing left in the outbox: any send from here on is story 4 or a stale one.
            await standby.wait_metric(http, "evbot_outbox_pending 0.0", within=30)
            sent_before_wake = await sent_ok(tg)
            old.proc.send_signal(signal.SIGCONT)
            await old.wait_role(http, "standby", within=30)
            # A story after the wake-up: polled and delivered once, by the new leader.
            feeds.add_entry("/haber.xml", story(4))
            await tg.wait_for(
                "sendMessage", count=CHATS, ok=True, contains={"text": "epdk-4"}, timeout=90
            )
            got = await stories_per_chat(tg)
            assert await sent_ok(tg) - sent_before_wake == CHATS, got
            assert await standby.role(http) == "leader"

            assert sorted(got) == list(range(1, CHATS + 1))
            assert all(set(stories) == {1, 2, 3, 4} for stories in got.values()), got
            repeats = sum(n - 1 for stories in got.values() for n in stories.values())
            # At most the one message in flight at the freeze goes out twice.
            assert repeats <= 1, got
            metrics = (await http.get(f"http://127.0.0.1:{old.port}/metrics")).text
            assert "evbot_leader 0.0" in metrics


async def test_three_replicas_start_together_on_a_fresh_database(tmp_path: Path) -> None:
    async with (
        database("postgresql", str(tmp_path), own_database=True) as db,
        FeedServer() as feeds,
        spawn_fake_telegram() as tg,
        httpx.AsyncClient() as http,
    ):
        feeds.add_feed("/haber.xml", entries=[story(0)])
        env = service_env(
            tg.token, tg.api_root, db.url, write_catalog(tmp_path, feeds.url("/haber.xml"))
        )
        with replicas() as running:
            # No migrations, no catalog rows: all three race for the same first steps.
            running.extend(Replica(env, tmp_path, f"replica-{n}") for n in range(3))
            roles: list[str | None] = [None] * 3
            deadline = time.monotonic() + 90
            while None in roles and time.monotonic() < deadline:
                for n, replica in enumerate(running):
                    assert replica.proc.poll() is None, replica.log.read_text()[-3000:]
                    roles[n] = roles[n] or await replica.role(http)
                await asyncio.sleep(0.2)  # outside processes: nothing to wait on
            assert sorted(map(str, roles)) == ["leader", "standby", "standby"], [
                r.log.read_text()[-2000:] for r in running
            ]
            assert all(replica.proc.poll() is None for replica in running)
