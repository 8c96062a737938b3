"""What an install gets: locks that match pyproject, package data, zone data, --version.

The wheel test builds evbot from a copy of the package directories with the
setuptools pinned in requirements-dev.lock (no network); the lowest-versions
venv has no setuptools of its own and skips it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "feeds", "rules")
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def project_requirements(group: str) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    raw = project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    return [Requirement(line) for line in raw]


def lock_pins(name: str) -> dict[str, Version]:
    """Package → pinned version, from one lock file."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(n): Version(v) for n, v in PIN.findall(text)}


def lock_entries(name: str) -> list[str]:
    """Each pinned requirement of a lock file with its continuation lines."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return [block for block in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(block)]


# ---- the locks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("requirements.lock", ["runtime"]), ("requirements-dev.lock", ["runtime", "dev"])],
)
def test_every_dependency_in_pyproject_is_pinned_within_its_bounds(
    lock: str, groups: list[str]
) -> None:
    """A pyproject edit without `make lock` is caught here, not by a broken deploy."""
    pins = lock_pins(lock)
    for group in groups:
        for requirement in project_requirements(group):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {name}=={pins[name]}, outside {requirement}: run `make lock`"
            )


def test_locks_pin_with_hashes_and_agree_with_each_other() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        entries = lock_entries(lock)
        assert len(entries) > 20
        for entry in entries:
            assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry.splitlines()[0]}"
    runtime, dev = lock_pins("requirements.lock"), lock_pins("requirements-dev.lock")
    assert {n: dev.get(n) for n in runtime} == runtime, "the dev lock must extend the runtime one"
    # Docker installs the runtime lock alone: no test or build tools in the image.
    assert not {"pytest", "mypy", "ruff", "uv", "setuptools"} & set(runtime)
    assert {"uv", "setuptools"} <= set(dev), "the Makefile installs these from the dev lock"


# ---- what is installed -----------------------------------------------------------


def test_evbot_version_prints_the_installed_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"evbot {version('evbot')}"
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert version("evbot") == project["version"]


def test_time_zones_work_without_the_systems_zone_files(tmp_path: Path) -> None:
    """Slim images have no /usr/share/zoneinfo: the tzdata package must answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBOT_")}
    env["PYTHONTZPATH"] = ""  # no system zone directories at all, as on python:slim
    code = (
        "from datetime import datetime\n"
        "from zoneinfo import ZoneInfo\n"
        "from bot.settings import Settings\n"
        "for name in ('Europe/Istanbul', 'Asia/Istanbul', 'Turkey'):\n"
        "    zone = ZoneInfo(Settings(timezone=name).timezone)\n"
        "    print(name, datetime(2026, 1, 1, tzinfo=zone).utcoffset())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Europe/Istanbul 3:00:00",
        "Asia/Istanbul 3:00:00",
        "Turkey 3:00:00",
    ]


def test_license_file_matches_the_declared_license() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 evbot developers" in text


def _copy_project(target: Path) -> None:
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, target / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )


def test_the_wheel_ships_every_data_file_of_the_packages(tmp_path: Path) -> None:
    """YAML, the migration template, and the translations and templates of later rounds."""
    setuptools = pytest.importorskip("setuptools", reason="builds with the dev lock's setuptools")
    if Version(setuptools.__version__) < Version("77"):
        pytest.skip(f"setuptools {setuptools.__version__} predates license expressions")
    source = tmp_path / "src"
    source.mkdir()
    _copy_project(source)
    # File kinds the next rounds add: they must ship without another pyproject edit.
    future = {
        "bot/locale/tr/LC_MESSAGES/evbot.po": b'msgid ""\nmsgstr ""\n',
        "bot/locale/tr/LC_MESSAGES/evbot.mo": b"\xde\x12\x04\x95",
        "bot/templates/digest.html": b"<p>{{ title }}</p>\n",
        "bot/templates/digest.css": b"p { margin: 0 }\n",
    }
    for relative, content in future.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    expected = {
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix != ".pyc"
    }
    assert set(future) <= expected

    out = tmp_path / "dist"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])",
            str(out),
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = out.glob("evbot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert expected - shipped == set()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in shipped)
