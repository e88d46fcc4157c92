"""The linters over the deployment files: shellcheck, hadolint, actionlint, yamllint; and what the image must be."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.conftest import DEPLOY, ROOT, ok, run, tool

SCRIPTS = sorted([*(DEPLOY / "host").glob("*.sh"), *(ROOT / "scripts").glob("*.sh")])
YAML = [
    ROOT / "docker-compose.yml",
    ROOT / "docker-compose.prod.yml",
    *sorted(DEPLOY.rglob("*.yml")),
    *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
]


def test_shell_scripts_pass_shellcheck() -> None:
    assert {p.name for p in SCRIPTS} >= {"setup-oci.sh", "fintrack-docker-user.sh", "fintrack-deploy.sh"}
    assert ok(run(tool("shellcheck"), "--severity=style", *SCRIPTS))


def test_shell_scripts_stop_on_the_first_error() -> None:
    for script in SCRIPTS:
        assert "set -euo pipefail" in script.read_text(), script


def test_a_broken_shell_script_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text('#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $DATA_ROOT/*\n[ -f "$1" ] && echo "${x"\n')
    assert not ok(run(tool("shellcheck"), broken))


def test_the_dockerfile_passes_hadolint() -> None:
    assert ok(run(tool("hadolint"), "--failure-threshold", "info", ROOT / "Dockerfile"))


def test_the_image_runs_as_a_user_with_a_health_check_and_no_local_data() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 3  # uv, build, runtime
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"bench/out", ".venv", "data"} <= set(ignored)


def test_workflows_pass_actionlint() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    assert ok(run(tool("actionlint"), "-shellcheck", tool("shellcheck"), *workflows))


def test_the_deploy_needs_no_ssh_from_ci() -> None:
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text().lower()
        assert "ssh" not in text, workflow


def test_yaml_files_pass_yamllint() -> None:
    assert ok(run(tool("yamllint"), "--strict", "-c", DEPLOY / "yamllint.yml", *YAML))


def test_broken_yaml_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("services:\n  app:\n    image: a\n    image: b\n   ports: [1]\n")
    assert not ok(run(tool("yamllint"), "-c", DEPLOY / "yamllint.yml", broken))
