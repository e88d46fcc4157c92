"""The systemd units in deploy/systemd/ are valid, and the timers start the services they are paired with."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[3] / "deploy" / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify():
    files = sorted(str(p) for p in UNITS.glob("fintrack-backup*"))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files],
        capture_output=True,
        text=True,
        env={"SYSTEMD_LOG_LEVEL": "err", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    # The fintrack binary is installed on the host, not here.
    problems = [line for line in result.stderr.splitlines() if "/usr/local/bin/fintrack is not executable" not in line]
    assert problems == []


@pytest.mark.parametrize(
    ("timer", "command"), [("fintrack-backup", "backup run"), ("fintrack-backup-verify", "backup verify")]
)
def test_each_timer_has_its_service(timer: str, command: str):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNITS / f"{timer}.service")
    assert command in parser["Service"]["ExecStart"]
    assert "\nPersistent=true\n" in (UNITS / f"{timer}.timer").read_text()
