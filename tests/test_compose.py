"""docker-compose.yml, checked without docker: the services, their commands (real `albumbot`
subcommands), health checks and start order, secrets from the environment, settings names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.cli import build_parser
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ALBUMBOT_SERVICES = ("migrate", "web", "worker-gpu", "worker-cpu")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def test_the_distributed_shape_has_every_service(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == {
        "redis", "postgres", "migrate", "web", "worker-gpu", "worker-cpu", "flower",
    }


@pytest.mark.parametrize("name", ALBUMBOT_SERVICES)
def test_commands_are_real_albumbot_subcommands(compose: dict[str, Any], name: str) -> None:
    command = services(compose)[name]["command"]
    assert command[0] == "albumbot"
    args = build_parser().parse_args(command[1:])  # SystemExit (a failure) on unknown options
    assert args.command == {"migrate": "migrate", "web": "web"}.get(name, "worker")
    if args.command == "worker":
        assert args.queues == name.removeprefix("worker-")
    if name == "worker-gpu":
        assert args.concurrency == 1  # one job per GPU


def test_the_gpu_worker_reserves_an_nvidia_device(compose: dict[str, Any]) -> None:
    (device,) = services(compose)["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["count"] == 1 and "gpu" in device["capabilities"]


def test_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    s = services(compose)
    for name in ("redis", "postgres", "web", "worker-gpu", "worker-cpu"):
        assert s[name]["healthcheck"]["test"], name
    assert s["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert s["migrate"]["restart"] == "no"
    for name in ("web", "worker-gpu", "worker-cpu"):
        depends = s[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["redis"] == depends["postgres"] == {"condition": "service_healthy"}
    assert s["flower"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "noeviction" in s["redis"]["command"]


def environment_names(compose: dict[str, Any]) -> set[str]:
    names = set(re.findall(r"\$\{(ALBUMBOT_[A-Z0-9_]+)", COMPOSE.read_text()))
    for service in services(compose).values():
        names |= {k for k in service.get("environment", {}) if k.startswith("ALBUMBOT_")}
    return names


def test_every_albumbot_variable_is_a_settings_field(compose: dict[str, Any]) -> None:
    names = environment_names(compose)
    assert {"ALBUMBOT_DATABASE_URL", "ALBUMBOT_BROKER_URL", "ALBUMBOT_DATA_DIR"} <= names
    unknown = sorted(n for n in names if n.removeprefix("ALBUMBOT_").lower() not in Settings.model_fields)
    assert unknown == []


def test_secrets_come_from_the_environment(compose: dict[str, Any]) -> None:
    s = services(compose)
    for name in ALBUMBOT_SERVICES:
        env = s[name]["environment"]
        assert env["ALBUMBOT_API_TOKEN"] == "${ALBUMBOT_API_TOKEN:-}"
        assert "${POSTGRES_PASSWORD:?" in env["ALBUMBOT_DATABASE_URL"]
        assert env["ALBUMBOT_BROKER_URL"].startswith("redis://redis:")
    assert s["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert s["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")


def test_web_and_workers_share_the_media_volume(compose: dict[str, Any]) -> None:
    s = services(compose)
    for name in ALBUMBOT_SERVICES:
        data_dir = s[name]["environment"]["ALBUMBOT_DATA_DIR"]
        assert f"media:{data_dir}" in s[name]["volumes"], name
    assert "media" in compose["volumes"]


def test_the_dockerfile_copies_what_exists() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", text, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path


@pytest.mark.parametrize(("name", "port"), [("web", "WEB_PORT"), ("flower", "FLOWER_PORT")])
def test_published_ports_bind_loopback_by_default(
    compose: dict[str, Any], name: str, port: str
) -> None:
    (mapping,) = services(compose)[name]["ports"]
    match = re.fullmatch(r"\$\{[A-Z]+_BIND:-127\.0\.0\.1\}:\$\{(\w+):-\d+\}:\d+", mapping)
    assert match and match.group(1) == port, mapping


def test_the_web_service_off_loopback_is_never_open(compose: dict[str, Any]) -> None:
    """Inside its container the web service listens on 0.0.0.0: with the compose default (an
    empty token) it must come up with a token, never open."""
    from app.exposure import is_loopback

    args = build_parser().parse_args(services(compose)["web"]["command"][1:])
    assert not is_loopback(args.host)
    assert Settings(api_token="").api_token is None  # what ${ALBUMBOT_API_TOKEN:-} gives


class _OverrideLoader(yaml.SafeLoader):
    """Reads compose-spec tags (`!reset`, `!override`) that plain YAML does not know."""


_OverrideLoader.add_constructor("!reset", lambda loader, node: None)
_OverrideLoader.add_constructor("!override", lambda loader, node: loader.construct_mapping(node))
OFFLINE = ROOT / "deploy" / "offline"


@pytest.fixture(scope="module")
def offline() -> dict[str, Any]:
    data = yaml.load((OFFLINE / "compose.offline.yml").read_text(), Loader=_OverrideLoader)
    assert isinstance(data, dict)
    return data


def test_the_offline_override_swaps_only_images(
    compose: dict[str, Any], offline: dict[str, Any]
) -> None:
    """deploy/offline/compose.offline.yml (tests/test_compose_up.py) changes where images come
    from and nothing else, and leaves no registry image in place."""
    s, o = services(compose), services(offline)
    assert set(o) <= set(s)
    for name, override in o.items():
        assert set(override) <= {"image", "build", "deploy"}, name
    for name, service in s.items():
        if "build" in service:
            assert o[name]["build"]["args"]["BASE"].startswith("localhost/albumbot-offline/"), name
        else:
            assert o[name]["image"].startswith("localhost/albumbot-offline/"), name
    assert o["worker-gpu"]["deploy"] is None  # `!reset`: no NVIDIA reservation on a CPU host


def test_every_stand_in_is_built_by_the_script(offline: dict[str, Any]) -> None:
    script = (OFFLINE / "build-images.sh").read_text()
    built = set(re.findall(r"-t (localhost/albumbot-offline/\S+)", script))
    named = {o["image"] for o in services(offline).values() if "image" in o}
    named |= {o["build"]["args"]["BASE"] for o in services(offline).values() if "build" in o}
    assert {n for n in named if n.startswith("localhost/albumbot-offline/")} <= built
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, flags=re.M)
    assert re.search(r"^FROM \$\{BASE\}$", text, flags=re.M)
