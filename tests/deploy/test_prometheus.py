"""Prometheus's configuration and alert rules through promtool: syntax, and unit tests that make every alert fire
and stay quiet; Alertmanager's configuration through amtool; Grafana's dashboards parse as JSON and their queries
as PromQL."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from tests.deploy.conftest import DEPLOY, ok, run, tool

PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules" / "fintrack.yml"
ALERTS = {
    "HighErrorRate",
    "HighLatency",
    "DatabaseDown",
    "TargetDown",
    "HubDeliveryLatencyHigh",
    "HubSlowConsumers",
    "BackupStale",
    "RestoreTestStale",
    "DiskAlmostFull",
    "CertificateExpiring",
}


def test_the_configuration_and_its_rules_are_valid(tmp_path: Path) -> None:
    # The container reads rules from /etc/prometheus/rules; point a copy at the repository's so check config
    # checks them too (an unmatched glob would pass silently).
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["rule_files"] = [str(PROMETHEUS / "rules" / "*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config))
    result = run(tool("promtool"), "check", "config", copy)
    assert ok(result)
    assert "SUCCESS: 10 rules found" in result.stdout


def test_every_alert_has_unit_tests_that_pass() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
    tested = set()
    for path in tests:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                tested.add((check["alertname"], bool(check["exp_alerts"])))
    assert {name for name, _ in tested} == ALERTS
    # Each alert is seen firing and seen quiet.
    assert {(name, firing) for name in ALERTS for firing in (True, False)} <= tested
    assert ok(run(tool("promtool"), "test", "rules", *tests, cwd=PROMETHEUS / "tests"))


def test_a_broken_rule_file_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("sum by (job) (rate(http_requests_total[5m]))", "sum by (job (", 1))
    assert not ok(run(tool("promtool"), "check", "rules", broken))


def test_a_rule_that_no_longer_fires_fails_its_unit_test(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    # A threshold typo (p95 over 20 s rather than 2 s) still parses; only the unit tests notice.
    (tmp_path / "rules" / "fintrack.yml").write_text(RULES.read_text().replace(") > 2\n", ") > 20\n", 1))
    shutil.copy(PROMETHEUS / "tests" / "fintrack.test.yml", tmp_path / "tests")
    assert ok(run(tool("promtool"), "check", "rules", tmp_path / "rules" / "fintrack.yml"))
    assert not ok(run(tool("promtool"), "test", "rules", "fintrack.test.yml", cwd=tmp_path / "tests"))


def test_dashboards_are_provisioned_and_their_queries_parse(tmp_path: Path) -> None:
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert {d.stem for d in dashboards} == {"api", "hub", "imports", "postgres", "host"}
    rules = []
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "prometheus"
                expr = re.sub(r"\$__(rate_)?interval", "5m", target["expr"])
                rules.append({"record": f"dashboard:{path.stem}:{len(rules)}", "expr": expr})
    # promtool parses every query as the expression of a recording rule.
    check = tmp_path / "dashboards.yml"
    check.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert ok(run(tool("promtool"), "check", "rules", check))
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["uid"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards" / "fintrack.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.example.yml"


def test_the_alertmanager_configuration_is_valid() -> None:
    assert ok(run(tool("amtool"), "check-config", ALERTMANAGER))


def test_a_broken_alertmanager_configuration_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(
        ALERTMANAGER.read_text().replace("receiver: operator\n  group_by", "receiver: nobody\n  group_by", 1)
    )
    assert not ok(run(tool("amtool"), "check-config", broken))
