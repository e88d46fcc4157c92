"""The README's walk-through, for real: `fintrack serve` on the embedded default, then the CLI and the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow
FINTRACK = [sys.executable, "-m", "fintrack"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "FINTRACK_ENV")}
    return {**env, "FINTRACK_DATA_DIR": str(data_dir), **extra}


def run_cli(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FINTRACK, *args], env=env_for(data_dir, **extra), capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*FINTRACK, "serve", "--port", str(port)],
            env=env_for(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            pytest.fail(f"fintrack serve exited: {log.read_text()}")
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("fintrack serve did not become ready")
    yield base, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_readme_walkthrough(server, data_dir, tmp_path):
    base, _ = server
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    created = run_cli(data_dir, "user", "create", "ana@example.com", "--password-file", str(password_file))
    assert created.returncode == 0, created.stderr
    token_run = run_cli(data_dir, "token", "create", "ana@example.com", "--name", "laptop")
    assert token_run.returncode == 0, token_run.stderr
    token = token_run.stdout.strip()
    assert token.startswith("ft_") and "\n" not in token
    with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}) as api:
        walk(api)
    metrics = httpx.get(f"{base}/metrics").text
    assert 'route="/api/v1/transactions"' in metrics


def walk(api: httpx.Client) -> None:
    account = api.post("/accounts", json={"name": "Nubank", "type": "checking"}).json()
    made = api.post(
        "/transactions",
        json={
            "account_id": account["id"],
            "date": "2026-11-20",
            "amount": "-18.90",
            "description": "CAFÉ DO PONTO",
        },
    )
    assert made.status_code == 201, made.text
    found = api.get("/transactions", params={"q": "cafe"}).json()["items"]
    assert [t["description"] for t in found] == ["CAFÉ DO PONTO"]
    assert api.get("/accounts").json()[0]["balance"] == "-18.90"


def test_cli_errors_are_clear(server, data_dir, tmp_path):
    dup = tmp_path / "pw"
    dup.write_text(PASSWORD)
    run_cli(data_dir, "user", "create", "dup@example.com", "--password-file", str(dup))
    again = run_cli(data_dir, "user", "create", "dup@example.com", "--password-file", str(dup))
    assert again.returncode == 1 and "already exists" in again.stderr
    nobody = run_cli(data_dir, "token", "create", "nobody@example.com")
    assert nobody.returncode == 1 and "no user nobody@example.com" in nobody.stderr
    scope = run_cli(data_dir, "token", "create", "dup@example.com", "--scope", "root")
    assert scope.returncode == 1 and "unknown scope" in scope.stderr
    missing = run_cli(data_dir, "user", "create", "x@example.com", "--password-file", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_cli_import_previews_commits_and_refuses_garbage(server, data_dir, tmp_path):
    import json

    from tests.unit.imports.conftest import corpus

    statement = corpus("ofx") / "leogregianin__Itau.ofx"
    args = ("import", str(statement), "--account", "Itaú", "--user", "ana@example.com", "--json")
    preview = run_cli(data_dir, *args)
    assert preview.returncode == 0, preview.stderr
    summary = json.loads(preview.stdout)
    assert (summary["format"], summary["rows"], summary["new"], summary["committed"]) == ("ofx", 17, 17, 0)
    committed = json.loads(run_cli(data_dir, *args, "--commit").stdout)
    assert committed["committed"] == 17 and committed["status"] == "committed"
    again = run_cli(data_dir, *args, "--rows")
    lines = [json.loads(line) for line in again.stdout.splitlines()]
    assert [line["status"] for line in lines[:-1]] == ["duplicate"] * 17 and lines[-1]["new"] == 0
    garbage = tmp_path / "photo.jpg"
    garbage.write_bytes(bytes(range(256)) * 8)
    refused = run_cli(data_dir, "import", str(garbage), "--account", "Itaú", "--user", "ana@example.com")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "not a statement format" in refused.stderr
    missing = run_cli(data_dir, "import", str(tmp_path / "nope.ofx"), "--account", "X")
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run_cli(tmp_path, "serve", FINTRACK_ENV="production")
    assert result.returncode == 2
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required" in result.stderr
    placeholder = run_cli(tmp_path, "db", "upgrade", FINTRACK_ENV="production", SECRET_KEY="changeme")
    assert placeholder.returncode == 2 and "placeholder" in placeholder.stderr


def embedded_database(data_dir: Path) -> psycopg.Connection:
    """A connection to the embedded server a fintrack process started, without becoming one of its users."""
    socket_dir = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[4]
    return psycopg.connect(host=socket_dir, user="postgres", dbname="fintrack", autocommit=True)


def defer_upkeep(connection: psycopg.Connection) -> int:
    row = connection.execute(
        "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW('maintenance', 'jobs.remove_old', 0, NULL, NULL, "
        "'{\"days\": 0}'::jsonb, NULL)]::procrastinate_job_to_defer_v1[]))"
    ).fetchone()
    assert row is not None
    return int(row[0])


def wait_for_job(connection: psycopg.Connection, job_id: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        row = connection.execute("SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job_id,)).fetchone()
        status = row[0] if row else None
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    return str(status)


def test_background_jobs_run_in_serve_and_in_a_separate_worker(server, data_dir, tmp_path):
    with embedded_database(data_dir) as connection:
        assert wait_for_job(connection, defer_upkeep(connection)) == "succeeded"  # serve's in-process worker

    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [*FINTRACK, "worker", "--concurrency", "2", "--queues", "maintenance,imports"],
            env=env_for(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while "worker started" not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.1)
        with embedded_database(tmp_path) as connection:
            assert wait_for_job(connection, defer_upkeep(connection)) == "succeeded", log.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
    assert "Traceback" not in log.read_text()
    deadline = time.monotonic() + 10
    while (tmp_path / "postgres" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()


def test_killing_an_import_mid_commit_leaves_nothing_half_written(server, data_dir, tmp_path):
    import json

    rows = 30_000
    statement = tmp_path / "grande.csv"
    statement.write_text(
        "Data,Valor,Identificador,Descrição\n"
        + "".join(
            f"{n % 28 + 1:02d}/{n % 12 + 1:02d}/2025,-{n % 900 + 1}.{n % 100:02d},id{n},LOJA {n}\n" for n in range(rows)
        )
    )
    args = ("import", str(statement), "--account", "Morta", "--user", "ana@example.com", "--commit", "--json")
    victim = subprocess.Popen(
        [*FINTRACK, *args], env=env_for(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Another backend running the commit's insert (this very query's text contains the words too).
    writing = (
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
        "AND query LIKE '%%INSERT INTO transactions%%'"
    )
    with embedded_database(data_dir) as connection:
        deadline = time.monotonic() + 120
        while connection.execute(writing).fetchone()[0] == 0 and victim.poll() is None:
            assert time.monotonic() < deadline, "the commit never started"
            time.sleep(0.01)
        assert victim.poll() is None, "the import ended before the kill: nothing was tested"
        victim.kill()  # SIGKILL: no handler, no rollback from the client side
        victim.wait(timeout=30)
        # The server notices the dead client and rolls its transaction back; wait until that backend is gone.
        while connection.execute(writing).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = connection.execute(
            "SELECT (SELECT count(*) FROM accounts WHERE name = 'Morta'), "
            "(SELECT count(*) FROM transactions t JOIN accounts a ON a.id = t.account_id WHERE a.name = 'Morta')"
        ).fetchone()
    assert leftovers == (0, 0), "a killed commit must leave no account, no transaction"
    done = run_cli(data_dir, *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["committed"] == rows


def test_the_hub_websocket_is_on_the_same_port_and_checks_real_tokens(server, data_dir, tmp_path):
    import json

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    base, _ = server
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD)
    assert run_cli(data_dir, "user", "create", "bot@example.com", "--password-file", str(password_file)).returncode == 0
    made = run_cli(data_dir, "token", "create", "bot@example.com", "--scope", "hub:subscribe")
    assert made.returncode == 0, made.stderr
    ws_url = base.replace("http://", "ws://") + "/ws"
    with connect(f"{ws_url}?token={made.stdout.strip()}") as ws:
        welcome = json.loads(ws.recv(timeout=10))
        assert welcome["type"] == "welcome" and welcome["scopes"] == ["hub:subscribe"]
        ws.send(json.dumps({"type": "ping", "ref": 1}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong", "ref": 1}
        ws.send("{broken")
        assert json.loads(ws.recv(timeout=10))["code"] == "malformed_json"
        assert "hub_connections_active 1.0" in httpx.get(f"{base}/metrics").text
    with connect(f"{ws_url}?token=ft_not_a_token") as ws, pytest.raises(ConnectionClosed) as closed:
        told = json.loads(ws.recv(timeout=10))
        assert told["code"] == "unauthenticated" and "revoked or expired" in told["message"]
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def test_publications_committed_over_rest_reach_websocket_subscribers_with_resume(server, data_dir, tmp_path):
    import json

    from websockets.sync.client import connect

    base, _ = server
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD)
    run_cli(data_dir, "user", "create", "feed@example.com", "--password-file", str(password_file))
    made = run_cli(
        data_dir, "token", "create", "feed@example.com", "--scope", "hub:publish", "--scope", "hub:subscribe"
    )
    token = made.stdout.strip()
    url = f"{base}/api/v1/hub/channels/signals.wsfeed/publications"
    headers = {"Authorization": f"Bearer {token}"}
    for n in (1, 2):
        assert httpx.post(url, json={"payload": {"n": n}}, headers=headers).status_code == 201

    def pubs(ws, count: int) -> list[dict]:
        got = []
        while len(got) < count:
            msg = json.loads(ws.recv(timeout=10))
            assert msg["type"] in ("welcome", "subscribed", "pub"), msg
            if msg["type"] == "pub":
                got.append(msg)
        return got

    with connect(f"{base.replace('http://', 'ws://')}/ws?token={token}") as ws:
        ws.send(json.dumps({"type": "subscribe", "channel": "signals.wsfeed", "from": {"after_seq": 0}}))
        replayed = pubs(ws, 2)
        assert [(p["seq"], p["payload"]) for p in replayed] == [(1, {"n": 1}), (2, {"n": 2})]
        assert httpx.post(url, json={"payload": {"n": 3}}, headers=headers).status_code == 201
        live = pubs(ws, 1)[0]
        assert (live["channel"], live["seq"], live["payload"], live["epoch"]) == ("signals.wsfeed", 3, {"n": 3}, 1)
    with connect(f"{base.replace('http://', 'ws://')}/ws?token={token}") as ws:
        ws.send(json.dumps({"type": "subscribe", "channel": "signals.wsfeed", "from": {"after_seq": 2, "epoch": 1}}))
        assert [p["seq"] for p in pubs(ws, 1)] == [3]


def test_hub_publish_and_tail_from_the_shell(server, data_dir):
    import json

    base, _ = server
    scopes = ("--scope", "hub:publish", "--scope", "hub:subscribe", "--scope", "hub:history")
    token = run_cli(data_dir, "token", "create", "ana@example.com", "--name", "bot", *scopes).stdout.strip()
    hub = {"FINTRACK_URL": base, "FINTRACK_TOKEN": token}
    sent = [
        json.loads(run_cli(data_dir, "hub", "publish", "signals.e2e", json.dumps({"n": n}), **hub).stdout)
        for n in range(3)
    ]
    assert [s["seq"] for s in sent] == [1, 2, 3]
    again = run_cli(data_dir, "hub", "publish", "signals.e2e", "{}", "--idempotency-key", "k1", **hub)
    repeat = run_cli(data_dir, "hub", "publish", "signals.e2e", "{}", "--idempotency-key", "k1", **hub)
    assert json.loads(repeat.stdout)["seq"] == json.loads(again.stdout)["seq"] == 4
    assert json.loads(repeat.stdout)["duplicate"] is True
    tail = run_cli(data_dir, "hub", "tail", "signals.e2e", "--after-seq", "1", "--limit", "3", "--json", **hub)
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [(line["channel"], line["seq"]) for line in lines] == [
        ("signals.e2e", 2),
        ("signals.e2e", 3),
        ("signals.e2e", 4),
    ]
    assert lines[0]["payload"] == {"n": 1} and "epoch" in lines[0]
    bad = run_cli(data_dir, "hub", "publish", "signals.e2e", "{not json", **hub)
    assert bad.returncode == 1 and "not JSON" in bad.stderr
    refused = run_cli(data_dir, "hub", "publish", "signals.e2e", "{}", FINTRACK_URL=base, FINTRACK_TOKEN="ft_wrong")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    narrow = run_cli(
        data_dir, "token", "create", "ana@example.com", "--scope", "hub:publish", "--channel", "signals.btc*"
    )
    assert narrow.returncode == 1 and "not a channel pattern" in narrow.stderr
    limited = run_cli(
        data_dir, "token", "create", "ana@example.com", *scopes, "--channel", "signals.btc.*"
    ).stdout.strip()
    outside = run_cli(data_dir, "hub", "publish", "signals.e2e", "{}", FINTRACK_URL=base, FINTRACK_TOKEN=limited)
    assert outside.returncode == 1 and "Traceback" not in outside.stderr
    inside = run_cli(data_dir, "hub", "publish", "signals.btc.usdt", "{}", FINTRACK_URL=base, FINTRACK_TOKEN=limited)
    assert inside.returncode == 0, inside.stderr


def test_a_hub_replica_serves_the_same_history(server, data_dir, tmp_path):
    import json

    base, _ = server
    port = free_port()
    log = tmp_path / "replica.log"
    with log.open("w") as out:
        replica = subprocess.Popen(
            [*FINTRACK, "hub", "serve", "--port", str(port)],
            env=env_for(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        other = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{other}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert replica.poll() is None, log.read_text()
        scopes = ("--scope", "hub:publish", "--scope", "hub:subscribe", "--scope", "hub:history")
        token = run_cli(data_dir, "token", "create", "ana@example.com", *scopes).stdout.strip()
        sent = run_cli(
            data_dir, "hub", "publish", "signals.replica", '{"x": 1}', FINTRACK_URL=other, FINTRACK_TOKEN=token
        )
        assert sent.returncode == 0, sent.stderr
        tail = run_cli(
            data_dir, "hub", "tail", "signals.replica", "--after-seq", "0", "--limit", "1", "--json",
            FINTRACK_URL=base, FINTRACK_TOKEN=token,
        )  # fmt: skip
        assert json.loads(tail.stdout)["payload"] == {"x": 1}
        replica.send_signal(signal.SIGTERM)
        # As serve: uvicorn stops gracefully, then re-raises the signal.
        assert replica.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()
    finally:
        if replica.poll() is None:
            replica.kill()
    assert "REDIS_URL is not set" in log.read_text()


def test_sigterm_stops_the_server_and_its_embedded_database(server, data_dir):
    _, process = server
    process.send_signal(signal.SIGTERM)
    # uvicorn stops gracefully, then re-raises the signal so the exit status tells how it ended.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    deadline = time.monotonic() + 10
    while (data_dir / "postgres" / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
