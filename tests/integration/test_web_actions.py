"""Web actions beyond the journey: an administrator managing who belongs to which book, deleting a transaction
(budgets re-checked), and detection asked from the recurring page running in the background."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from fintrack.books.errors import LastOwner
from fintrack.books.models import BookMember, Role
from fintrack.web import i18n
from tests.integration.test_web import account, logged_in


async def _make_admin(db, persona) -> None:
    async with db.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE users SET is_admin = true WHERE id = :u"), {"u": persona.user_id})


async def _role(db, book_id: int, user_id: int) -> Role | None:
    async with db.sessionmaker() as session:
        query = select(BookMember.role).where(BookMember.book_id == book_id, BookMember.user_id == user_id)
        return await session.scalar(query)


async def test_an_admin_adds_a_member_changes_the_role_and_removes_them(client, db, alice, bob):
    await _make_admin(db, alice)
    csrf = await logged_in(client, alice.email, "en")
    page = (await client.get("/admin")).text
    assert "Books and roles" in page and alice.email in page
    members = f"/admin/books/{alice.book_id}/members"
    added = await client.post(members, data={"csrf": csrf, "email": bob.email, "role": "viewer"})
    assert added.status_code == 303 and added.headers["location"] == f"/admin#book-{alice.book_id}"
    assert await _role(db, alice.book_id, bob.user_id) is Role.viewer
    assert (await client.post(members, data={"csrf": csrf, "email": bob.email, "role": "editor"})).status_code == 303
    assert await _role(db, alice.book_id, bob.user_id) is Role.editor
    removed = await client.post(f"{members}/{bob.user_id}/remove", data={"csrf": csrf})
    assert removed.status_code == 303 and await _role(db, alice.book_id, bob.user_id) is None


async def test_an_admin_cannot_leave_a_book_without_an_owner_or_add_a_stranger(client, db, alice, bob):
    await _make_admin(db, alice)
    csrf = await logged_in(client, alice.email, "pt-BR")
    members = f"/admin/books/{bob.book_id}/members"
    demoted = await client.post(members, data={"csrf": csrf, "email": bob.email, "role": "viewer"})
    said = i18n.translations("pt-BR").gettext(LastOwner.__doc__ or "")
    assert demoted.status_code == 422 and said in demoted.text and said != LastOwner.__doc__
    assert await _role(db, bob.book_id, bob.user_id) is Role.owner
    stranger = await client.post(members, data={"csrf": csrf, "email": "nobody@example.com", "role": "viewer"})
    assert stranger.status_code == 422 and 'role="alert"' in stranger.text
    bad_role = await client.post(members, data={"csrf": csrf, "email": bob.email, "role": "god"})
    assert bad_role.status_code == 422 and 'role="alert"' in bad_role.text
    missing = await client.post(
        "/admin/books/999999/members", data={"csrf": csrf, "email": bob.email, "role": "viewer"}
    )
    assert missing.status_code == 422 and 'role="alert"' in missing.text


async def test_only_admins_manage_members(client, alice, bob):
    csrf = await logged_in(client, bob.email, "en")
    refused = await client.post(
        f"/admin/books/{alice.book_id}/members", data={"csrf": csrf, "email": bob.email, "role": "owner"}
    )
    assert refused.status_code == 403


async def test_a_transaction_is_deleted_from_its_page_and_bob_cannot_delete_alices(client, alice, bob):
    account_id = await account(alice)
    made = await alice.post(
        "/api/v1/transactions",
        json={"account_id": account_id, "date": dt.date.today().isoformat(), "amount": "-42.00", "description": "X"},
    )
    tx = made.json()["id"]
    csrf = await logged_in(client, bob.email, "en")
    assert (await client.post(f"/transactions/{tx}/delete", data={"csrf": csrf})).status_code == 404
    assert (await alice.get(f"/api/v1/transactions/{tx}")).status_code == 200
    client.cookies.clear()
    csrf = await logged_in(client, alice.email, "en")
    assert "Delete this transaction?" in (await client.get(f"/transactions/{tx}")).text
    gone = await client.post(f"/transactions/{tx}/delete", data={"csrf": csrf})
    assert gone.status_code == 303 and gone.headers["location"] == "/transactions"
    assert (await alice.get(f"/api/v1/transactions/{tx}")).status_code == 404


async def test_deleting_a_refund_raises_spending_and_the_budget_alert_rings(client, db, alice):
    account_id = await account(alice)
    categories = (await alice.get("/api/v1/categories")).json()
    category = next(c for c in categories if c["kind"] == "expense" and c["parent_id"] is not None)
    today = dt.date.today().isoformat()
    budget = await alice.post("/api/v1/budgets", json={"category_id": category["id"], "amount": "100.00"})
    assert budget.status_code == 201, budget.text
    spent = {"account_id": account_id, "date": today, "category_id": category["id"]}
    # The refund first: the purchase then brings spending to 60 %, under the warning.
    refund = await alice.post("/api/v1/transactions", json={**spent, "amount": "30.00", "description": "estorno"})
    await alice.post("/api/v1/transactions", json={**spent, "amount": "-90.00", "description": "loja"})
    assert await _alerts(db) == []
    assert (await alice.delete(f"/api/v1/transactions/{refund.json()['id']}")).status_code == 204
    assert [a["threshold"] for a in await _alerts(db)] == [80]


async def _alerts(db) -> list[dict]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM hub_publications WHERE payload->>'type' = 'budget.crossed' ORDER BY seq")
        )
        return [row[0] for row in rows]


async def test_detection_asked_from_the_page_runs_in_the_background_and_the_page_says_so(client, alice, bob):
    csrf = await logged_in(client, alice.email, "en")
    asked = await client.post("/recurring/detect", data={"csrf": csrf})
    assert asked.status_code == 303 and asked.headers["location"] == "/recurring?detecting=1"
    page = (await client.get("/recurring?detecting=1")).text
    assert 'id="recurring-live"' in page and "data-live=" in page
    # No run waiting for this book: the page shows no notice, whatever the address says.
    client.cookies.clear()
    await logged_in(client, bob.email, "en")
    assert 'id="recurring-live"' not in (await client.get("/recurring?detecting=1")).text
