"""`evbot demo` serves the archive: a newcomer opens the printed URL and sees stories arrive."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx


async def test_the_demo_prints_the_archive_url_and_the_page_fills_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--every",
        "0.5",
        "--count",
        "8",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        url = None
        async with asyncio.timeout(60):
            while url is None:
                line = (await process.stdout.readline()).decode()
                assert line, "the demo ended without printing the archive's URL"
                found = re.search(r"the archive is at (http://\S+/)", line)
                url = found.group(1) if found else None
            # The console prints the EPDK story's alert once it is stored.
            while "EPDK şarj hizmeti" not in (await process.stdout.readline()).decode():
                pass
            async with httpx.AsyncClient(timeout=5) as http:
                page = (await http.get(url)).text
                search = await http.get(url + "search", params={"q": "sarj istasyonu"})
        assert "EPDK şarj hizmeti" in page
        assert "Togg T10X" in page  # the backlog is archived, though never pushed
        assert "EPDK şarj hizmeti" in search.text
    finally:
        if process.returncode is None:
            process.terminate()
        await process.communicate()
