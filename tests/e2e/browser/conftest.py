"""Browser tests: Playwright for Python driving Debian's Chromium (installed
by scripts/lib.sh's ensure_browser; Playwright's own browsers are never
downloaded) against the web pages of the end-to-end network.

Every page a test opens can be checked with axe-core (npm, web/node_modules),
which an init script puts into every document: ``accessible(page)`` fails on
any serious or critical violation.
"""
import asyncio
import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import PASSWORD, unique

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = Path(__file__).resolve().parents[3] / "web" / "node_modules" / "axe-core" / "axe.min.js"


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.fixture(scope="package")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's Chromium is missing: scripts/test installs it (ensure_browser)")
    from playwright.sync_api import sync_playwright
    # Not `with sync_playwright()`: its exit (stopping the driver) never returns
    # under eventlet's monkey patch (tests/conftest.py). The driver ends by itself
    # when this process exits and closes its pipe. Its asyncio loop, left marked
    # as running in this thread, is unmarked when the package's tests are done,
    # or every later test that runs a loop (aiosmtpd) would find it "running".
    playwright = sync_playwright().start()
    chromium = launch(playwright)
    yield chromium
    chromium.close()
    asyncio.events._set_running_loop(None)


@pytest.fixture
def new_page(browser, network):
    """A page in a fresh browser context (its own cookies), French like most
    of the network's users, at desktop width unless told."""
    contexts = []

    def make(width=1280, height=900, locale="fr-FR"):
        context = browser.new_context(base_url=network.web_url, locale=locale,
                                      viewport={"width": width, "height": height})
        context.add_init_script(path=str(AXE))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def accessible(page):
    """No serious or critical axe-core violation on the page as it is now."""
    # a click on a link returns once the navigation commits: wait for the page
    # (a wait the browser does, not this process: see the browser fixture)
    # (a promise evaluated in the page, not wait_for_function: its string
    # predicate is an eval, which the pages' CSP rightly refuses)
    for _ in range(20):
        try:
            page.evaluate("""() => new Promise(resolve => {
                const ready = () => document.readyState === "complete" && window.axe
                    ? resolve(true) : setTimeout(ready, 50);
                ready();
            })""")
            break
        except PlaywrightError as error:  # the page navigated while we waited
            if "context was destroyed" not in str(error):
                raise
    violations = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
    }""")
    assert not violations, f"{page.url}: {violations}"
    return page


def log_in(page, email, password=PASSWORD):
    page.goto("/login")
    accessible(page)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    # click() waits for the navigation it starts; no wait_for_load_state(),
    # whose wait in this process never wakes under eventlet
    page.get_by_role("button", name="Se connecter").click()
    return page


__all__ = ["accessible", "log_in", "unique", "PASSWORD"]
