"""A TradingView webhook made from the shell, fed the message it suggests, lands on the channel of a real server."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.test_cli_and_serve import data_dir, run_cli, server  # noqa: F401 - the same fixtures

pytestmark = pytest.mark.slow


def tradingview(message: str) -> str:
    """What TradingView sends: the message with its placeholders filled in."""
    filled = {"{{ticker}}": "BTCUSDT", "{{strategy.order.action}}": "buy", "{{close}}": "42000.5"}
    for placeholder, value in {**filled, "{{timenow}}": "2026-11-23T10:00:00Z"}.items():
        message = message.replace(placeholder, value)
    return message


def test_a_webhook_made_from_the_shell_publishes_the_message_it_suggests(server, data_dir, tmp_path):  # noqa: F811
    base, _ = server
    password = tmp_path / "password"
    password.write_text(PASSWORD)
    run_cli(data_dir, "user", "create", "trader@example.com", "--password-file", str(password))
    scopes = ("--scope", "hub:publish", "--scope", "hub:history")
    token = run_cli(data_dir, "token", "create", "trader@example.com", *scopes).stdout.strip()
    hub = {"FINTRACK_URL": base, "FINTRACK_TOKEN": token}

    made = run_cli(
        data_dir, "hub", "webhook", "create", "--channel", "signals.tv", "--secret-in", "body", "--json", **hub
    )
    assert made.returncode == 0, made.stderr
    hook = json.loads(made.stdout)
    sent = httpx.post(f"{base}{hook['path']}", content=tradingview(hook["message"]))
    assert sent.status_code == 201, sent.text
    history = httpx.get(
        f"{base}/api/v1/hub/channels/signals.tv/publications", headers={"Authorization": f"Bearer {token}"}
    )
    [stored] = history.json()["publications"]
    assert stored["payload"] == {"ticker": "BTCUSDT", "action": "buy", "close": 42000.5, "time": "2026-11-23T10:00:00Z"}
    assert stored["producer_time"].startswith("2026-11-23T10:00:00")

    plain = run_cli(data_dir, "hub", "webhook", "create", "--channel", "signals.tv", "--allow", "tradingview", **hub)
    # The URL is built from BASE_URL, which this server leaves at its default.
    assert plain.returncode == 0 and plain.stdout.startswith("Webhook URL:  http://127.0.0.1:8000/hooks/tradingview/")
    refused = run_cli(data_dir, "hub", "webhook", "create", "--channel", "signals.tv", "--allow", "localhost", **hub)
    assert refused.returncode == 1 and "hub_webhook_invalid_allow" in refused.stderr, refused.stderr
