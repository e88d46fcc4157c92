"""Large imports run as background jobs: queued, explained by a worker, committed by a worker, then learned."""

from __future__ import annotations

from sqlalchemy import text

from tests.conftest import make_persona

OCTET = {"Content-Type": "application/octet-stream"}
CSV = "Data,Valor,Identificador,Descrição\n" + "".join(
    f"{d % 28 + 1:02d}/10/2026,-{d + 1}.00,,MERCADO {d}\n" for d in range(40)
)


async def test_a_background_import_is_explained_committed_and_learned_by_workers(committed, committed_client):
    alice = await make_persona(committed.db, committed_client, "alice@example.com")
    account = (await alice.post("/api/v1/accounts", json={"name": "Conta"})).json()
    queued = await alice.post(
        "/api/v1/imports",
        params={"account_id": account["id"], "filename": "x.csv", "background": "true"},
        content=CSV.encode(),
        headers=OCTET,
    )
    assert queued.status_code == 201, queued.text
    body = queued.json()
    assert body["status"] == "queued" and body["progress"]["stage"] == "queued"
    refused = await alice.post(f"/api/v1/imports/{body['id']}/commit")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "import_not_ready"

    await committed.run_jobs()
    previewed = (await alice.get(f"/api/v1/imports/{body['id']}")).json()
    assert previewed["status"] == "previewed" and previewed["progress"] is None
    assert previewed["summary"]["new"] == 40 and previewed["format"] == "csv"

    committing = (await alice.post(f"/api/v1/imports/{body['id']}/commit", params={"background": "true"})).json()
    assert committing["status"] == "committing"
    await committed.run_jobs()
    done = (await alice.get(f"/api/v1/imports/{body['id']}")).json()
    assert done["status"] == "committed" and done["summary"]["committed"] == 40
    async with committed.db.sessionmaker() as session:
        assert await session.scalar(text("SELECT count(*) FROM transaction_embeddings")) == 40, "learned by a job"
        assert await session.scalar(text("SELECT count(*) FROM import_files")) == 0, "the upload is dropped"


async def test_an_unreadable_background_upload_fails_with_the_reason(committed, committed_client):
    alice = await make_persona(committed.db, committed_client, "alice@example.com")
    account = (await alice.post("/api/v1/accounts", json={"name": "Conta"})).json()
    queued = await alice.post(
        "/api/v1/imports",
        params={"account_id": account["id"], "background": "true"},
        content=b"\x00\x01\x02 not a statement \xff" * 50,
        headers=OCTET,
    )
    await committed.run_jobs()
    failed = (await alice.get(f"/api/v1/imports/{queued.json()['id']}")).json()
    assert failed["status"] == "failed" and failed["error"]["error"]["code"] in {"unreadable_file", "unknown_format"}


async def test_an_import_tells_its_user_each_step_live_on_their_private_channel(app, committed, committed_client):
    from fintrack.hub import store
    from fintrack.hub.policy import SERVER

    live: list = []
    unsubscribe = app.state.hub_broker.subscribe(live.extend)
    committed.db.broker = app.state.hub_broker  # what the worker of `fintrack serve` publishes through
    try:
        alice = await make_persona(committed.db, committed_client, "alice@example.com")
        account = (await alice.post("/api/v1/accounts", json={"name": "Conta"})).json()
        small = await alice.post(
            "/api/v1/imports", params={"account_id": account["id"]}, content=CSV.encode(), headers=OCTET
        )
        queued = await alice.post(
            "/api/v1/imports",
            params={"account_id": account["id"], "filename": "big.csv", "background": "true"},
            content=CSV.replace("MERCADO", "FEIRA").encode(),
            headers=OCTET,
        )
        big = queued.json()["id"]
        await committed.run_jobs()
        await alice.post(f"/api/v1/imports/{big}/commit", params={"background": "true"})
        await alice.post(f"/api/v1/imports/{big}/commit", params={"background": "true"})  # a no-op says nothing
        await committed.run_jobs()
        await alice.post(f"/api/v1/imports/{big}/revert")
    finally:
        unsubscribe()
        committed.db.broker = None
    async with committed.db.sessionmaker() as session:
        stored = await store.read(session, f"user.{alice.user_id}", 0, None, 1000, user=SERVER)
    everything = [p.payload for p in stored.publications]
    # The commit also queued the book's recurring detection, which says when it is done.
    assert [e["type"] for e in everything if not e["type"].startswith("import.")] == ["recurring.detected"]
    events = [e for e in everything if e["type"].startswith("import.")]
    assert [(e["type"], e["import_id"]) for e in events if e["type"] != "import.progress"] == [
        ("import.previewed", small.json()["id"]),
        ("import.queued", big),
        ("import.previewed", big),
        ("import.committing", big),
        ("import.committed", big),
        ("import.reverted", big),
    ]
    stages = [e["stage"] for e in events if e["type"] == "import.progress"]
    assert stages[:2] == ["reading", "explaining"] and "storing" in stages
    assert events[-1]["removed"] == 40 and events[-2]["summary"]["committed"] == 40
    keys = {f"import.{small.json()['id']}", f"import.{big}", f"recurring.{alice.book_id}"}
    assert {p.key for p in stored.publications} == keys
    mine = [p for p in live if p.channel == f"user.{alice.user_id}"]
    assert [p.seq for p in mine] == [p.seq for p in stored.publications]  # every one went out live, after its commit
