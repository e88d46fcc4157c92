"""What an import adds beyond dedupe: transfers paired across imports, categories proposed (rule, file, history,
the user's choice), CSV column mappings saved and reused."""

from __future__ import annotations

import pytest

from fintrack.categorize import service as categorize

OCTET = {"Content-Type": "application/octet-stream"}
HEADER = "Data,Valor,Identificador,Descrição\n"


@pytest.fixture
async def checking(alice):
    return (await alice.post("/api/v1/accounts", json={"name": "Itaú Conta"})).json()


@pytest.fixture
async def savings(alice):
    return (await alice.post("/api/v1/accounts", json={"name": "Nubank", "type": "savings"})).json()


async def upload(persona, account, text, **params):
    response = await persona.post(
        "/api/v1/imports",
        params={"account_id": account["id"], "filename": "extrato.csv", **params},
        content=text.encode(),
        headers=OCTET,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def rows(persona, imported, **params):
    return (await persona.get(f"/api/v1/imports/{imported['id']}/rows", params=params)).json()["items"]


async def category_named(persona, name):
    return next(c["id"] for c in (await persona.get("/api/v1/categories")).json() if c["name"] == name)


async def test_transfers_are_paired_across_two_imports_and_revert_unpairs(alice, checking, savings):
    out = await upload(
        alice, checking, HEADER + "03/11/2026,-500.00,,TRANSF ENVIADA NUBANK\n04/11/2026,-20.00,,PADARIA\n"
    )
    await alice.post(f"/api/v1/imports/{out['id']}/commit")
    arriving = await upload(
        alice, savings, HEADER + "04/11/2026,500.00,,Transferência recebida\n04/11/2026,20.00,,Estorno loja\n"
    )
    assert arriving["summary"]["transfers"] == 1 and arriving["summary"]["new"] == 1
    paired = await rows(alice, arriving, status="transfer")
    sent = (await alice.get("/api/v1/transactions", params={"account_id": checking["id"], "q": "transf"})).json()
    assert paired[0]["transfer_with"] == sent["items"][0]["id"]
    assert paired[0]["reason"].startswith("transfer with Itaú Conta")

    await alice.post(f"/api/v1/imports/{arriving['id']}/commit")
    far = (await alice.get(f"/api/v1/transactions/{sent['items'][0]['id']}")).json()
    assert far["transfer_id"] is not None
    transfer = (await alice.get(f"/api/v1/transfers/{far['transfer_id']}")).json()
    legs = (transfer["from_transaction"], transfer["to_transaction"])
    assert {leg["account_id"] for leg in legs} == {checking["id"], savings["id"]}

    reverted = (await alice.post(f"/api/v1/imports/{arriving['id']}/revert")).json()
    assert reverted["removed"] == 2
    far = (await alice.get(f"/api/v1/transactions/{sent['items'][0]['id']}")).json()
    assert far["transfer_id"] is None, "the far leg stays, no longer half of a transfer"


async def test_equal_and_opposite_amounts_without_a_transfer_sign_are_not_paired(alice, checking, savings):
    out = await upload(alice, checking, HEADER + "03/11/2026,-50.00,,RESTAURANTE DO ZE\n")
    await alice.post(f"/api/v1/imports/{out['id']}/commit")
    back = await upload(alice, savings, HEADER + "03/11/2026,50.00,,REEMBOLSO JOAO\n")
    assert back["summary"]["transfers"] == 0 and back["summary"]["new"] == 1


async def test_import_as_plain_transaction_instead_of_a_transfer(alice, checking, savings):
    out = await upload(alice, checking, HEADER + "03/11/2026,-100.00,,PIX ENVIADO NUBANK\n")
    await alice.post(f"/api/v1/imports/{out['id']}/commit")
    back = await upload(alice, savings, HEADER + "03/11/2026,100.00,,PIX RECEBIDO\n")
    row = (await rows(alice, back))[0]
    assert row["status"] == "transfer"
    await alice.put(f"/api/v1/imports/{back['id']}/rows/{row['id']}/decision", json={"decision": "import"})
    await alice.post(f"/api/v1/imports/{back['id']}/commit")
    listed = (await alice.get("/api/v1/transactions", params={"account_id": savings["id"]})).json()["items"]
    assert len(listed) == 1 and listed[0]["transfer_id"] is None


async def test_history_suggests_and_sure_suggestions_are_applied_at_commit(alice, checking, db):
    market = await category_named(alice, "Supermercado")
    history = "".join(f"{d:02d}/10/2026,-{100 + d}.00,,SUPERMERCADO ZONA SUL {d}\n" for d in range(1, 9))
    first = await upload(alice, checking, HEADER + history)
    await alice.post(f"/api/v1/imports/{first['id']}/commit")
    for t in (await alice.get("/api/v1/transactions", params={"limit": 50})).json()["items"]:
        await alice.patch(f"/api/v1/transactions/{t['id']}", json={"category_id": market})

    second = await upload(
        alice, checking, HEADER + "05/11/2026,-88.00,,SUPERMERCADO ZONA SUL 77\n05/11/2026,-9,,QWXZ\n"
    )
    assert second["summary"]["categorized"] == 1
    found = {r["description"]: r for r in await rows(alice, second)}
    sure = found["SUPERMERCADO ZONA SUL 77"]
    assert (sure["category_id"], sure["category_source"], sure["apply_category"]) == (market, "similar", True)
    assert float(sure["confidence"]) >= 0.8
    assert found["QWXZ"]["category_id"] is None or not found["QWXZ"]["apply_category"]
    await alice.post(f"/api/v1/imports/{second['id']}/commit")
    written = (await alice.get("/api/v1/transactions", params={"q": "zona sul 77"})).json()["items"]
    assert written[0]["category_id"] == market


async def test_the_users_category_choice_wins_and_a_deleted_category_is_not_written(alice, checking):
    leisure = await category_named(alice, "Lazer")
    imported = await upload(alice, checking, HEADER + "05/11/2026,-30.00,,CINEMARK\n05/11/2026,-40.00,,TEATRO\n")
    first, second = await rows(alice, imported)
    chosen = await alice.put(
        f"/api/v1/imports/{imported['id']}/rows/{first['id']}/category", json={"category_id": leisure}
    )
    assert chosen.json()["category_source"] == "user" and chosen.json()["apply_category"]
    doomed = (await alice.post("/api/v1/categories", json={"name": "Temporária"})).json()
    await alice.put(
        f"/api/v1/imports/{imported['id']}/rows/{second['id']}/category", json={"category_id": doomed["id"]}
    )
    await alice.delete(f"/api/v1/categories/{doomed['id']}")
    committed = await alice.post(f"/api/v1/imports/{imported['id']}/commit")
    assert committed.status_code == 200, committed.text
    written = {t["description"]: t for t in (await alice.get("/api/v1/transactions")).json()["items"]}
    assert written["CINEMARK"]["category_id"] == leisure and written["TEATRO"]["category_id"] is None
    refused = await alice.put(
        f"/api/v1/imports/{imported['id']}/rows/{first['id']}/category", json={"category_id": leisure}
    )
    assert refused.status_code == 409


async def test_a_files_own_category_column_is_mapped_to_the_books_categories(alice, checking):
    text = "date,amount,payee,category\n2026-11-05,-12.00,Padaria,Alimentação:Padaria\n2026-11-06,-5,Uber,Nada\n"
    imported = await upload(alice, checking, text)
    found = {r["payee"]: r for r in await rows(alice, imported)}
    assert found["Padaria"]["category_source"] == "file"
    assert found["Padaria"]["category_id"] == await category_named(alice, "Padaria")
    assert found["Uber"]["category_source"] != "file"


async def test_a_corrected_mapping_is_saved_and_reused_for_the_same_header(alice, checking):
    text = "Quando;Quanto;Onde;Obs\n05/11/2026;-12,50;Padaria;a\n06/11/2026;-8,00;Banca;b\n"
    unread = await upload(alice, checking, text)
    assert unread["summary"]["new"] == 0 or unread["options"]["csv"]["profile"]["amount"] is not None
    mapping = {"date": 0, "amount": 1, "description": 2, "memo": 3, "name": "Meu banco"}
    remapped = await alice.put(f"/api/v1/imports/{unread['id']}/mapping", json=mapping)
    assert remapped.status_code == 200, remapped.text
    body = remapped.json()
    assert body["summary"]["new"] == 2 and body["profile_id"] is not None
    assert {r["description"] for r in await rows(alice, body)} == {"Padaria", "Banca"}

    again = await upload(alice, checking, text.replace("Padaria", "Mercado"))
    assert again["profile_id"] == body["profile_id"] and again["summary"]["new"] == 2
    listed = (await alice.get("/api/v1/import-profiles")).json()
    assert listed[0]["name"] == "Meu banco" and listed[0]["uses"] == 1
    assert listed[0]["header"] == ["quando", "quanto", "onde", "obs"]

    bad = await alice.put(f"/api/v1/imports/{again['id']}/mapping", json={"date": 0, "amount": 9})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_mapping"
    assert (await alice.delete(f"/api/v1/import-profiles/{body['profile_id']}")).status_code == 204
    assert (await alice.get("/api/v1/import-profiles")).json() == []


async def test_mapping_an_ofx_is_refused(alice, checking):
    from tests.unit.imports.conftest import corpus

    data = (corpus("ofx") / "leogregianin__BancodoBrasil.ofx").read_bytes()
    response = await alice.post("/api/v1/imports", params={"account_id": checking["id"]}, content=data, headers=OCTET)
    refused = await alice.put(f"/api/v1/imports/{response.json()['id']}/mapping", json={"date": 0, "amount": 1})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_csv"


async def test_bob_cannot_use_or_delete_alices_profiles(alice, bob, checking):
    text = "Quando;Quanto;Onde\n05/11/2026;-12,50;Padaria\n"
    imported = await upload(alice, checking, text)
    body = (await alice.put(f"/api/v1/imports/{imported['id']}/mapping", json={"date": 0, "amount": 1})).json()
    assert (await bob.delete(f"/api/v1/import-profiles/{body['profile_id']}")).status_code == 404
    assert (await bob.get("/api/v1/import-profiles")).json() == []


async def test_embedding_the_committed_rows_makes_them_vote(alice, checking, db):
    imported = await upload(alice, checking, HEADER + "05/11/2026,-30.00,,CINEMARK\n")
    await alice.post(f"/api/v1/imports/{imported['id']}/commit")
    async with db.sessionmaker() as session, session.begin():
        assert await categorize.embed_missing(session, alice.book_id) == 1


async def test_rules_come_first_and_commit_writes_their_category_tags_payee_and_split(alice, checking):
    transport = await category_named(alice, "Transporte")
    leisure = await category_named(alice, "Lazer")
    tag = (await alice.post("/api/v1/tags", json={"name": "trabalho"})).json()
    rule = {
        "name": "Uber",
        "conditions": [{"field": "text", "op": "contains", "value": "uber"}],
        "actions": {"category_id": transport, "tag_ids": [tag["id"]], "payee": "Uber"},
    }
    made = await alice.post("/api/v1/rules", json=rule)
    assert made.status_code == 201, made.text
    split = {
        "name": "Clube",
        "conditions": [{"field": "description", "op": "starts_with", "value": "clube"}],
        "actions": {"splits": [{"category_id": leisure, "percent": "70"}, {"category_id": transport, "percent": "30"}]},
    }
    assert (await alice.post("/api/v1/rules", json=split)).status_code == 201
    imported = await upload(alice, checking, HEADER + "05/11/2026,-23.45,,UBER *TRIP\n06/11/2026,-100.01,,CLUBE X\n")
    found = {r["description"]: r for r in await rows(alice, imported)}
    uber = found["UBER *TRIP"]
    assert (uber["category_source"], uber["category_id"], uber["rule_id"]) == ("rule", transport, made.json()["id"])
    assert uber["tag_ids"] == [tag["id"]] and uber["payee"] == "Uber" and uber["apply_category"]
    assert [p["amount"] for p in found["CLUBE X"]["splits"]] == ["-70.00", "-30.01"]

    await alice.post(f"/api/v1/imports/{imported['id']}/commit")
    written = {t["description"]: t for t in (await alice.get("/api/v1/transactions")).json()["items"]}
    assert written["UBER *TRIP"]["category_id"] == transport
    assert written["UBER *TRIP"]["tags"] == ["trabalho"] and written["UBER *TRIP"]["payee"] == "Uber"
    parts = written["CLUBE X"]["splits"]
    assert [(p["category_id"], p["amount"]) for p in parts] == [(leisure, "-70.00"), (transport, "-30.01")]
    assert written["CLUBE X"]["category_id"] is None
    hits = {r["name"]: r["hits"] for r in (await alice.get("/api/v1/rules")).json()}
    assert hits == {"Uber": 1, "Clube": 1}
