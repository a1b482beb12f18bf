"""A real browser (Debian's Chromium, driven by Playwright) against the real bridge and emulator.

No browser is downloaded: Playwright drives the system Chromium (`apt-get install -y chromium`),
or the one named by IB_BRIDGE_TEST_CHROMIUM. Without it, these tests are skipped on a developer's
machine (with the reason in pytest's summary) and fail in CI.

Every test gets a fresh browser context (its own cookies and sessionStorage) whose pages, popups
included, report console errors, uncaught exceptions and CSP violations into `browser_errors`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright import sync_api

CHROMIUM = os.environ.get("IB_BRIDGE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000

# Init scripts run outside the page's CSP, so this reporter works on the strictest page.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.href}:${event.lineNumber}`);
});
"""


@dataclass
class BrowserErrors:
    """Console errors, uncaught page errors and CSP violations from every page of a context,
    as (URL of the page, message)."""

    reports: list[tuple[str, str]] = field(default_factory=list)

    def watch(self, page: sync_api.Page) -> None:
        def on_console(message: sync_api.ConsoleMessage) -> None:
            if message.type == "error":
                source = message.location.get("url", "") if message.location else ""
                self.reports.append((page.url, f"console error: {message.text} ({source})"))

        def on_page_error(error: Exception) -> None:
            self.reports.append((page.url, f"uncaught error: {error}"))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)

    def assert_none(self, origin: str, *, ignore: str = "") -> None:
        """No report from a page on `origin` (IB's pages are not ours to judge), apart from
        messages that contain `ignore`."""
        ours = [
            f"{url}: {text}"
            for url, text in self.reports
            if url.startswith(f"{origin}/") and not (ignore and ignore in text)
        ]
        assert not ours, "the browser reported:\n" + "\n".join(ours)


# Module scope, not session: while the sync API is started, an asyncio loop counts as running in
# this thread, and later tests that call asyncio.run() would fail.
@pytest.fixture(scope="module")
def chromium() -> Iterator[sync_api.Browser]:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser is a broken CI, not a skip
        pytest.skip(message)
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def context(
    chromium: sync_api.Browser, browser_errors: BrowserErrors
) -> Iterator[sync_api.BrowserContext]:
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(_CSP_REPORTER)
    context.on("page", browser_errors.watch)
    yield context
    context.close()


@pytest.fixture
def page(context: sync_api.BrowserContext) -> sync_api.Page:
    return context.new_page()
