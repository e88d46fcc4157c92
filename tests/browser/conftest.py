"""A real headless Chromium (Debian's, driven by Playwright: its own browser downloads do not work here) against
the real app on a real port, with failures on any console error, page error or failed request."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from fintrack.settings import Settings
from tests.integration.live_server import Server, serving

CHROMIUM = os.environ.get("FINTRACK_CHROMIUM", "/usr/bin/chromium")
# Chromium's own network chatter is refused by closed networks, many connections at a time: switched off.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once, before anything runs
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/test-tools.sh)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
def app_server(committed: Any, committed_url: str, settings: Settings) -> Iterator[Server]:
    """The whole app on an empty database (the `committed` fixture empties it), /ws included."""
    with serving(committed_url, settings) as server:
        yield server


@dataclass
class Watched:
    """A page whose console errors, page errors and failed requests are collected (the test fails on any)."""

    page: Page
    base: str
    problems: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    async def go(self, path: str) -> None:
        response = await self.page.goto(self.base + path)
        assert response is not None and response.ok, f"{path}: {response.status if response else 'no response'}"

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


async def watched(browser: Browser, base: str, locale: str) -> Watched:
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    seen = Watched(page, base)

    def console(message: Any) -> None:
        if message.type == "error":
            seen.problems.append(f"console error on {page.url}: {message.text}")

    def response(answer: Any) -> None:
        if answer.status >= 400 and answer.status not in seen.allowed_statuses:
            seen.problems.append(f"{answer.status} for {answer.request.method} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: seen.problems.append(f"page error on {page.url}: {error}"))

    def failed(request: Any) -> None:
        # Aborted is the browser cancelling a request because the page moved on (a link followed while a
        # live-events token or a search was on its way): not the server failing, which shows as a status above
        # or as a connection error here.
        if request.failure != "net::ERR_ABORTED":
            seen.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    page.on("requestfailed", failed)
    page.on("response", response)
    return seen


async def axe_violations(page: Page) -> list[str]:
    """Serious and critical WCAG 2 A/AA violations axe-core finds on the page."""
    await page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21aa"]
    result = await page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations", tags
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]
