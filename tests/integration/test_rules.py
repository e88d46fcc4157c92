"""Categorization rules: the ordered list per book, dry runs and applies over history, and suggestions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fintrack.rules import engine, service
from fintrack.rules.engine import Subject
from fintrack.rules.models import Rule

API = "/api/v1"


async def _stored_rule(session, book_id: int, position: int, conditions, actions, **kw) -> Rule:
    stored = engine.to_stored(engine.parse({"conditions": conditions, "actions": actions}))
    rule = Rule(
        book_id=book_id,
        name=kw.pop("name", f"r{position}"),
        position=position,
        conditions=stored[0],
        actions=stored[1],
        **kw,
    )
    session.add(rule)
    await session.flush()
    return rule


async def test_load_gives_the_enabled_rules_in_order_and_record_hits_counts_them(db, alice, bob):
    async with db.sessionmaker() as session, session.begin():
        food = (await alice.post(f"{API}/categories", json={"name": "Comida"})).json()["id"]
        second = await _stored_rule(
            session, alice.book_id, 1, [{"field": "text", "value": "padaria"}], {"category_id": food}
        )
        first = await _stored_rule(
            session, alice.book_id, 0, [{"field": "text", "value": "pão"}], {"category_id": food}
        )
        await _stored_rule(
            session, alice.book_id, 2, [{"field": "text", "value": "x"}], {"category_id": food}, enabled=False
        )
        rules = await service.load(session, alice.book_id)
        assert [r.rule_id for r in rules.rules] == [first.id, second.id]
        found = rules.first_match(
            Subject(1, dt.date(2026, 1, 1), Decimal("-5"), "BRL", "PADARIA PAO QUENTE", None, None)
        )
        assert found is not None and found.rule_id == first.id
        assert len(await service.load(session, bob.book_id)) == 0

        await service.record_hits(session, alice.book_id, {first.id: 3, second.id: 0})
        await service.record_hits(session, bob.book_id, {first.id: 100})  # not Bob's rule: nothing happens
        await session.refresh(first)
        await session.refresh(second)
        assert (first.hits, second.hits, second.last_hit_at) == (3, 0, None)
        assert first.last_hit_at is not None


# The API ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def conta(alice):
    return (await alice.post(f"{API}/accounts", json={"name": "Conta"})).json()


async def category_id(persona, name):
    return next(c["id"] for c in (await persona.get(f"{API}/categories")).json() if c["name"] == name)


async def add(persona, account, amount, description, day="2026-11-10", **extra):
    response = await persona.post(
        f"{API}/transactions",
        json={"account_id": account["id"], "date": day, "amount": amount, "description": description, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def made(response, status=201):
    done = await response
    assert done.status_code == status, done.text
    return done.json()


def rule(name, value, actions, field="description", op="contains", **extra):
    return {"name": name, "conditions": [{"field": field, "op": op, "value": value}], "actions": actions, **extra}


def error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


async def test_rules_are_listed_in_order_and_can_be_placed_moved_and_deleted(alice):
    food = await category_id(alice, "Supermercado")
    first = await made(alice.post(f"{API}/rules", json=rule("Pão", "pão de açúcar", {"category_id": food})))
    second = await made(alice.post(f"{API}/rules", json=rule("Carrefour", "carrefour", {"category_id": food})))
    top = await made(alice.post(f"{API}/rules", json=rule("Topo", "extra", {"category_id": food}, position=0)))
    listed = (await alice.get(f"{API}/rules")).json()
    assert [(r["id"], r["position"]) for r in listed] == [(top["id"], 0), (first["id"], 1), (second["id"], 2)]
    assert listed[1] == first | {"position": 1}
    assert first["conditions"] == [{"field": "description", "op": "contains", "value": "pão de açúcar"}]
    assert first["actions"] == {"category_id": food, "tag_ids": [], "payee": None, "splits": None}
    assert (first["hits"], first["last_hit_at"], first["enabled"], first["match"]) == (0, None, True, "all")

    moved = await made(alice.patch(f"{API}/rules/{top['id']}", json={"position": 99, "enabled": False}), 200)
    assert (moved["position"], moved["enabled"]) == (2, False)
    assert (await alice.get(f"{API}/rules/{first['id']}")).json()["position"] == 0
    assert (await alice.delete(f"{API}/rules/{first['id']}")).status_code == 204
    assert [(r["id"], r["position"]) for r in (await alice.get(f"{API}/rules")).json()] == [
        (second["id"], 0),
        (top["id"], 1),
    ]
    error(await alice.get(f"{API}/rules/{first['id']}"), 404, "rule_not_found")


async def test_patch_changes_what_was_sent_and_checks_the_rule_it_makes(alice):
    food = await category_id(alice, "Supermercado")
    made_rule = await made(alice.post(f"{API}/rules", json=rule("Pão", "pão", {"category_id": food})))
    renamed = await made(alice.patch(f"{API}/rules/{made_rule['id']}", json={"name": "Padaria"}), 200)
    assert renamed["name"] == "Padaria" and renamed["conditions"] == made_rule["conditions"]
    assert renamed["updated_at"] >= made_rule["updated_at"]
    changed = await made(
        alice.patch(
            f"{API}/rules/{made_rule['id']}",
            json={"match": "any", "conditions": [{"field": "amount", "max": "-100"}, {"field": "payee", "value": "x"}]},
        ),
        200,
    )
    assert changed["match"] == "any" and changed["actions"] == made_rule["actions"]
    bad = await alice.patch(f"{API}/rules/{made_rule['id']}", json={"actions": {"tag_ids": [2**40]}})
    assert error(bad, 422, "unknown_reference")["details"]["field"] == "actions.tag_ids[0]"
    assert (await alice.get(f"{API}/rules/{made_rule['id']}")).json() == changed


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (rule("x", "(abc", {"category_id": 1}, op="regex"), 422, "invalid_rule", "conditions[0].value"),
        (rule("x", "(a|aa)+$", {"category_id": 1}, op="regex"), 422, "invalid_rule", "conditions[0].value"),
        (rule("x", "x", {}), 422, "invalid_rule", "actions"),
        (rule("x", "x", {"category_id": 2**40}), 422, "unknown_reference", "actions.category_id"),
        (rule("x", "x", {"tag_ids": [2**40]}), 422, "unknown_reference", "actions.tag_ids[0]"),
        (
            rule("x", "x", {"splits": [{"category_id": 2**40, "percent": "50"}, {"category_id": 1, "percent": "50"}]}),
            422,
            "unknown_reference",
            "actions.splits[0].category_id",
        ),
        ({**rule("x", "x", {"payee": "P"}), "colour": "red"}, 422, "validation_error", "colour"),
        ({"name": "x", "conditions": [], "actions": {"payee": "P"}}, 422, "validation_error", "conditions"),
        (rule("x", "x", {"payee": "P"}, op="like"), 422, "validation_error", "op"),
        (
            {"name": "x", "conditions": [{"field": "account", "ids": [2**40]}], "actions": {"payee": "P"}},
            422,
            "unknown_reference",
            "conditions[0].ids[0]",
        ),
    ],
)
async def test_invalid_rules_are_refused_naming_the_field_and_nothing_is_saved(alice, body, status, code, field):
    response = await alice.post(f"{API}/rules", json=body)
    found = error(response, status, code)
    assert field in response.text, found
    assert (await alice.get(f"{API}/rules")).json() == []


async def test_the_order_must_name_every_rule_exactly_once(alice):
    food = await category_id(alice, "Supermercado")
    ids = [
        (await made(alice.post(f"{API}/rules", json=rule(f"r{n}", f"x{n}", {"category_id": food}))))["id"]
        for n in range(3)
    ]
    for sent, key in (([ids[0], ids[1]], "missing"), ([*ids, 2**40], "unknown"), ([*ids, ids[0]], "duplicates")):
        refused = error(await alice.put(f"{API}/rules/order", json={"ids": sent}), 422, "rule_order_mismatch")
        assert refused["details"][key], refused
    reordered = await made(alice.put(f"{API}/rules/order", json={"ids": ids[::-1]}), 200)
    assert [(r["id"], r["position"]) for r in reordered] == [(i, n) for n, i in enumerate(ids[::-1])]
    assert [r["id"] for r in (await alice.get(f"{API}/rules")).json()] == ids[::-1]


async def test_creating_a_rule_twice_with_one_idempotency_key_makes_one(alice):
    food = await category_id(alice, "Supermercado")
    headers = {"Idempotency-Key": "rule-1"}
    one = await alice.post(f"{API}/rules", json=rule("r", "x", {"category_id": food}), headers=headers)
    two = await alice.post(f"{API}/rules", json=rule("r", "x", {"category_id": food}), headers=headers)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert two.headers.get("Idempotent-Replayed") == "true"
    assert len((await alice.get(f"{API}/rules")).json()) == 1


async def test_a_viewer_reads_and_dry_runs_but_cannot_change_rules(alice, bob, conta):
    food = await category_id(alice, "Supermercado")
    mine = await made(alice.post(f"{API}/rules", json=rule("r", "x", {"category_id": food})))
    await alice.put(f"{API}/books/{alice.book_id}/members", json={"email": bob.email, "role": "viewer"})
    book = f"?book_id={alice.book_id}"
    assert [r["id"] for r in (await bob.get(f"{API}/rules{book}")).json()] == [mine["id"]]
    dry = await bob.post(
        f"{API}/rules/dry-run{book}", json={"conditions": mine["conditions"], "actions": mine["actions"]}
    )
    assert dry.status_code == 200, dry.text
    for response in (
        await bob.post(f"{API}/rules{book}", json=rule("r", "x", {"category_id": food})),
        await bob.patch(f"{API}/rules/{mine['id']}{book}", json={"name": "mine"}),
        await bob.delete(f"{API}/rules/{mine['id']}{book}"),
        await bob.put(f"{API}/rules/order{book}", json={"ids": [mine["id"]]}),
        await bob.post(f"{API}/rules/{mine['id']}/apply{book}"),
    ):
        error(response, 403, "read_only")
    assert (await alice.get(f"{API}/rules")).json() == [mine]


async def test_bob_can_neither_see_nor_touch_alices_rules(alice, bob):
    food = await category_id(alice, "Supermercado")
    hers = await made(alice.post(f"{API}/rules", json=rule("Secret", "x", {"category_id": food})))
    assert (await bob.get(f"{API}/rules")).json() == []
    for response in (
        await bob.get(f"{API}/rules/{hers['id']}"),
        await bob.patch(f"{API}/rules/{hers['id']}", json={"name": "mine"}),
        await bob.delete(f"{API}/rules/{hers['id']}"),
        await bob.post(f"{API}/rules/{hers['id']}/apply"),
    ):
        error(response, 404, "rule_not_found")
    error(await bob.get(f"{API}/rules?book_id={alice.book_id}"), 404, "book_not_found")
    # Her category is not in his book.
    error(await bob.post(f"{API}/rules", json=rule("r", "x", {"category_id": food})), 422, "unknown_reference")
    error(await bob.put(f"{API}/rules/order", json={"ids": [hers["id"]]}), 422, "rule_order_mismatch")
    assert (await alice.get(f"{API}/rules")).json() == [hers]


async def test_a_dry_run_counts_and_shows_changes_and_writes_nothing(alice, conta):
    food = await category_id(alice, "Supermercado")
    bakery = await category_id(alice, "Restaurantes")
    await add(alice, conta, "-12.50", "PADARIA PÃO QUENTE", day="2026-11-01")
    done = await add(alice, conta, "-8.00", "Padaria Pao Quente 2", day="2026-11-02", category_id=bakery)
    await add(alice, conta, "-30.00", "padaria   pao quente", day="2026-11-03", memo="cartão")
    await add(alice, conta, "-5.00", "MERCADO", day="2026-11-04")
    before = (await alice.get(f"{API}/transactions")).json()
    draft = {"conditions": [{"field": "description", "value": "Padaria Pão"}], "actions": {"category_id": food}}

    dry = await made(alice.post(f"{API}/rules/dry-run", json=draft), 200)
    assert (dry["matched"], dry["would_change"]) == (2, 2)
    assert [(c["description"], c["amount"], c["new_category_id"]) for c in dry["sample"]] == [
        ("padaria   pao quente", "-30.00", food),
        ("PADARIA PÃO QUENTE", "-12.50", food),
    ]
    assert dry["sample"][0]["category_id"] is None and dry["sample"][0]["new_category"] == "Supermercado"

    everything = await made(alice.post(f"{API}/rules/dry-run?only_uncategorized=false&limit=1", json=draft), 200)
    assert (everything["matched"], everything["would_change"], len(everything["sample"])) == (3, 3, 1)
    same = await made(
        alice.post(
            f"{API}/rules/dry-run?only_uncategorized=false",
            json={**draft, "actions": {"category_id": bakery}},
        ),
        200,
    )
    assert (same["matched"], same["would_change"]) == (3, 2), "one already is in that category"
    assert done["id"] not in {c["transaction_id"] for c in same["sample"]}
    assert (await alice.get(f"{API}/transactions")).json() == before
    assert (await alice.get(f"{API}/rules")).json() == []


async def test_apply_changes_only_matching_uncategorized_transactions_and_counts_hits(alice, conta):
    food = await category_id(alice, "Supermercado")
    other = await category_id(alice, "Restaurantes")
    tag = await made(alice.post(f"{API}/tags", json={"name": "mercado"}))
    hit = await add(alice, conta, "-100.00", "SUPERMERCADO PAO DE ACUCAR 123", payee="pda")
    kept = await add(alice, conta, "-50.00", "Pão de Açúcar", category_id=other)
    small = await add(alice, conta, "-5.00", "PAO DE ACUCAR")
    miss = await add(alice, conta, "-100.00", "CARREFOUR")
    body = {
        "name": "Pão de Açúcar",
        "conditions": [{"field": "text", "value": "pao de acucar"}, {"field": "amount", "max": "-10.00"}],
        "actions": {"category_id": food, "tag_ids": [tag["id"]], "payee": "Pão de Açúcar"},
    }
    saved = await made(alice.post(f"{API}/rules", json=body))

    applied = await made(alice.post(f"{API}/rules/{saved['id']}/apply"), 200)
    assert applied == {
        "rule_id": saved["id"],
        "scanned": applied["scanned"],
        "matched": 1,
        "changed": 1,
        "categorized": 1,
        "split": 0,
        "payee_set": 1,
        "tagged": 1,
    }
    after = {t["id"]: t for t in (await alice.get(f"{API}/transactions")).json()["items"]}
    assert (after[hit["id"]]["category_id"], after[hit["id"]]["payee"], after[hit["id"]]["tags"]) == (
        food,
        "Pão de Açúcar",
        ["mercado"],
    )
    assert after[hit["id"]]["updated_at"] > hit["updated_at"]
    for untouched in (kept, small, miss):
        assert after[untouched["id"]] == untouched
    counted = (await alice.get(f"{API}/rules/{saved['id']}")).json()
    assert counted["hits"] == 1 and counted["last_hit_at"] is not None

    again = await made(alice.post(f"{API}/rules/{saved['id']}/apply"), 200)
    assert (again["matched"], again["changed"]) == (0, 0)
    everything = await made(alice.post(f"{API}/rules/{saved['id']}/apply?only_uncategorized=false"), 200)
    assert (everything["matched"], everything["changed"], everything["categorized"]) == (2, 1, 1)
    assert (await alice.get(f"{API}/transactions/{kept['id']}")).json()["category_id"] == food
    assert (await alice.get(f"{API}/rules/{saved['id']}")).json()["hits"] == 2


async def test_apply_splits_transactions_that_have_none(alice, conta):
    food = await category_id(alice, "Supermercado")
    home = await category_id(alice, "Casa e decoração")
    plain = await add(alice, conta, "-99.99", "ATACADAO")
    split = await add(
        alice,
        conta,
        "-10.00",
        "ATACADAO",
        splits=[{"category_id": home, "amount": "-4.00"}, {"category_id": food, "amount": "-6.00"}],
    )
    shares = [{"category_id": food, "percent": "70"}, {"category_id": home, "percent": "30"}]
    saved = await made(alice.post(f"{API}/rules", json=rule("Atacadão", "atacadao", {"splits": shares})))
    dry = await made(
        alice.post(
            f"{API}/rules/dry-run?only_uncategorized=false",
            json={"conditions": saved["conditions"], "actions": saved["actions"]},
        ),
        200,
    )
    assert dry["sample"][0]["splits"] == [
        {"category_id": food, "amount": "-69.99"},
        {"category_id": home, "amount": "-30.00"},
    ]
    applied = await made(alice.post(f"{API}/rules/{saved['id']}/apply?only_uncategorized=false"), 200)
    assert (applied["matched"], applied["changed"], applied["split"]) == (2, 1, 1)
    now = (await alice.get(f"{API}/transactions/{plain['id']}")).json()
    assert now["category_id"] is None
    assert [(s["category_id"], s["amount"]) for s in now["splits"]] == [(food, "-69.99"), (home, "-30.00")]
    assert (await alice.get(f"{API}/transactions/{split['id']}")).json()["splits"] == split["splits"]


async def test_apply_leaves_transfers_alone(alice, conta):
    food = await category_id(alice, "Supermercado")
    savings = (await alice.post(f"{API}/accounts", json={"name": "Poupança"})).json()
    transfer = await made(
        alice.post(
            f"{API}/transfers",
            json={
                "from_account_id": conta["id"],
                "to_account_id": savings["id"],
                "date": "2026-11-01",
                "amount": "10.00",
                "description": "reserva",
            },
        )
    )
    saved = await made(alice.post(f"{API}/rules", json=rule("r", "reserva", {"category_id": food})))
    applied = await made(alice.post(f"{API}/rules/{saved['id']}/apply"), 200)
    assert applied["matched"] == 0
    leg = (await alice.get(f"{API}/transactions/{transfer['from_transaction']['id']}")).json()
    assert leg["category_id"] is None


async def test_dry_run_and_apply_use_the_prefilter_without_losing_matches(alice, conta):
    food = await category_id(alice, "Supermercado")
    await alice.post(f"{API}/payees", json={"name": "Zé do Pão"})
    cases = [
        ("-1.00", "MERCADINHO  SÃO   JOSÉ", None, {"field": "description", "value": "mercadinho sao jose"}),
        ("-2.00", "x", "cartão final 100%_off", {"field": "memo", "value": "100%_OFF"}),
        ("-3.00", "y", None, {"field": "description", "op": "regex", "value": r"^y$"}),
        ("-4.00", "z", None, {"field": "text", "op": "equals", "value": "ZÉ DO PÃO"}),
        ("7.00", "credito", None, {"field": "direction", "value": "credit"}),
        ("-8.00", "ÇÇÇ", None, {"field": "description", "op": "starts_with", "value": "çç"}),
    ]
    for amount, description, memo, _ in cases:
        payee = "Zé do Pão" if description == "z" else None
        await add(alice, conta, amount, description, memo=memo, payee=payee, day="2026-10-01")
    for amount, _, _, condition in cases:
        draft = {"conditions": [condition], "actions": {"category_id": food}}
        dry = await made(alice.post(f"{API}/rules/dry-run", json=draft), 200)
        assert [c["amount"] for c in dry["sample"]] == [amount], (condition, dry)
    day = {"conditions": [{"field": "day_of_month", "start": 30, "end": 2}], "actions": {"category_id": food}}
    assert (await made(alice.post(f"{API}/rules/dry-run", json=day), 200))["matched"] == len(cases)
    nothing = {"conditions": [{"field": "payee", "value": "nobody"}], "actions": {"category_id": food}}
    assert (await made(alice.post(f"{API}/rules/dry-run", json=nothing), 200))["scanned"] == 0


async def test_a_rule_naming_a_deleted_category_is_skipped_by_load_and_refused_by_apply(db, alice, conta):
    spare = await made(alice.post(f"{API}/categories", json={"name": "Temporária"}))
    saved = await made(alice.post(f"{API}/rules", json=rule("r", "x", {"category_id": spare["id"]})))
    assert (await alice.delete(f"{API}/categories/{spare['id']}")).status_code == 204
    async with db.sessionmaker() as session, session.begin():
        loaded = await service.load(session, alice.book_id)
    assert len(loaded) == 0 and saved["id"] in loaded.skipped
    refused = error(await alice.post(f"{API}/rules/{saved['id']}/apply"), 422, "unknown_reference")
    assert refused["details"]["field"] == "actions.category_id"


async def test_suggestions_find_consistent_groups_that_no_rule_covers(alice, conta):
    food = await category_id(alice, "Supermercado")
    fuel = await category_id(alice, "Combustível")
    today = dt.date.today()
    for n in range(6):
        day = (today - dt.timedelta(days=n)).isoformat()
        await add(alice, conta, f"-{50 + n}.00", f"POSTO IPIRANGA {1000 + n} SAO PAULO", day=day, category_id=fuel)
        await add(alice, conta, f"-{10 + n}.00", f"COMPRA {n}", day=day, payee="Pão de Açúcar", category_id=food)
        # Mixed categories: no suggestion.
        await add(alice, conta, "-1.00", "LOJA MISTA", day=day, category_id=food if n % 2 else fuel)
    await add(alice, conta, "-3.00", "POSTO IPIRANGA 9", day=today.isoformat())  # uncategorised: ignored
    # Too old to count.
    for _ in range(6):
        await add(alice, conta, "-1.00", "ANTIGA", day="2020-01-01", category_id=food)

    found = (await alice.get(f"{API}/rules/suggestions")).json()
    by_category = {s["category"]: s for s in found}
    assert set(by_category) == {"Combustível", "Supermercado"}, found
    payee = by_category["Supermercado"]
    assert payee["rule"]["conditions"] == [{"field": "payee", "op": "equals", "value": "Pão de Açúcar"}]
    assert payee["support"] == {"count": 6, "share": 1.0, "examples": ["COMPRA 0", "COMPRA 1", "COMPRA 2"]}
    text = by_category["Combustível"]["rule"]
    assert text["conditions"] == [{"field": "description", "op": "contains", "value": "posto ipiranga"}]
    assert text["actions"]["category_id"] == fuel

    # Ready to POST; once saved, its group is covered and is no longer suggested.
    assert (await alice.post(f"{API}/rules", json=text)).status_code == 201
    again = (await alice.get(f"{API}/rules/suggestions")).json()
    assert [s["category"] for s in again] == ["Supermercado"]
