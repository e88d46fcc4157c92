"""report_month_totals stays exactly what the lines add up to, whatever happens to transactions and splits."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from fintrack.db import Database

ITAU = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "statements" / "ofx" / "leogregianin__Itau.ofx"

FROM_SCRATCH = """
SELECT t.account_id, date_trunc('month', t.date)::date AS month, coalesce(s.category_id, t.category_id) AS category,
       t.currency, sum(coalesce(s.amount, t.amount)) AS total,
       sum(CASE WHEN coalesce(s.amount, t.amount) > 0 THEN coalesce(s.amount, t.amount) ELSE 0 END) AS inflow,
       count(*) AS n
FROM transactions t LEFT JOIN transaction_splits s ON s.transaction_id = t.id
WHERE t.transfer_id IS NULL GROUP BY 1, 2, 3, 4
"""
KEPT = "SELECT account_id, month, category_id, currency, total, inflow, n FROM report_month_totals WHERE n > 0"


async def kept_equals_scratch(db: Database) -> int:
    async with db.sessionmaker() as session:

        def rows(result) -> set[tuple]:  # type: ignore[no-untyped-def]
            return {(a, m, c, cur, Decimal(t), Decimal(i), n) for a, m, c, cur, t, i, n in result}

        scratch = rows(await session.execute(text(FROM_SCRATCH)))
        kept = rows(await session.execute(text(KEPT)))
        empty = await session.scalar(text("SELECT count(*) FROM report_month_totals WHERE n = 0"))
    assert kept == scratch
    assert empty == 0, "a recomputed month leaves no empty rows behind"
    return len(kept)


async def test_totals_follow_every_kind_of_change(client, alice, db):
    api = "/api/v1"
    cats = [c["id"] for c in (await alice.get(f"{api}/categories")).json() if c["parent_id"] is not None]
    a = (await alice.post(f"{api}/accounts", json={"name": "A"})).json()["id"]
    b = (await alice.post(f"{api}/accounts", json={"name": "B"})).json()["id"]
    made = []
    for n, (day, amount) in enumerate([("2026-01-05", "-10"), ("2026-01-20", "100"), ("2026-02-03", "-7.50")]):
        body = {"account_id": a, "date": day, "amount": amount, "category_id": cats[n]}
        made.append((await alice.post(f"{api}/transactions", json=body)).json()["id"])
    bulk = [{"account_id": b, "date": f"2026-0{m}-1{m}", "amount": f"-{m}.25"} for m in range(1, 6)]
    assert (await alice.post(f"{api}/transactions/bulk", json={"transactions": bulk})).status_code in (200, 201)
    assert await kept_equals_scratch(db) > 0

    await alice.patch(f"{api}/transactions/{made[0]}", json={"category_id": cats[3]})  # category
    await alice.patch(f"{api}/transactions/{made[1]}", json={"date": "2026-03-01", "account_id": b})  # month, account
    await kept_equals_scratch(db)

    split = [{"category_id": cats[4], "amount": "-5"}, {"category_id": cats[5], "amount": "-2.50"}]
    assert (await alice.patch(f"{api}/transactions/{made[2]}", json={"splits": split})).status_code == 200
    await kept_equals_scratch(db)
    other = [{"category_id": cats[6], "amount": "-7"}, {"amount": "-0.50"}]
    assert (await alice.patch(f"{api}/transactions/{made[2]}", json={"splits": other})).status_code == 200
    await kept_equals_scratch(db)

    moved = {"from_account_id": a, "to_account_id": b, "date": "2026-02-10", "amount": "30"}
    transfer = (await alice.post(f"{api}/transfers", json=moved)).json()
    await kept_equals_scratch(db)  # transfers count for nothing

    assert (await alice.delete(f"{api}/transactions/{made[2]}")).status_code in (200, 204)  # with its splits
    assert (await alice.delete(f"{api}/transfers/{transfer['id']}")).status_code in (200, 204)
    await kept_equals_scratch(db)


async def test_totals_follow_an_import_and_its_revert(client, alice, db):
    account = (await alice.post("/api/v1/accounts", json={"name": "Itaú"})).json()["id"]
    made = await alice.post(
        f"/api/v1/imports?account_id={account}&filename=itau.ofx&background=false", content=ITAU.read_bytes()
    )
    assert made.status_code == 201, made.text
    imported = made.json()["id"]
    assert (await alice.post(f"/api/v1/imports/{imported}/commit?background=false")).status_code == 200
    assert await kept_equals_scratch(db) > 0
    assert (await alice.post(f"/api/v1/imports/{imported}/revert")).status_code == 200
    assert await kept_equals_scratch(db) == 0
