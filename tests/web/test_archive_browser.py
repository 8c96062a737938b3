"""A person in a real browser: Debian's chromium driven by Playwright.

Opens the home page, filters by a category, searches for a Turkish phrase
typed without diacritics, follows a story, and saves screenshots of the home
page at desktop and phone widths under docs/screenshots/. Playwright cannot
download its own browser here, so it drives /usr/bin/chromium (or
PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH); without one the test skips, except in
CI, where it must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.storage import Storage
from tests.web.archive_support import also_from, demo_stories, seed, serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
START = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


def chromium_path() -> str | None:
    """Where a chromium binary is, or None."""
    configured = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH")
    if configured and Path(configured).is_file():
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_browser() -> str:
    """The chromium to drive; skip with a reason outside CI, fail in CI."""
    path = chromium_path()
    missing = None
    if path is None:
        missing = (
            "no chromium (apt-get install -y chromium, or set PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH)"
        )
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[dev]')"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}, and CI must run the browser test")
        pytest.skip(missing)
    assert path is not None
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_a_reader_browses_filters_searches_and_opens_a_story(
    storage: Storage, browser: Any
) -> None:
    ids = await seed(storage, demo_stories(), START)
    await also_from(storage, ids[2], "aa", START.replace(hour=8))  # the EPDK story, twice
    async with serve(storage) as base:
        page = await browser.new_page(
            viewport={"width": 1280, "height": 900}, locale="tr-TR", timezone_id="Europe/Istanbul"
        )
        await page.goto(base + "/")
        assert await page.title() == "Son haberler · Elektrikli Mobilite Haberleri"
        stories = page.locator("ol.stories > li")
        # The one sample without a category (a phone battery) is not listed.
        assert await stories.count() == 9
        assert "akıllı telefon" not in await page.locator("main").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "archive-home-desktop.png"), full_page=False)

        # Filter by a category from the navigation.
        await (
            page.get_by_role("navigation", name="Kategoriler")
            .get_by_role("link", name="Belediyeler")
            .click()
        )
        await page.wait_for_url("**/c/municipality")
        assert await page.get_by_role("heading", level=1).inner_text() == "Belediyeler"
        follow = page.get_by_role("link", name="“Belediyeler” haberlerini Telegram'da takip et")
        assert (
            await follow.get_attribute("href") == "https://t.me/evbot_news_bot?start=municipality"
        )
        headlines = await page.locator("ol.stories h2").all_inner_texts()
        assert headlines and all("İzmir" in h or "şarj" in h.lower() for h in headlines)

        # Search as someone typing on a keyboard without Turkish letters.
        await page.get_by_label("Haberlerde ara").fill("sarj istasyonu")
        await page.get_by_role("button", name="Ara").click()
        await page.wait_for_url("**/search?q=sarj+istasyonu")
        found = page.locator("ol.stories h2 a")
        assert await found.all_inner_texts() == [
            "EPDK şarj hizmeti yönetmeliğinde değişiklik: şarj istasyonlarına yeni kurallar"
        ]

        # Follow the story: its sources and why it is in its categories.
        await found.first.click()
        await page.wait_for_url(f"**/s/{ids[2]}")
        body = await page.locator("main").inner_text()
        assert "Kaynaklar" in body and "AA Enerji" in body and "Electrive" in body
        assert "eşleşen terimler" in body

        # Switch to English; the choice is remembered on the next page.
        await page.get_by_role("link", name="EN", exact=True).click()
        assert "Sources" in await page.locator("main").inner_text()
        await page.goto(base + "/")
        assert await page.get_by_role("heading", level=1).inner_text() == "Latest news"
        await page.close()

        phone = await browser.new_page(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="tr-TR",
            timezone_id="Europe/Istanbul",
        )
        await phone.goto(base + "/")
        # Nothing wider than the phone: no sideways scrolling of the page itself.
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        await phone.screenshot(path=str(SCREENSHOTS / "archive-home-phone.png"), full_page=False)
        await phone.close()
