"""The `fintrack` command line: serve, worker, db, user, token, demo, backup."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from fintrack.backup.commands import app as backup_app
from fintrack.settings import Settings, SettingsError, load_settings

app = typer.Typer(help="FinTrack: self-hosted household finance.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
hub_app = typer.Typer(help="The signal hub from the shell (FINTRACK_URL and FINTRACK_TOKEN, or --url and --token).")
app.add_typer(hub_app, name="hub")
app.add_typer(backup_app, name="backup")
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc), 2) from None


def prepared(settings: Settings) -> Settings:
    """Start the embedded database if needed, apply migrations, and pin the URL for everything after."""
    from fintrack import migrate
    from fintrack.db import database_url

    url = database_url(settings)
    migrate.upgrade(url)
    return settings.model_copy(update={"DATABASE_URL": url})


def run_in_transaction(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    from fintrack.db import Database
    from fintrack.errors import DomainError

    async def main() -> T:
        database = Database.connect(settings.DATABASE_URL or "", pool_size=1)
        try:
            async with database.sessionmaker() as session, session.begin():
                return await work(session)
        finally:
            await database.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise fail(f"{exc.message} ({exc.code})") from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default: HOST or 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: PORT or 8000]")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Run no background jobs here (`fintrack worker` runs them)")
    ] = False,
) -> None:
    """Web UI, API and hub on one port, and a background job worker; embedded PostgreSQL unless DATABASE_URL is set."""
    settings = prepared(settings_or_exit())
    if no_worker:
        settings = settings.model_copy(update={"WORKER_IN_PROCESS": False})
    _serve(settings, host, port)


def _serve(settings: Settings, host: str | None, port: int | None) -> None:
    import gc

    import uvicorn

    from fintrack.hub import ws
    from fintrack.main import create_app

    web = create_app(settings)
    # What is imported and built by now lives as long as the process: keep it out of the cyclic collector's full
    # passes, which otherwise walk all of it and stall every request for 0.3-0.6 s in the middle of a burst
    # (measured with bench/hub_webhook_bench.py).
    gc.freeze()
    uvicorn.run(
        web,
        ws=ws.serving(web),  # /ws on this same port, served by the hub's own protocol
        host=host or settings.HOST,
        port=port or settings.PORT,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
        server_header=False,
        # Server-Sent Events streams never end by themselves: give open requests this long, then cut them (WebSocket
        # clients are told 1001 at once and resume elsewhere).
        timeout_graceful_shutdown=10,
    )


@hub_app.command("serve")
def hub_serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on [default: HOST or 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: PORT or 8000]")] = None,
) -> None:
    """A hub replica: /ws and the API (REST publish and history included), no background jobs. Replicas share
    live publications through Redis: set REDIS_URL, or each one delivers only what was published through it."""
    settings = prepared(settings_or_exit())
    if not settings.REDIS_URL:
        err.print("warning: REDIS_URL is not set: this replica will not see what other replicas publish live")
    _serve(settings.model_copy(update={"WORKER_IN_PROCESS": False}), host, port)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=100, help="Jobs run at once [default: WORKER_CONCURRENCY or 1]")
    ] = None,
    queues: Annotated[str | None, typer.Option(help="Comma-separated queues to work on [default: all]")] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT, then let the running ones finish."""
    from fintrack import logs, pgserver
    from fintrack.db import Database
    from fintrack.jobs.worker import run_standalone

    settings = prepared(settings_or_exit())
    logs.configure(settings)
    jobs_at_once = concurrency or settings.WORKER_CONCURRENCY
    names = [name.strip() for name in (queues or "").split(",") if name.strip()] or None

    async def main() -> None:
        database = Database.connect(settings.DATABASE_URL or "", pool_size=jobs_at_once + 1)
        try:
            await run_standalone(database, settings, queues=names, concurrency=jobs_at_once)
        finally:
            await database.close()

    try:
        asyncio.run(main())
    finally:
        pgserver.release()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from fintrack import migrate

    prepared(settings_or_exit())
    err.print(f"database at migration {migrate.head_revision()}")


def _read_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise fail(f"cannot read {password_file}: {exc.strerror}") from None
    if not sys.stdin.isatty():
        raise fail("no terminal to ask for a password: pass --password-file FILE")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("create")
def user_create(
    email: str,
    password_file: Annotated[Path | None, typer.Option(help="Read the password from this file")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator")] = False,
    locale: Annotated[str, typer.Option(help="pt-BR or en: language of the default categories")] = "pt-BR",
    currency: Annotated[str, typer.Option(help="Base currency of the user's book")] = "BRL",
) -> None:
    """Create a user with a default book of their own."""
    from fintrack.auth import service as auth

    if locale not in ("pt-BR", "en"):
        raise fail("--locale must be pt-BR or en")
    password = _read_password(password_file)
    settings = prepared(settings_or_exit())

    async def work(session):  # type: ignore[no-untyped-def]
        return await auth.create_user(session, email, password, is_admin=admin, locale=locale, base_currency=currency)

    user = run_in_transaction(settings, work)
    err.print(f"created user {user.email} (id {user.id}) with book {user.default_book_id}")


@token_app.command("create")
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="A label to recognise the token by")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="api, hub:publish, hub:subscribe, hub:history")] = None,
    channel: Annotated[
        list[str] | None, typer.Option(help="limit the hub scopes to channels matching these patterns (signals.*)")
    ] = None,
) -> None:
    """Print a new API token on stdout (the only time it is shown)."""
    from fintrack.auth import queries
    from fintrack.auth import service as auth
    from fintrack.auth.scopes import Scope
    from fintrack.hub.policy import is_pattern

    try:
        scopes = [Scope(s) for s in (scope or ["api"])]
    except ValueError:
        raise fail(f"unknown scope in {scope}; use: {', '.join(s.value for s in Scope)}") from None
    if bad := [c for c in channel or [] if not is_pattern(c)]:
        raise fail(f"not a channel pattern: {bad[0]!r} (dot-separated lowercase names, * for one segment)")
    settings = prepared(settings_or_exit())

    async def work(session):  # type: ignore[no-untyped-def]
        user = await queries.user_by_email(session, email)
        if user is None:
            raise fail(f"no user {email}")
        return (await auth.create_token(session, user, name, scopes, channel_patterns=channel or None))[1]

    typer.echo(run_in_transaction(settings, work))


@token_app.command("list")
def token_list(email: str) -> None:
    """List a user's tokens."""
    from fintrack.auth import queries

    settings = prepared(settings_or_exit())

    async def work(session):  # type: ignore[no-untyped-def]
        user = await queries.user_by_email(session, email)
        if user is None:
            raise fail(f"no user {email}")
        return await queries.tokens_of(session, user.id)

    table = Table("id", "name", "prefix", "scopes", "created", "last used", "revoked")
    for t in run_in_transaction(settings, work):
        table.add_row(
            str(t.id),
            t.name,
            t.prefix,
            " ".join(t.scopes),
            f"{t.created_at:%Y-%m-%d}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "-",
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke(email: str, token_id: int) -> None:
    """Revoke one of a user's tokens."""
    from fintrack.auth import queries
    from fintrack.auth import service as auth

    settings = prepared(settings_or_exit())

    async def work(session):  # type: ignore[no-untyped-def]
        user = await queries.user_by_email(session, email)
        if user is None:
            raise fail(f"no user {email}")
        return await auth.revoke_token(session, user, token_id)

    run_in_transaction(settings, work)
    err.print(f"revoked token {token_id}")


@app.command()
def demo(
    email: Annotated[str, typer.Option(help="Whose default book to fill (created if missing)")] = "demo@fintrack.local",
    password_file: Annotated[Path | None, typer.Option(help="Password for a new demo user")] = None,
    years: Annotated[int, typer.Option(min=1, max=20, help="Years of history")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same book")] = 42,
) -> None:
    """Fill a book with realistic Brazilian household life, so the product shows itself at once."""
    import secrets

    from fintrack.auth import queries
    from fintrack.auth import service as auth
    from fintrack.books.access import access
    from fintrack.demo.service import fill_book

    settings = prepared(settings_or_exit())
    new_password = None

    async def work(session):  # type: ignore[no-untyped-def]
        nonlocal new_password
        user = await queries.user_by_email(session, email)
        if user is None:
            new_password = _read_password(password_file) if password_file else secrets.token_urlsafe(12)
            user = await auth.create_user(session, email, new_password, book_name="Família Silva (demo)")
        book = await access(session, user.id, None, user.default_book_id)
        return await fill_book(session, book, years=years, seed=seed)

    summary = run_in_transaction(settings, work)
    err.print(f"demo book filled: {summary}")
    if new_password and not password_file:
        err.print(f"log in as [bold]{email}[/bold] with password [bold]{new_password}[/bold]")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The statement: CSV, OFX/QFX/OFC, QIF, CAMT or MT940")],
    account: Annotated[str, typer.Option(help="Account name in the user's default book (created if missing)")],
    user: Annotated[str | None, typer.Option(help="Whose book (default: the only user, or the first admin)")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of a new account [default: the book's]")] = None,
    format: Annotated[str | None, typer.Option(help="Force the format: csv, ofx, qif, camt, mt940")] = None,
    statement_account: Annotated[
        str | None, typer.Option(help="Which account's statement, in multi-account files")
    ] = None,
    commit: Annotated[bool, typer.Option("--commit", help="Write the new rows after the preview")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table")] = False,
    rows: Annotated[bool, typer.Option("--rows", help="Print one JSON line per source row")] = False,
) -> None:
    """Open an import session for FILE, print its preview summary, and commit it if asked."""
    import json

    from fintrack.imports.flows import import_from_cli

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from None
    settings = prepared(settings_or_exit())

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    # On stderr, and gone when done: stdout stays the summary (or JSON) a script reads.
    with Progress(
        TextColumn("{task.description:<11}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip
        stage = bar.add_task("reading", total=None)

        async def report(name: str, done: int, total: int) -> None:
            bar.update(stage, description=name, completed=done, total=total or None)

        async def work(session):  # type: ignore[no-untyped-def]
            return await import_from_cli(
                session,
                data,
                file.name,
                account=account,
                user_email=user,
                currency=currency,
                fmt=format,
                statement_account=statement_account,
                commit=commit,
                progress=report,
            )

        summary, row_lines = run_in_transaction(settings, work)
    if rows:
        for line in row_lines:
            typer.echo(json.dumps(line, ensure_ascii=False))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    elif not rows:
        columns = ("session", "format", "rows", "new", "transfers", "duplicates", "errors", "categorized", "committed")
        table = Table(*columns)
        table.add_row(*(str(summary[k]) for k in columns))
        Console().print(table)
        for notice in summary["notices"]:
            err.print(f"{notice['severity']}: {notice['message']}")


HubUrl = Annotated[str, typer.Option("--url", envvar="FINTRACK_URL", help="FinTrack's base URL")]
HubToken = Annotated[str, typer.Option("--token", envvar="FINTRACK_TOKEN", help="an API token with hub scopes")]


@hub_app.command("publish")
def hub_publish(
    channel: Annotated[str, typer.Argument(help="e.g. signals.btcusdt")],
    payload: Annotated[str, typer.Argument(help="the signal, as JSON")],
    url: HubUrl = "http://127.0.0.1:8000",
    token: HubToken = "",
    key: Annotated[str | None, typer.Option(help="conflation key (latest per key)")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="a repeat with this key is not published twice")] = None,
) -> None:
    """Publish one signal; prints its seq and epoch once it is durable."""
    import json

    from fintrack.hub.client import HubClient, HubError

    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise fail(f"the payload is not JSON: {exc}") from None
    if not token:
        raise fail("no token: set FINTRACK_TOKEN or pass --token")

    async def send() -> dict[str, object]:
        async with HubClient(url, token) as hub:
            done = await hub.publish(channel, value, key=key, idempotency_key=idempotency_key)
        return {"channel": channel, "seq": done.seq, "epoch": done.epoch, "duplicate": done.duplicate}

    try:
        typer.echo(json.dumps(asyncio.run(send())))
    except HubError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None


@hub_app.command("tail")
def hub_tail(
    channel: Annotated[str, typer.Argument(help="e.g. signals.btcusdt")],
    url: HubUrl = "http://127.0.0.1:8000",
    token: HubToken = "",
    after_seq: Annotated[int | None, typer.Option(min=0, help="start after this seq (default: only new ones)")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="stop after this many publications")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per publication")] = False,
) -> None:
    """Follow a channel live (reconnecting and resuming on its own), optionally from a seq."""
    import dataclasses
    import json

    from fintrack.hub.client import Gap, HubClient, HubError

    if not token:
        raise fail("no token: set FINTRACK_TOKEN or pass --token")

    async def follow() -> None:
        seen = 0
        async with HubClient(url, token) as hub:
            async for event in hub.subscribe(channel, after_seq=after_seq):
                if isinstance(event, Gap):
                    err.print(f"gap: {event.from_seq}..{event.to_seq} ({event.reason})")
                    continue
                if as_json:
                    typer.echo(json.dumps(dataclasses.asdict(event), ensure_ascii=False))
                else:
                    typer.echo(f"{event.seq:>8}  {event.ingest_time}  {json.dumps(event.payload, ensure_ascii=False)}")
                seen += 1
                if limit is not None and seen >= limit:
                    return

    try:
        asyncio.run(follow())
    except HubError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass


webhook_app = typer.Typer(
    help="TradingView-style webhooks publishing alerts on a channel (FINTRACK_URL, FINTRACK_TOKEN)."
)
hub_app.add_typer(webhook_app, name="webhook")


@webhook_app.command("create")
def hub_webhook_create(
    channel: Annotated[str, typer.Option(help="the channel alerts are published on, e.g. signals.btcusdt")],
    name: Annotated[str, typer.Option(help="a label to recognise the webhook by")] = "tradingview",
    secret_in: Annotated[str, typer.Option(help="path: the URL is the secret; body: each alert carries it")] = "path",  # noqa: S107 - where the secret goes, not a secret
    allow: Annotated[
        list[str] | None, typer.Option(help="allowed sender: an IP, a CIDR network or the preset tradingview")
    ] = None,
    dedupe_seconds: Annotated[
        int, typer.Option(min=0, help="a body repeated within this window is not re-published")
    ] = 60,
    url: HubUrl = "http://127.0.0.1:8000",
    token: HubToken = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the whole answer as JSON")] = False,
) -> None:
    """Create a webhook; prints the URL and the message to paste into TradingView (the secret is shown only now)."""
    import json

    import httpx

    if not token:
        raise fail("no token: set FINTRACK_TOKEN or pass --token")
    body = {"name": name, "channel": channel, "secret_in": secret_in, "allow": allow, "dedupe_seconds": dedupe_seconds}
    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/api/v1/hub/webhooks", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None
    if answer.status_code != 201:
        try:
            error = answer.json()["error"]
            raise fail(f"{error['message']} ({error['code']})")
        except (ValueError, KeyError, TypeError):
            raise fail(f"{answer.status_code}: {answer.text[:300]}") from None
    made = answer.json()
    if as_json:
        typer.echo(json.dumps(made))
        return
    typer.echo(f"Webhook URL:  {made['url']}")
    typer.echo(f"Message:      {made['message']}")
    err.print(f"webhook {made['id']} publishes on {made['channel']}; the secret is not shown again")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
