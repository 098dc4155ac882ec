"""Screenshots of the main web pages at desktop and phone width, for the
README: ``python -m devtools.screenshots`` (scripts/lib.sh's ensure_web_assets
and ensure_browser first). It starts a throw-away network with the demo data,
drives Debian's Chromium with Playwright, and writes docs/screenshots/*.png.
Map tiles point at a closed local port: nothing leaves the machine, and the
pictures show the list the pages keep when tiles cannot load."""
import sys

from devtools import demo, throwaway
from devtools.network import ROOT

OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}


def network():
    return throwaway.network(
        "shots", 31000, web_env={"RELAIS_WEB_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"})


def log_in(page, email, password):
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form[action^='/login'] button")


def shoot(browser, url, name, who=None):
    for label, (width, height) in WIDTHS.items():
        context = browser.new_context(base_url=url, locale="fr-FR",
                                      viewport={"width": width, "height": height})
        page = context.new_page()
        if who:
            log_in(page, *who)
        yield page, OUT / f"{name}-{label}.png"
        context.close()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    with network().fresh(drop_after=True) as net:
        seeded = demo.seed(net.gateway_url, net.admin_email, net.admin_password,
                           billing_database_url=net.database_url("billing"))
        member = (seeded["employee"]["email"], demo.DEMO_PASSWORD)
        manager = (seeded["manager"]["email"], demo.DEMO_PASSWORD)
        hr = (seeded["corporate_admin"]["email"], demo.DEMO_PASSWORD)
        admin = (net.admin_email, net.admin_password)
        relay, booking = seeded["relay"], seeded["booking"]
        csv_file = net.var_dir / "salaries.csv"
        csv_file.write_text("email;full_name\nalice.martin@mutuelle.example;Alice Martin\n"
                            "bruno.petit@mutuelle.example;Bruno Petit\n")
        pages = [
            ("relays", None, "/", None),
            ("relay", None, f"/relays/{relay['id']}", None),
            ("login", None, "/login", None),
            ("find", member, f"/find?date={booking['date']}&kind=desk&slot=afternoon&radius_km=30",
             None),
            ("booking", member, f"/bookings/{booking['id']}", None),
            ("cancel", member, f"/bookings/{booking['id']}/cancel", None),
            ("manager-day", manager, f"/manage/{relay['id']}?date={booking['date']}", None),
            ("employees", hr, "/company/employees", None),
            ("import-report", hr, "/company/import", lambda page: (
                page.set_input_files("#csv", str(csv_file)),
                page.click("form[enctype] button"))),
            ("policy", hr, "/company/policy", None),
            ("manager-hours", manager, f"/manage/{relay['id']}/hours", None),
            ("manager-spaces", manager, f"/manage/{relay['id']}/spaces", None),
            ("invoices", hr, "/company/invoices", None),
            ("webhooks", hr, "/company/webhooks", None),
            ("api-keys", hr, "/company/api-keys", lambda page: (
                page.fill("#name", "SIRH"), page.click("form[action='/company/api-keys'] button"))),
            ("network-health", admin, "/ops/health", None),
        ]
        with throwaway.chromium() as browser:
            for name, who, path, then in pages:
                for page, target in shoot(browser, net.web_url, name, who):
                    page.goto(path)
                    if then:
                        then(page)
                    page.screenshot(path=str(target), full_page=True)
                    print(target.relative_to(ROOT), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
