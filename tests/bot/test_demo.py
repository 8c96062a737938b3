"""`evbot demo` shows classified alerts within seconds, with no token and no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_prints_new_stories_but_not_the_backlog_or_off_topic(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--every", "0.3", "--count", "4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The backlog (first two samples) is recorded, not pushed.
    assert "Togg T10X'in ihracatına" not in out
    # New stories arrive in publication order, with their categories.
    epdk = out.index("EPDK şarj hizmeti yönetmeliğinde")
    aspilsan = out.index("Aspilsan Kayseri'de")
    izmir = out.index("İzmir Büyükşehir Belediyesi")
    assert epdk < aspilsan < izmir
    assert "Regulation" in out and "Battery Manufacturing" in out and "Municipality" in out
    # The phone story (the fourth new one) is not about electric mobility.
    assert "akıllı telefonun" not in out
    assert not (tmp_path / "data").exists()
