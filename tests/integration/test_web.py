"""The web UI over HTTP: login and CSRF, every page in both languages, the forms' bad input, and one user never
seeing or changing another's data through a page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, Persona

STATEMENTS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "statements"
PAGES = [
    "/",
    "/accounts",
    "/transactions",
    "/imports",
    "/rules",
    "/budgets",
    "/recurring",
    "/reports",
    "/signals",
    "/settings",
]


async def logged_in(client: httpx.AsyncClient, email: str, language: str = "pt-BR") -> str:
    """Log in through the form; the client keeps the cookie. Returns the page's CSRF token."""
    client.headers["Accept-Language"] = language
    answer = await client.post("/login", data={"email": email, "password": PASSWORD, "next": "/accounts"})
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts", answer.text
    return csrf_of((await client.get("/accounts")).text)


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "every page carries its CSRF token"
    return found.group(1)


async def account(persona: Persona, name: str = "Conta corrente", opening: str = "1234.56") -> int:
    made = await persona.post("/api/v1/accounts", json={"name": name, "type": "checking", "opening_balance": opening})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def test_a_visitor_is_sent_to_login_and_back_to_the_page_asked_for(client, alice):
    answer = await client.get("/transactions?q=padaria")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Ftransactions%3Fq%3Dpadaria"
    page = await client.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text


async def test_a_wrong_password_says_so_and_sets_no_cookie(client, alice):
    answer = await client.post("/login", data={"email": alice.email, "password": "nope-nope-nope"})
    assert answer.status_code == 401 and "fintrack_session" not in answer.headers.get("set-cookie", "")
    assert "E-mail ou senha incorretos" in answer.text or "Wrong email or password" in answer.text


async def test_login_never_redirects_off_the_site(client, alice):
    answer = await client.post("/login", data={"email": alice.email, "password": PASSWORD, "next": "//evil.example/x"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


@pytest.mark.parametrize("language", ["pt-BR", "en"])
async def test_every_page_renders_for_a_logged_in_user(client, alice, language):
    await account(alice)
    await logged_in(client, alice.email, language)
    for path in PAGES:
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert f'<html lang="{language}">' in answer.text
        assert answer.headers["content-language"] == language


async def test_money_is_written_as_the_readers_language_writes_it(client, alice):
    await account(alice)
    await logged_in(client, alice.email, "pt-BR")
    assert "R$\xa01.234,56" in (await client.get("/accounts")).text
    csrf = csrf_of((await client.get("/settings")).text)
    assert (await client.post("/settings/language", data={"csrf": csrf, "language": "en"})).status_code == 303
    english = (await client.get("/accounts")).text
    assert '<html lang="en">' in english and "R$1,234.56" in english


async def test_a_form_without_the_csrf_token_is_refused(client, alice):
    await logged_in(client, alice.email)
    answer = await client.post("/accounts", data={"name": "Sem token"})
    assert answer.status_code == 403
    assert "Sem token" not in (await client.get("/accounts")).text


async def test_an_account_form_with_a_bad_amount_names_the_field_and_writes_nothing(client, alice):
    csrf = await logged_in(client, alice.email)
    answer = await client.post(
        "/accounts", data={"csrf": csrf, "name": "Poupança", "type": "savings", "opening_balance": "12,3,4"}
    )
    assert answer.status_code == 422 and "opening_balance" in answer.text
    assert "Poupança" not in (await client.get("/api/v1/accounts", headers=alice.headers)).text
    answer = await client.post(
        "/accounts", data={"csrf": csrf, "name": "Poupança", "type": "savings", "opening_balance": "1.500,25"}
    )
    assert answer.status_code == 303
    made = (await client.get("/api/v1/accounts", headers=alice.headers)).json()
    assert [a["opening_balance"] for a in made if a["name"] == "Poupança"] == ["1500.25"]


@pytest.mark.parametrize(
    ("language", "typed", "said"),
    [
        (
            "pt-BR",
            ("12,3,4", "10,005"),
            (
                "valor: '12,3,4' não é um valor",
                "valor: o valor 10.005 tem mais de 2 casas decimais para BRL",
                "categoria: a categoria {category} já tem o orçamento {budget}; altere aquele",
            ),
        ),
        (
            "en",
            ("12,3,4", "10.005"),
            (
                "amount: '12,3,4' is not an amount",
                "amount: amount 10.005 has more than 2 decimal places for BRL",
                "category_id: category {category} already has budget {budget}; change that one instead",
            ),
        ),
    ],
)
async def test_a_refused_budget_says_why_in_the_readers_language(client, alice, language, typed, said):
    categories = (await alice.get("/api/v1/categories")).json()
    category = next(c["id"] for c in categories if c["parent_id"] is not None and c["kind"] == "expense")
    budget = (await alice.post("/api/v1/budgets", json={"category_id": category, "amount": "300.00"})).json()["id"]
    csrf = await logged_in(client, alice.email, language)
    not_a_number, too_precise = typed
    answers = [
        await client.post("/budgets", data={"csrf": csrf, "category_id": str(category), "amount": amount})
        for amount in (not_a_number, too_precise, "50")
    ]
    assert [a.status_code for a in answers] == [422, 422, 422]
    shown = [html.unescape(a.text) for a in answers]
    for page, sentence in zip(shown, said, strict=True):
        assert sentence.format(category=category, budget=budget) in page, page[:2000]
    # The API keeps saying it in English, whatever the page said.
    api = await alice.post("/api/v1/budgets", json={"category_id": category, "amount": "50.00"})
    english = "category_id: category {category} already has budget {budget}; change that one instead"
    assert api.json()["error"]["message"] == english.format(category=category, budget=budget)


async def test_search_without_accents_finds_the_accented_transaction_and_recategorizes_it(client, alice):
    acc = await account(alice)
    made = await alice.post(
        "/api/v1/transactions",
        json={"account_id": acc, "date": "2026-11-02", "amount": "-18.90", "description": "Padaria São João"},
    )
    tx = made.json()["id"]
    categories = (await alice.get("/api/v1/categories")).json()
    category = next(c for c in categories if c["parent_id"] is not None and c["kind"] == "expense")
    csrf = await logged_in(client, alice.email)
    found = await client.get("/transactions", params={"q": "sao joao"})
    assert found.status_code == 200 and "Padaria São João" in found.text
    row = await client.post(
        f"/transactions/{tx}/category",
        data={"category_id": str(category["id"])},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert row.status_code == 200 and f'id="tx-{tx}"' in row.text
    assert (await alice.get(f"/api/v1/transactions/{tx}")).json()["category_id"] == category["id"]
    left = await client.get("/transactions", params={"q": "sao joao", "uncategorized": "1"})
    assert f'id="tx-{tx}"' not in left.text


async def test_one_user_cannot_see_or_change_anothers_transactions_through_pages(client, alice, bob):
    acc = await account(alice)
    tx = (
        await alice.post(
            "/api/v1/transactions",
            json={"account_id": acc, "date": "2026-11-02", "amount": "-5", "description": "Segredo"},
        )
    ).json()["id"]
    csrf = await logged_in(client, bob.email, "en")
    assert (await client.get(f"/transactions/{tx}")).status_code == 404
    assert (await client.get(f"/accounts/{acc}")).status_code == 404
    assert "Segredo" not in (await client.get("/transactions", params={"q": "segredo"})).text
    changed = await client.post(f"/transactions/{tx}", data={"csrf": csrf, "description": "mine now"})
    assert changed.status_code == 404
    bulk = await client.post("/transactions/bulk-category", data={"csrf": csrf, "ids": str(tx), "category_id": ""})
    assert bulk.status_code == 404
    assert (await alice.get(f"/api/v1/transactions/{tx}")).json()["description"] == "Segredo"


async def test_a_statement_goes_through_the_wizard_and_is_reverted_from_the_history(client, alice):
    acc = await account(alice, opening="0")
    csrf = await logged_in(client, alice.email)
    ofx = STATEMENTS / "ofx" / "leogregianin__Itau.ofx"  # Itaú checking, BRL, 17 transactions (MANIFEST.md)
    uploaded = await client.post(
        "/imports",
        data={"csrf": csrf, "account_id": str(acc)},
        files={"file": (ofx.name, ofx.read_bytes(), "application/x-ofx")},
    )
    assert uploaded.status_code == 303, uploaded.text[:800]
    preview_url = uploaded.headers["location"]
    preview = await client.get(preview_url)
    assert preview.status_code == 200 and ofx.name in preview.text
    committed = await client.post(f"{preview_url}/commit", data={"csrf": csrf})
    assert committed.status_code == 303
    imported = (await alice.get(f"/api/v1/imports/{preview_url.rsplit('/', 1)[1]}")).json()
    assert imported["status"] == "committed" and imported["summary"]["committed"] == 17
    reverted = await client.post(f"{preview_url}/revert", data={"csrf": csrf})
    assert reverted.status_code == 303
    assert (await alice.get(f"/api/v1/transactions?account_id={acc}")).json()["items"] == []


async def test_a_reimported_statements_duplicates_say_why_in_portuguese(client, alice):
    acc = await account(alice, opening="0")
    csrf = await logged_in(client, alice.email)
    ofx = STATEMENTS / "ofx" / "leogregianin__Itau.ofx"

    async def upload() -> str:
        uploaded = await client.post(
            "/imports",
            data={"csrf": csrf, "account_id": str(acc)},
            files={"file": (ofx.name, ofx.read_bytes(), "application/x-ofx")},
        )
        assert uploaded.status_code == 303, uploaded.text[:800]
        return uploaded.headers["location"]

    assert (await client.post(f"{await upload()}/commit", data={"csrf": csrf})).status_code == 303
    again = await upload()
    page = await client.get(again)
    assert page.status_code == 200 and "mesmo id do banco" in page.text and "same bank id" not in page.text
    rows = (await alice.get(f"/api/v1/imports/{again.rsplit('/', 1)[1]}/rows")).json()["items"]
    assert rows and all(r["reason"].startswith("same bank id ") for r in rows)


async def test_an_upload_without_a_file_or_with_garbage_is_refused_clearly(client, alice):
    acc = await account(alice)
    csrf = await logged_in(client, alice.email, "en")
    answer = await client.post("/imports", data={"csrf": csrf, "account_id": str(acc)})
    assert answer.status_code == 422 and "Choose a statement file" in answer.text
    garbage = await client.post(
        "/imports",
        data={"csrf": csrf, "account_id": str(acc)},
        files={"file": ("x.bin", b"\x00\x01\x02 not a statement", "application/octet-stream")},
    )
    assert garbage.status_code == 422 and 'role="alert"' in garbage.text


async def test_admin_pages_are_for_admins_only(client, alice):
    await logged_in(client, alice.email)
    assert (await client.get("/admin")).status_code == 403


async def test_an_unknown_page_is_a_page_and_an_unknown_api_path_is_json(client, alice):
    await logged_in(client, alice.email, "en")
    page = await client.get("/no-such-page")
    assert page.status_code == 404 and "<html" in page.text
    api = await client.get("/api/v1/no-such-thing", headers=alice.headers)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


async def test_first_run_creates_the_admin_and_logs_in(client):
    form = await client.get("/setup")
    assert form.status_code == 200
    bad = await client.post(
        "/setup",
        data={
            "email": "not-an-email",
            "password": "x",
            "book_name": "Casa",
            "language": "pt-BR",
            "base_currency": "BRL",
        },
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    made = await client.post(
        "/setup",
        data={
            "email": "root@example.com",
            "password": PASSWORD,
            "book_name": "Casa",
            "language": "en",
            "base_currency": "BRL",
        },
    )
    assert made.status_code == 303 and "fintrack_session" in made.headers["set-cookie"]
    home = await client.get("/")
    assert home.status_code == 200 and '<html lang="en">' in home.text
    assert (await client.get("/admin")).status_code == 200
    assert (await client.get("/setup")).status_code == 303  # closed once someone exists


async def test_a_cash_expense_and_a_transfer_are_recorded_by_hand(client, alice):
    wallet, bank = await account(alice, "Carteira", "100"), await account(alice, "Banco", "1000")
    csrf = await logged_in(client, alice.email)
    assert (await client.get("/transactions/new")).status_code == 200
    spent = await client.post(
        "/transactions/new",
        data={
            "csrf": csrf,
            "kind": "expense",
            "account_id": str(wallet),
            "date": "2026-11-20",
            "amount": "12,50",
            "description": "Pastel",
        },
    )
    assert spent.status_code == 303
    moved = await client.post(
        "/transactions/new",
        data={
            "csrf": csrf,
            "kind": "transfer",
            "account_id": str(bank),
            "to_account_id": str(wallet),
            "date": "2026-11-21",
            "amount": "200,00",
        },
    )
    assert moved.status_code == 303
    balances = {a["name"]: a["balance"] for a in (await alice.get("/api/v1/accounts")).json()}
    assert balances == {"Carteira": "287.50", "Banco": "800.00"}
    same = await client.post(
        "/transactions/new",
        data={
            "csrf": csrf,
            "kind": "transfer",
            "account_id": str(bank),
            "to_account_id": str(bank),
            "date": "2026-11-21",
            "amount": "5",
        },
    )
    assert same.status_code == 422 and "to_account_id" in same.text


async def test_the_bundle_is_served_compressed_and_cacheable(client):
    page = (await client.get("/login", follow_redirects=True)).text
    script = re.search(r'src="(/static/app\.js\?v=[0-9a-f]+)"', page)
    assert script, "pages load the hashed bundle"
    answer = await client.get(script.group(1), headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
    assert "immutable" in answer.headers["cache-control"]
    assert answer.num_bytes_downloaded < 400_000  # the budget for compressed JavaScript
