"""A new user's whole path in a real browser: first run, an account, a real Nubank statement imported and
committed, a transaction found without its accents and re-categorized, a budget, the report and the dashboard;
then every page checked with axe-core and photographed in both languages."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import Watched, axe_violations, watched
from tests.conftest import PASSWORD

STATEMENT = (
    Path(__file__).resolve().parents[3] / "shared" / "testdata" / "statements" / "ofx" / "leogregianin__nubank.ofx"
)
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
    "/admin",
]


async def search(page: Page, words: str) -> None:
    """Type into the search box and wait for htmx's answer (leaving the page mid-request would abort it)."""
    async with page.expect_response(lambda answer: "/transactions?" in answer.url and "q=" in answer.url):
        await page.locator("#q").fill(words)


async def first_run(seen: Watched) -> None:
    page = seen.page
    await seen.go("/")
    await expect(page).to_have_url(re.compile(r"/setup$"))
    await page.get_by_label("E-mail").fill("ana@example.com")  # pt-BR
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#book_name").fill("Casa da Ana")
    await page.locator("#language").select_option("pt-BR")
    await page.locator("form button[type=submit]").click()
    await expect(page.locator("h1")).to_have_text("Painel")  # pt-BR, as chosen


async def test_a_new_user_imports_a_statement_and_finds_their_way_around(browser, app_server):
    seen = await watched(browser, app_server.live.http, "pt-BR")
    page = seen.page
    await first_run(seen)

    # An account, opened from the accounts page.
    await seen.go("/accounts")
    await page.locator("#acc-name").fill("Nubank")
    await page.locator("#acc-type").select_option("credit_card")
    await page.locator("#acc-opening").fill("0,00")
    await page.locator("form[action='/accounts'] button[type=submit]").click()
    await expect(page.get_by_role("link", name="Nubank")).to_be_visible()

    # The import wizard: drop the file, preview, commit.
    await seen.go("/imports")
    await page.locator("#imp-file").set_input_files(str(STATEMENT))
    await page.locator("form[action='/imports'] button[type=submit]").click()
    await expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    await expect(page.locator("#content tbody tr")).to_have_count(5)  # MANIFEST.md: 5 transactions
    await page.locator("form[action$='/commit'] button").click()
    await expect(page.locator("#import-status")).to_have_text("importada")

    # Found without its accents, then re-categorized in place.
    await seen.go("/transactions")
    await search(page, "antecipacao")
    row = page.locator("#results tbody tr", has_text="Antecipação")
    await expect(row).to_have_count(1)
    select = row.locator("select")
    option = await select.locator("option").nth(3).get_attribute("value")
    await select.select_option(option)
    await expect(page.locator("#results tbody tr", has_text="Antecipação").get_by_role("status")).to_be_visible()
    await page.reload()  # htmx pushed the search into the address: the reload shows the same rows, from the server
    await expect(page.locator("#results tbody tr", has_text="Antecipação").locator("select")).to_have_value(option)

    # A budget, the report and the dashboard.
    await seen.go("/budgets")
    await page.locator("#b-category").select_option(index=1)
    await page.locator("#b-amount").fill("1.500,00")
    await page.locator("form[action='/budgets'] button[type=submit]").click()
    await expect(page.locator(".budget-line")).to_have_count(1)
    await expect(page.locator(".budget-line")).to_contain_text("R$\xa01.500,00")

    await seen.go("/reports")
    await expect(page.locator(".chart svg").first).to_be_visible()
    await seen.go("/")
    await expect(page.locator(".chart svg").first).to_be_visible()
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    seen.check()


async def test_every_page_is_accessible_and_photographed_in_both_languages(browser, app_server):
    shots = Path(tempfile.mkdtemp(prefix="fintrack-screenshots-"))
    print(f"\nscreenshots of every page, both languages: {shots}")
    seen = await watched(browser, app_server.live.http, "pt-BR")
    await first_run(seen)
    page = seen.page
    problems: list[str] = []
    for language in ("pt-BR", "en"):
        await seen.go("/settings")
        await page.locator("#language").select_option(language)
        await page.locator("form[action='/settings/language'] button").click()
        await expect(page.locator("html")).to_have_attribute("lang", language)
        for path in PAGES:
            await seen.go(path)
            await page.wait_for_load_state("networkidle")
            await page.screenshot(path=shots / f"{language}_{path.strip('/') or 'dashboard'}.png", full_page=True)
            problems += [f"{language} {path}: {v}" for v in await axe_violations(page)]
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        await seen.go("/")
        await page.screenshot(path=shots / f"{language}_home_phone.png", full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 900})
    assert not problems, "\n".join(problems)
    seen.check()
