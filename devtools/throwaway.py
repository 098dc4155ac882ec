"""What the README's pictures (devtools.screenshots, devtools.dashboard_pictures)
share: a throw-away network on this test slot's ports, started and then
dropped (databases and broker vhost), and Debian's Chromium driven by
Playwright (never a downloaded browser)."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

from devtools.network import EPHEMERAL_PORTS_START, Network

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def network(label, port_base, **settings):
    """A network of its own (``relais_<label><slot>``) on ports from
    ``port_base`` + 100 x RELAIS_TEST_SLOT, small (one gateway worker)."""
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
    base = port_base + 100 * slot
    if base + 99 >= EPHEMERAL_PORTS_START:
        raise ValueError(f"slot {slot} puts {label}'s ports ({base}-{base + 99}) among "
                         "the ephemeral ports: take a lower slot")
    return Network(name=f"relais_{label}{slot}", vhost=f"relais_{label}{slot}",
                   gateway_port=base + 80, web_port=base + 90, service_port_base=base,
                   smtp_port=base + 25, mail_web_port=base + 26,
                   var_dir=Path(tempfile.mkdtemp(prefix=f"relais-{label}-")),
                   admin_email=f"admin@{label}.example", admin_password=f"{label}-admin-password",
                   gunicorn_workers=1, gunicorn_threads=4, **settings)


@contextmanager
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
