"""Docker deploy files: no Docker engine here, so check their structure and run what they run.

The compose file is loaded as YAML and checked against what the stack needs;
the Dockerfile's HEALTHCHECK command is executed for real against a live
/healthz; `.env.example` must name every setting and load as it stands.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.ops.http_server import Health, HttpServer
from bot.ops.metrics import Metrics
from bot.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}


SAMPLE_PASSWORD = "s3cretpw"
COMPOSE_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


class ComposeRefuses(Exception):
    """What `docker compose` stops with: a `${NAME:?message}` variable unset or empty."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Substitute `${NAME}`, `${NAME:-default}` and `${NAME:?message}` as docker compose does."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        given = env.get(name, "")
        if not given and op == "?":
            raise ComposeRefuses(arg)
        if not given and op == "-":
            return str(arg)
        return given

    assert "$$" not in value, "escaped dollars: extend interpolate()"
    return COMPOSE_VARIABLE.sub(one, value)


def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written, variables not substituted."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """docker-compose.yml as compose runs it with `.env` holding `env` (a sample password)."""
    data = interpolate(
        raw_compose(), {"POSTGRES_PASSWORD": SAMPLE_PASSWORD} if env is None else env
    )
    assert isinstance(data, dict)
    return data


def raw_compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


# ---- docker-compose.yml ---------------------------------------------------------


def test_compose_runs_the_bot_and_postgres_16_with_a_named_volume() -> None:
    data = compose()
    services = data["services"]
    assert set(services) == {"bot", "postgres"}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    volume, _, target = postgres["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in data["volumes"], "PostgreSQL data must live in a named volume"
    env = postgres["environment"]
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= set(env)


def test_compose_postgres_healthcheck_and_the_bot_waits_for_it() -> None:
    services = compose()["services"]
    check = services["postgres"]["healthcheck"]
    assert "pg_isready" in " ".join(check["test"])
    assert {"interval", "timeout", "retries"} <= set(check)
    bot = services["bot"]
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_compose_bot_settings_point_at_the_postgres_service() -> None:
    # The password is never in the file: compose fills it in from .env.
    assert "Xk29fa0" not in raw_compose_text()
    data = compose({"POSTGRES_PASSWORD": "Xk29fa0"})
    pg = data["services"]["postgres"]["environment"]
    env = data["services"]["bot"]["environment"]
    assert pg["POSTGRES_PASSWORD"] == "Xk29fa0"
    assert env["EVBOT_DATABASE_URL"] == "postgresql://evbot:Xk29fa0@postgres:5432/evbot"
    for unset in ({}, {"POSTGRES_PASSWORD": ""}):
        with pytest.raises(ComposeRefuses, match=r"set POSTGRES_PASSWORD in \.env"):
            compose(unset)


def test_env_example_documents_the_postgres_password_left_blank() -> None:
    """Copied as it stands, compose refuses to start rather than run with a known password."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    [line] = re.findall(r"^POSTGRES_PASSWORD=.*$", text, flags=re.MULTILINE)
    assert line == "POSTGRES_PASSWORD="
    comment = text[: text.index(line)].rsplit("\n\n", 1)[-1]
    assert "compose" in comment and "letters and digits" in comment


def test_every_variable_the_compose_file_gives_the_bot_is_a_setting() -> None:
    env = compose()["services"]["bot"]["environment"]
    names = set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
    assert names <= SETTING_NAMES, names - SETTING_NAMES


def test_compose_bot_healthcheck_asks_healthz() -> None:
    check = compose()["services"]["bot"]["healthcheck"]
    assert "/healthz" in " ".join(check["test"])
    assert check["test"][0] == "CMD"


# ---- Dockerfile ------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_slim_python_311_plus() -> None:
    text = dockerfile()
    froms = [args for kw, args in instructions(text) if kw == "FROM"]
    assert len(froms) >= 2, "a builder stage and a runtime stage"
    assert all("slim" in f for f in froms)
    version = re.search(r"ARG PYTHON_VERSION=(\d+)\.(\d+)", text)
    assert version is not None and (int(version[1]), int(version[2])) >= (3, 11)
    assert any("--from=builder" in args for kw, args in instructions(text) if kw == "COPY")


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for kw, args in instructions(dockerfile()) if kw == "USER"]
    assert users, "no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerfile_sets_the_http_port_data_volume_and_entrypoint() -> None:
    ins = instructions(dockerfile())
    env = " ".join(args for kw, args in ins if kw == "ENV")
    assert "EVBOT_HTTP_PORT=8080" in env
    assert "/app/data" in " ".join(args for kw, args in ins if kw == "VOLUME")
    assert ("ENTRYPOINT", '["evbot"]') in ins
    assert ("CMD", '["run"]') in ins
    for name in re.findall(r"\b(EVBOT_[A-Z_]+)=", env):
        assert name in SETTING_NAMES


def healthcheck_command() -> list[str]:
    [args] = [args for kw, args in instructions(dockerfile()) if kw == "HEALTHCHECK"]
    command = args[args.index("CMD") + len("CMD") :].strip()
    argv = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert isinstance(argv, list)
    return [str(a) for a in argv]


def test_dockerfile_healthcheck_uses_python_not_curl() -> None:
    argv = healthcheck_command()
    assert argv[0] == "python"
    assert "/healthz" in argv[-1]


@pytest.mark.parametrize("healthy", [True, False])
async def test_dockerfile_healthcheck_command_reflects_healthz(healthy: bool) -> None:
    """Run the image's probe (with this interpreter) against a live /healthz."""

    async def health() -> Health:
        return Health(True) if healthy else Health(False, "database: gone")

    server = HttpServer(health=health, metrics=Metrics(), port=0, host="127.0.0.1")
    await server.start()
    try:
        argv = [sys.executable, *healthcheck_command()[1:]]
        process = await asyncio.create_subprocess_exec(
            *argv,
            env={"EVBOT_HTTP_PORT": str(server.port)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        code = await asyncio.wait_for(process.wait(), timeout=20)
    finally:
        await server.stop()
    assert (code == 0) is healthy


def test_dockerfile_installs_the_hash_checked_lock_then_evbot_alone() -> None:
    runs = [args for kw, args in instructions(dockerfile()) if kw == "RUN"]
    locked = [r for r in runs if "-r requirements.lock" in r]
    assert locked and all("--require-hashes" in r for r in locked)
    assert any("--no-deps ." in r for r in runs), "evbot itself must not resolve dependencies"
    copied = " ".join(args for kw, args in instructions(dockerfile()) if kw == "COPY")
    assert "requirements.lock" in copied


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".git", "data"} <= set(ignored)


# ---- .env.example ----------------------------------------------------------------


def test_env_example_names_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*(EVBOT_[A-Z_]+)=", text, flags=re.MULTILINE))
    assert named == SETTING_NAMES, {
        "missing": sorted(SETTING_NAMES - named),
        "unknown": sorted(named - SETTING_NAMES),
    }


def test_env_example_loads_as_it_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(env_file=ROOT / ".env.example")
    assert settings.telegram_token is None  # left blank for the operator


def test_env_example_shows_the_real_defaults() -> None:
    """Commented `# EVBOT_X=value` lines are the defaults, so they must not drift."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    defaults = Settings.model_fields
    checked = 0
    for name, value in re.findall(r"^#\s*(EVBOT_[A-Z_]+)=(\S+)$", text, flags=re.MULTILINE):
        field = name.removeprefix(ENV_PREFIX).lower()
        default = defaults[field].default
        if default is None or isinstance(default, frozenset):
            continue  # examples of values, not defaults
        assert str(value).lower() == str(default).lower() or float(value) == default, name
        checked += 1
    assert checked >= 8
