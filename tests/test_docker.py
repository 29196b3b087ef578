"""Structural checks of the container setup (docker/Dockerfile, docker/compose.yaml).

No Docker engine is needed: the files are parsed and checked against the project
itself. Most importantly the PostGIS image in compose.yaml must carry the
PostgreSQL major and PostGIS major.minor of the database the test suite runs
against (fixture ``db_versions``, defined in conftest.py), so that what is
deployed is what is tested.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

APP_SERVICES = ("migrate", "api", "worker")
# service -> the `cardumen` subcommand it must run
SERVICE_COMMANDS = {"migrate": "migrate", "api": "serve", "worker": "worker"}
PGDATA = "/var/lib/postgresql/data"


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "compose.yaml must be a mapping"
    assert isinstance(data.get("services"), dict), "compose.yaml has no services"
    return data


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"].get(name)
    assert isinstance(service, dict), f"compose.yaml has no service {name!r}"
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _argv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """dependency -> condition (short list syntax means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _healthcheck_text(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), "healthcheck is disabled"
    test = check.get("test")
    assert test, "no healthcheck test"
    assert test not in (["NONE"], "NONE"), "healthcheck test is NONE"
    return test if isinstance(test, str) else " ".join(str(t) for t in test)


def _published_ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host_ip, published, target) for every port mapping, short or long syntax."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append(
                (
                    str(port.get("host_ip", "")),
                    str(port.get("published", "")),
                    str(port.get("target", "")),
                )
            )
            continue
        spec = str(port).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            out.append((parts[0].strip("[]"), parts[1], parts[2]))
        elif len(parts) == 2:
            out.append(("", parts[0], parts[1]))
        else:
            out.append(("", "", parts[0]))
    return out


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments (and parser directives) may sit inside continuations
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a dangling line continuation"
    return instructions


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (kw, _) in enumerate(instructions) if kw == "FROM"]
    assert starts, "Dockerfile has no FROM"
    return instructions[starts[-1] :]


def _major_minor(version: str) -> str:
    match = re.match(r"(\d+)\.(\d+)", version)
    assert match, f"unexpected PostGIS version {version!r}"
    return f"{match[1]}.{match[2]}"


def _pg_major(version: str) -> str:
    match = re.match(r"(\d+)", version)
    assert match, f"unexpected PostgreSQL version {version!r}"
    return match[1]


# --------------------------------------------------------------------------- compose: db


def test_db_image_matches_test_database(
    compose: dict[str, Any], db_versions: tuple[str, str]
) -> None:
    pg, postgis = db_versions
    expected = f"postgis/postgis:{_pg_major(str(pg))}-{_major_minor(str(postgis))}"
    image = _service(compose, "db").get("image")
    assert image == expected, (
        f"compose db image is {image!r} but the tests run against PostgreSQL {pg} / "
        f"PostGIS {postgis}; pin the image to {expected!r} (or move the tests)"
    )


def test_db_healthcheck_and_named_volume(compose: dict[str, Any]) -> None:
    db = _service(compose, "db")
    assert "pg_isready" in _healthcheck_text(db)

    env = _environment(db)
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert env.get(key), f"db service lacks {key}"

    mounts = []
    for volume in db.get("volumes") or []:
        if isinstance(volume, dict):
            mounts.append((str(volume.get("source", "")), str(volume.get("target", ""))))
        else:
            source, _, rest = str(volume).partition(":")
            mounts.append((source, rest.split(":", 1)[0]))
    assert ("pgdata", PGDATA) in mounts, f"db must mount the pgdata volume at {PGDATA}"
    assert "pgdata" in (compose.get("volumes") or {}), "pgdata is not declared under volumes:"


def test_database_url_points_at_db_service(compose: dict[str, Any]) -> None:
    db_env = _environment(_service(compose, "db"))
    for name in APP_SERVICES:
        url = _environment(_service(compose, name)).get("DATABASE_URL", "")
        scheme, sep, rest = url.partition("://")
        assert sep and scheme == "postgresql+psycopg", f"{name}: bad DATABASE_URL {url!r}"
        userinfo, _, location = rest.rpartition("@")
        user, _, password = userinfo.partition(":")
        hostport, _, dbname = location.partition("/")
        assert hostport in ("db", "db:5432"), f"{name}: DATABASE_URL must point at db"
        assert user == db_env.get("POSTGRES_USER"), f"{name}: user differs from POSTGRES_USER"
        assert password == db_env.get("POSTGRES_PASSWORD"), f"{name}: password differs from db"
        assert dbname == db_env.get("POSTGRES_DB"), f"{name}: database differs from POSTGRES_DB"


# --------------------------------------------------------------------------- compose: app


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_from_dockerfile(compose: dict[str, Any], name: str) -> None:
    build = _service(compose, name).get("build")
    assert isinstance(build, dict), f"{name} must use the long build: syntax"
    assert build.get("context") == "..", f"{name}: build context must be the repo root (..)"
    assert build.get("dockerfile") == "docker/Dockerfile"
    # the pair must resolve to this Dockerfile
    assert (DOCKER_DIR / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_cardumen_subcommands(compose: dict[str, Any], name: str) -> None:
    argv = _argv(_service(compose, name).get("command"))
    assert argv[:2] == ["cardumen", SERVICE_COMMANDS[name]], f"{name} runs {argv!r}"


def test_api_healthcheck_and_localhost_port(compose: dict[str, Any]) -> None:
    api = _service(compose, "api")
    assert "/healthz" in _healthcheck_text(api)

    ports = _published_ports(api)
    assert ("127.0.0.1", "8000", "8000") in ports, f"api must publish 127.0.0.1:8000:8000: {ports}"
    exposed = [p for p in ports if p[0] != "127.0.0.1"]
    assert not exposed, f"api publishes ports beyond localhost: {exposed}"


def test_db_bounds_idle_transactions(compose: dict[str, Any]) -> None:
    # The change feed reads below the oldest open transaction (docs/ARCHITECTURE.md).
    command = _service(compose, "db").get("command") or []
    assert "idle_in_transaction_session_timeout=5min" in command


def test_start_order(compose: dict[str, Any]) -> None:
    assert _depends_on(_service(compose, "migrate")).get("db") == "service_healthy"
    api = _depends_on(_service(compose, "api"))
    assert api.get("db") == "service_healthy"
    assert api.get("migrate") == "service_completed_successfully"


def test_secret_key_is_required(compose: dict[str, Any]) -> None:
    required = re.compile(r"^\$\{CARDUMEN_SECRET_KEY:\?[^}]+\}$")
    for name in ("api",):
        value = _environment(_service(compose, name)).get("CARDUMEN_SECRET_KEY", "")
        assert required.match(value), (
            f"{name}: CARDUMEN_SECRET_KEY must be ${{CARDUMEN_SECRET_KEY:?message}}, not {value!r}"
        )


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_images_are_python_311() -> None:
    instructions = _dockerfile_instructions()
    stage_names = set()
    bases = []
    for keyword, args in instructions:
        if keyword != "FROM":
            continue
        words = [w for w in args.split() if not w.startswith("--")]
        if words[0] not in stage_names:
            bases.append(words[0])
        if len(words) >= 3 and words[1].lower() == "as":
            stage_names.add(words[2])
    assert len([kw for kw, _ in instructions if kw == "FROM"]) >= 2, "expected a multi-stage build"
    assert bases, "no external base image"
    for base in bases:
        assert base.startswith("python:3.11"), f"base image {base!r} is not python:3.11"


def test_dockerfile_runtime_stage() -> None:
    final = _final_stage(_dockerfile_instructions())
    by_keyword: dict[str, list[str]] = {}
    for keyword, args in final:
        by_keyword.setdefault(keyword, []).append(args)

    users = by_keyword.get("USER", [])
    assert users, "runtime stage has no USER"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0"), "runtime stage runs as root"

    exposed = " ".join(by_keyword.get("EXPOSE", [])).split()
    assert any(p.split("/", 1)[0] == "8000" for p in exposed), "EXPOSE 8000 missing"

    healthchecks = by_keyword.get("HEALTHCHECK", [])
    assert healthchecks, "no HEALTHCHECK"
    check = healthchecks[-1]
    assert check.upper() != "NONE"
    assert "/healthz" in check and "urllib" in check, "HEALTHCHECK must hit /healthz via urllib"
    assert "curl" not in check and "wget" not in check, "slim images ship neither curl nor wget"

    env = " ".join(by_keyword.get("ENV", []))
    for var in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        assert var in env, f"{var} not set"

    start = by_keyword.get("ENTRYPOINT", []) + by_keyword.get("CMD", [])
    words = re.findall(r"[\w-]+", " ".join(start))
    assert "cardumen" in words and "serve" in words, "image must start `cardumen serve`"


# --------------------------------------------------------------------------- CLI


def _cli_commands() -> set[str]:
    """The subcommands the installed ``cardumen`` entry point really has (click's own
    registry: commands live in several packages' cli modules)."""
    import importlib

    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"].get("scripts", {})
    assert "cardumen" in scripts, "pyproject.toml [project.scripts] has no `cardumen`"
    module, _, attr = scripts["cardumen"].partition(":")
    group = getattr(importlib.import_module(module), attr)
    return set(group.commands)


def test_compose_subcommands_exist_in_cli(compose: dict[str, Any]) -> None:
    used = set()
    for name, service in compose["services"].items():
        argv = _argv(service.get("command"))
        if argv[:1] == ["cardumen"]:
            assert len(argv) > 1, f"{name} runs bare `cardumen`"
            used.add(argv[1])
    assert used >= set(SERVICE_COMMANDS.values()), f"compose.yaml runs only {sorted(used)}"

    missing = sorted(used - _cli_commands())
    assert not missing, f"compose.yaml runs `cardumen` subcommands the CLI lacks: {missing}"
