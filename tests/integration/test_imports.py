"""Import sessions: preview explains every row, commit writes exactly that, re-import adds nothing, revert undoes."""

from __future__ import annotations

import pytest

from tests.unit.imports.conftest import corpus

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
async def checking(alice):
    return (await alice.post("/api/v1/accounts", json={"name": "Banco do Brasil"})).json()


async def upload(persona, account, data, **params):
    response = await persona.post(
        "/api/v1/imports", params={"account_id": account["id"], **params}, content=data, headers=OCTET
    )
    return response


async def test_preview_commit_reimport_revert(alice, checking):
    data = (corpus("ofx") / "leogregianin__BancodoBrasil.ofx").read_bytes()
    preview = await upload(alice, checking, data, filename="extrato.ofx")
    assert preview.status_code == 201, preview.text
    body = preview.json()
    assert (body["format"], body["status"], body["declared_count"]) == ("ofx", "previewed", 7)
    assert body["summary"] == {
        "rows": 7,
        "new": 7,
        "duplicates": 0,
        "possible_duplicates": 0,
        "deleted": 0,
        "errors": 0,
        "transfers": 0,
        "categorized": 0,
        "suggested": 0,
        "committed": 0,
    }
    assert (await alice.get("/api/v1/transactions")).json()["items"] == [], "a preview writes nothing"

    rows = (await alice.get(f"/api/v1/imports/{body['id']}/rows")).json()["items"]
    assert [r["status"] for r in rows] == ["new"] * 7
    assert any("Cobrança" in (r["description"] or "") for r in rows), "cp1252 accents decoded"

    committed = (await alice.post(f"/api/v1/imports/{body['id']}/commit")).json()
    assert committed["status"] == "committed" and committed["summary"]["committed"] == 7
    again = (await alice.post(f"/api/v1/imports/{body['id']}/commit")).json()
    assert again["summary"]["committed"] == 7, "committing twice is a no-op"
    listed = (await alice.get("/api/v1/transactions", params={"limit": 50})).json()["items"]
    assert len(listed) == 7 and all(t["import_session_id"] == body["id"] for t in listed)
    assert (await alice.get(f"/api/v1/accounts/{checking['id']}")).json()["balance"] == "-10.00"

    second = (await upload(alice, checking, data)).json()
    assert second["summary"]["new"] == 0 and second["summary"]["duplicates"] == 7
    dup_rows = (await alice.get(f"/api/v1/imports/{second['id']}/rows")).json()["items"]
    assert {r["duplicate_of"] for r in dup_rows} == {t["id"] for t in listed}
    assert all(r["reason"].startswith("same bank id") for r in dup_rows)

    edited = listed[0]["id"]
    await alice.patch(f"/api/v1/transactions/{edited}", json={"notes": "conferido"})
    reverted = (await alice.post(f"/api/v1/imports/{body['id']}/revert")).json()
    assert reverted["removed"] == 7 and reverted["edited_since_commit"] == [edited]
    assert (await alice.get("/api/v1/transactions")).json()["items"] == []
    assert (await alice.get(f"/api/v1/accounts/{checking['id']}")).json()["balance"] == "0.00"
    refused = await alice.post(f"/api/v1/imports/{body['id']}/commit")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "import_reverted"


async def test_identical_rows_stay_as_many_and_overlaps_add_only_new_ones(alice, checking):
    header = "Data,Valor,Identificador,Descrição\n"
    coffees = "".join("01/11/2026,-5.50,,CAFÉ DO PONTO\n" for _ in range(3))
    first = (await upload(alice, checking, (header + coffees).encode(), filename="a.csv")).json()
    assert first["summary"]["new"] == 3
    await alice.post(f"/api/v1/imports/{first['id']}/commit")
    overlap = header + coffees + "01/11/2026,-5.50,,CAFE DO PONTO\n" + "02/11/2026,-20.00,,PADARIA\n"
    second = (await upload(alice, checking, overlap.encode(), filename="b.csv")).json()
    assert (second["summary"]["new"], second["summary"]["duplicates"]) == (2, 3)


async def test_bad_rows_are_explained_with_their_line(alice, checking):
    data = (corpus("ofx") / "jseutter__fail_nice-decimal_error.ofx").read_bytes()
    body = (await upload(alice, checking, data)).json()
    assert body["summary"]["errors"] >= 1 and body["summary"]["new"] == 0
    error = (await alice.get(f"/api/v1/imports/{body['id']}/rows", params={"status": "error"})).json()["items"][0]
    assert error["line"] and error["reason"]


async def test_other_currency_rows_are_errors_not_silent(alice):
    usd = (await alice.post("/api/v1/accounts", json={"name": "Card", "currency": "EUR"})).json()
    data = (corpus("ofx") / "leogregianin__creditcard.ofx").read_bytes()
    body = (await upload(alice, usd, data)).json()
    rows = (await alice.get(f"/api/v1/imports/{body['id']}/rows")).json()["items"]
    assert {r["field"] for r in rows} == {"currency"}


async def test_unreadable_files_and_multi_account_files_get_clear_errors(alice, checking):
    empty = await upload(alice, checking, b"")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "unreadable_file"
    garbage = await upload(alice, checking, bytes(range(256)) * 10)
    assert garbage.status_code == 422
    multi = (corpus("ofx") / "beancount__example.qbo").read_bytes()
    choose = await upload(alice, checking, multi)
    assert choose.status_code == 422 and choose.json()["error"]["code"] == "choose_statement"
    picked = await upload(alice, checking, multi, statement_account=choose.json()["error"]["details"]["accounts"][0])
    assert picked.status_code == 201, picked.text
    assert (await alice.get("/api/v1/imports")).json()[0]["id"] == picked.json()["id"]


async def test_another_books_import_is_not_found(alice, bob, checking):
    data = (corpus("csv") / "actualbudget__data-payee-memo.csv").read_bytes()
    body = (await upload(alice, checking, data)).json()
    for path in (f"/api/v1/imports/{body['id']}", f"/api/v1/imports/{body['id']}/rows"):
        assert (await bob.get(path)).status_code == 404
    assert (await bob.post(f"/api/v1/imports/{body['id']}/commit")).status_code == 404
    into_hers = await upload(bob, checking, data)
    assert into_hers.status_code == 404 and into_hers.json()["error"]["code"] == "account_not_found"


async def test_deleted_transactions_are_not_brought_back_unless_asked(alice, checking):
    data = (corpus("csv") / "actualbudget__data-payee-memo.csv").read_bytes()
    first = (await upload(alice, checking, data)).json()
    await alice.post(f"/api/v1/imports/{first['id']}/commit")
    gone = (await alice.get("/api/v1/transactions")).json()["items"][0]
    assert (await alice.delete(f"/api/v1/transactions/{gone['id']}")).status_code == 204
    again = (await upload(alice, checking, data)).json()
    assert (again["summary"]["new"], again["summary"]["duplicates"], again["summary"]["deleted"]) == (0, 3, 1)
    deleted = (await alice.get(f"/api/v1/imports/{again['id']}/rows", params={"status": "deleted"})).json()["items"]
    assert deleted[0]["reason"].startswith("you deleted this transaction")
    decided = await alice.put(
        f"/api/v1/imports/{again['id']}/rows/{deleted[0]['id']}/decision", json={"decision": "import"}
    )
    assert decided.status_code == 200 and decided.json()["decision"] == "import"
    assert (await alice.post(f"/api/v1/imports/{again['id']}/commit")).json()["summary"]["committed"] == 1
    assert len((await alice.get("/api/v1/transactions")).json()["items"]) == 4


async def test_not_a_duplicate_is_remembered_and_skip_is_obeyed(alice, checking):
    data = b"Data,Valor,Identificador,Descri\xc3\xa7\xc3\xa3o\n01/11/2026,-5.50,,PADARIA\n02/11/2026,-9.00,,BANCA\n"
    first = (await upload(alice, checking, data)).json()
    await alice.post(f"/api/v1/imports/{first['id']}/commit")
    second = (await upload(alice, checking, data + b"03/11/2026,-1.00,,NOVO\n")).json()
    rows = (await alice.get(f"/api/v1/imports/{second['id']}/rows")).json()["items"]
    duplicate, new = rows[0], rows[2]
    path = f"/api/v1/imports/{second['id']}/rows"
    await alice.put(f"{path}/{duplicate['id']}/decision", json={"decision": "import"})
    await alice.put(f"{path}/{new['id']}/decision", json={"decision": "skip"})
    committed = (await alice.post(f"/api/v1/imports/{second['id']}/commit")).json()
    assert committed["summary"]["committed"] == 1
    descriptions = sorted(t["description"] for t in (await alice.get("/api/v1/transactions")).json()["items"])
    assert descriptions == ["BANCA", "PADARIA", "PADARIA"]
    late = await alice.put(f"{path}/{new['id']}/decision", json={"decision": "import"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "import_decided"
    third = (await upload(alice, checking, data)).json()
    assert third["summary"]["new"] == 0, "each file row finds a twin; the refused pairing is not offered again"
    third_rows = (await alice.get(f"/api/v1/imports/{third['id']}/rows")).json()["items"]
    assert third_rows[0]["duplicate_of"] != duplicate["duplicate_of"]


async def test_a_hand_entered_twin_from_another_source_is_a_possible_duplicate_awaiting_a_decision(alice, checking):
    typed = await alice.post(
        "/api/v1/transactions",
        json={
            "account_id": checking["id"],
            "date": "2026-11-01",
            "amount": "-12.50",
            "description": "Padaria São João",
        },
    )
    data = "Data,Valor,Identificador,Descrição\n02/11/2026,-12.50,,PADARIA SAO JOAO 123\n03/11/2026,-12.50,,UBER TRIP\n"
    body = (await upload(alice, checking, data.encode())).json()
    assert (body["summary"]["possible_duplicates"], body["summary"]["new"]) == (1, 1)
    rows = (await alice.get(f"/api/v1/imports/{body['id']}/rows", params={"status": "possible_duplicate"})).json()
    twin = rows["items"][0]
    assert twin["duplicate_of"] == typed.json()["id"] and twin["reason"].startswith("same amount 1 day apart")
    assert 0.6 <= float(twin["score"]) < 1
    committed = (await alice.post(f"/api/v1/imports/{body['id']}/commit")).json()
    assert committed["summary"]["committed"] == 1, "a possible duplicate is not written until the user says so"


async def test_rows_with_different_bank_ids_are_never_possible_duplicates(alice, checking):
    first = "Data,Valor,Identificador,Descrição\n01/11/2026,-30.00,A-1,POSTO IPIRANGA\n"
    done = (await upload(alice, checking, first.encode())).json()
    await alice.post(f"/api/v1/imports/{done['id']}/commit")
    second = "Data,Valor,Identificador,Descrição\n02/11/2026,-30.00,A-2,POSTO IPIRANGA\n"
    body = (await upload(alice, checking, second.encode())).json()
    assert (body["summary"]["new"], body["summary"]["possible_duplicates"]) == (1, 0)
