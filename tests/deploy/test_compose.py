"""The compose files against the Compose Specification's schema, and what the schema cannot see: pinned images,
health checks, start order, secrets as files, and memory limits that fit the VM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, ROOT, interpolate, ok, read_env_file, run, tool

SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
PROFILES = DEPLOY / "profiles"
SITE = read_env_file(PROFILES / "site.env.example")
PROD = ROOT / "docker-compose.prod.yml"
GiB = 1024**3


def render(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The file as Compose sees it after interpolation (YAML anchors and merge keys resolved by the loader)."""
    document = yaml.safe_load(interpolate(path.read_text(), env))
    assert isinstance(document, dict)
    return document


def profile_env(*names: str) -> dict[str, str]:
    env = dict(SITE)
    for name in names:
        env.update(read_env_file(PROFILES / f"{name}.env"))
    return env


def validate(tmp_path: Path, documents: dict[str, dict[str, Any]]) -> bool:
    files = []
    for name, document in documents.items():
        target = tmp_path / f"{name}.json"
        target.write_text(json.dumps(document))
        files.append(target)
    return ok(run(tool("check-jsonschema"), "--schemafile", SCHEMA, *files))


def test_every_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    documents = {
        "dev": render(ROOT / "docker-compose.yml", {}),
        "prod-small": render(PROD, profile_env("small")),
        "prod-large": render(PROD, profile_env("large")),
        "prod-timescale": render(PROD, profile_env("small", "timescale")),
        "nginx": render(DEPLOY / "nginx" / "compose.nginx.yml", profile_env("small")),
    }
    assert validate(tmp_path, documents)


def test_a_broken_compose_file_is_caught(tmp_path: Path) -> None:
    broken = render(PROD, profile_env("small"))
    broken["services"]["db"]["healthcheck"]["retries"] = "many"
    broken["services"]["app"]["depends_on"]["db"]["condition"] = "service_happy"
    assert not validate(tmp_path, {"broken": broken})


def test_production_needs_its_site_settings() -> None:
    with pytest.raises(ValueError, match="DOMAIN"):
        render(PROD, {k: v for k, v in profile_env("small").items() if k != "DOMAIN"})


def memory_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([bkmg]?)b?", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def memory_total(document: dict[str, Any]) -> int:
    """Every service's limit times its replicas, the backup job included (it runs beside the rest)."""
    total = 0
    for name, service in document["services"].items():
        deploy = service.get("deploy", {})
        limit = deploy.get("resources", {}).get("limits", {}).get("memory")
        assert limit, f"{name} has no memory limit"
        total += memory_bytes(str(limit)) * int(deploy.get("replicas", 1))
    return total


def test_the_small_profile_fits_in_12_gib() -> None:
    total = memory_total(render(PROD, profile_env("small")))
    assert total <= 12 * GiB
    assert total == 8960 * 1024**2  # the figure deploy/profiles/small.env and the docs quote


def test_the_large_profile_fits_in_24_gib_with_room_for_the_host() -> None:
    total = memory_total(render(PROD, profile_env("large")))
    assert total <= 21 * GiB
    assert total == 20992 * 1024**2


def test_images_are_pinned_and_services_are_supervised() -> None:
    document = render(PROD, profile_env("small"))
    for name, service in document["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: image {image} is not pinned"
        if name != "backup":
            assert service.get("restart") == "unless-stopped", name
        assert "healthcheck" in service or name == "backup", f"{name} has no health check"
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert not document["services"][dependency].get("healthcheck", {}).get("disable"), dependency


def test_secrets_are_files_never_values() -> None:
    document = render(PROD, profile_env("small"))
    for name, secret in document["secrets"].items():
        assert set(secret) == {"file"}, name
    for name, service in document["services"].items():
        for key, value in service.get("environment", {}).items():
            assert not re.search(r"(PASSWORD|SECRET|TOKEN)$", key) or key.endswith("_FILE"), f"{name}: {key}"
            assert "://" not in str(value) or "@" not in str(value), f"{name}: credentials in {key}"


def test_postgres_data_lives_on_the_block_volume_where_the_image_keeps_it() -> None:
    plain = render(PROD, profile_env("small"))["services"]["db"]
    assert plain["image"].endswith("-pg18-trixie")
    assert "/mnt/oracle_data/fintrack/postgres:/var/lib/postgresql" in plain["volumes"]
    timescale = render(PROD, profile_env("small", "timescale"))["services"]["db"]
    assert timescale["image"].startswith("timescale/timescaledb-ha:pg18")
    assert "/mnt/oracle_data/fintrack/postgres:/home/postgres/pgdata" in timescale["volumes"]


def test_only_the_proxy_and_the_vpn_publish_ports() -> None:
    document = render(PROD, profile_env("small"))
    published = {name: service["ports"] for name, service in document["services"].items() if "ports" in service}
    assert published == {"proxy": ["80:80", "443:443"], "vpn": ["51820:51820/udp"]}


def test_traefik_is_recent_enough_for_docker_engine_29() -> None:
    image = render(PROD, profile_env("small"))["services"]["proxy"]["image"]
    major, minor, patch = (int(p) for p in image.split(":v")[1].split("."))
    assert (major, minor, patch) >= (3, 6, 1)


def test_every_middleware_a_router_names_is_defined() -> None:
    document = render(PROD, profile_env("small"))
    dynamic = yaml.safe_load((DEPLOY / "traefik" / "dynamic.yml").read_text())
    defined = {f"{name}@file" for name in dynamic["http"]["middlewares"]}
    named = set()
    for service in document["services"].values():
        for key, value in service.get("labels", {}).items():
            if key.endswith(".middlewares"):
                named.update(value.split(","))
        for argument in service.get("command", []) if service["image"].startswith("traefik:") else []:
            if ".http.middlewares=" in argument:
                named.update(argument.split("=", 1)[1].split(","))
    assert named and named <= defined
    admin_routers = {
        key.rsplit(".", 1)[0]
        for service in document["services"].values()
        for key, value in service.get("labels", {}).items()
        if key.endswith(".rule") and "/admin" in value
    }
    for router in admin_routers:
        middlewares = next(
            s["labels"][f"{router}.middlewares"]
            for s in document["services"].values()
            if f"{router}.middlewares" in s.get("labels", {})
        )
        assert middlewares.split(",") == ["vpn-only@file", "admin-auth@file"], router


def test_fintrack_containers_run_fintrack_commands() -> None:
    # The image has no ENTRYPOINT: a command is the whole argv (`compose run --rm app fintrack backup run`).
    assert "ENTRYPOINT" not in (ROOT / "Dockerfile").read_text().split("No ENTRYPOINT", 1)[1]
    documents = [render(ROOT / "docker-compose.yml", {}), render(PROD, profile_env("small"))]
    roles = set()
    for document in documents:
        for name, service in document["services"].items():
            if "build" in service or "fintrack" in service.get("image", "").split(":")[0]:
                assert service["command"][0] == "fintrack", name
                roles.add(" ".join(service["command"][1:3]))
    assert {"serve", "serve --no-worker", "hub serve", "worker", "backup list"} <= roles
