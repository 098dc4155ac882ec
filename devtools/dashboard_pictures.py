"""Pictures of the Grafana dashboards for the README, drawn from their own
queries: ``python -m devtools.dashboard_pictures`` (scripts/lib.sh's
ensure_prometheus and ensure_browser first). Grafana itself cannot run here,
so this starts a throw-away network with the demo data and Prometheus
scraping it every 2 s, makes a few minutes of traffic (devtools.demo_traffic),
then runs every panel's PromQL (the dashboard's targets, its variables
substituted as Grafana would: devtools.dashboards) through Prometheus's HTTP
API, ``query_range`` for time series and ``query`` for stat, bar gauge and
table panels, draws each dashboard on Grafana's grid (devtools.dashboard_render)
and has Debian's Chromium turn it into docs/dashboards/<dashboard>.png.
They are not screenshots of Grafana: the header of each picture says so."""
import argparse
import math
import sys
import time
from datetime import datetime, timezone

import requests
from PIL import Image

from devtools import dashboard_render, dashboards, demo, demo_traffic, throwaway
from devtools.network import ROOT

OUT = ROOT / "docs" / "dashboards"
SCRAPE_SECONDS = 2
COLOURS = 96            # a palette PNG: the pictures stay a few hundred KB


def network():
    net = throwaway.network("dash", 30000, prometheus_scrape_interval=f"{SCRAPE_SECONDS}s")
    net.prometheus_port = net.service_port_base + 95
    net.postgres_exporter_port = net.service_port_base + 87
    return net


def number(text):
    return float(text)  # Prometheus writes NaN and ±Inf as float() reads them


def run(prometheus_url, expr, start, end, step, instant):
    """The query's series as (labels, [(t, value)])."""
    if instant:
        params, path = {"query": expr, "time": end}, "query"
    else:
        params, path = {"query": expr, "start": start, "end": end, "step": step}, "query_range"
    body = requests.get(f"{prometheus_url}/api/v1/{path}", params=params, timeout=60).json()
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return [(item["metric"], [(float(t), number(v)) for t, v in
                              ([item["value"]] if instant else item["values"])])
            for item in body["data"]["result"]]


def results_of(prometheus_url, dashboard, start, end):
    """{panel id: [Series]} for every panel, as Grafana would query it."""
    step = max(SCRAPE_SECONDS, math.ceil((end - start) / 250))
    values = {**dashboards.variable_values(dashboard),
              **dashboards.interval_values(end - start, step, SCRAPE_SECONDS)}
    results = {}
    for panel in dashboards.panels(dashboard):
        shown = [t for t in panel.get("targets", []) if not t.get("hide")]
        series = []
        for target, (_, legend_format, expr) in zip(shown, dashboards.targets(panel, values)):
            instant = dashboard_render.is_instant(panel, target)
            for labels, points in run(prometheus_url, expr, start, end, step, instant):
                series.append(dashboard_render.Series(
                    dashboard_render.legend(legend_format, labels, expr), labels, points))
        results[panel["id"]] = series
    return results


def subtitle(dashboard, start, end):
    """What the picture is: when, over what range, with which variables."""
    chosen = []
    for variable in dashboard.get("templating", {}).get("list", []):
        current = variable.get("current", {})
        shown = "All" if "$__all" in str(current.get("value")) else current.get("text")
        chosen.append(f"{variable.get('label') or variable['name']}: {shown}")
    first, last = (datetime.fromtimestamp(t, timezone.utc) for t in (start, end))
    default = dashboard.get("time", {}).get("from", "?").removeprefix("now-")
    return (f"Drawn by devtools/dashboard_pictures.py from this dashboard's own queries against "
            f"Prometheus on a demo network, {last:%Y-%m-%d} {first:%H:%M}–{last:%H:%M} UTC "
            f"({round((end - start) / 60)} minutes of data; the dashboard opens on the last "
            f"{default}). Not a screenshot of Grafana."
            + (f" Variables: {', '.join(chosen)}." if chosen else ""))


def draw(browser, html, target):
    page = browser.new_page(viewport={"width": dashboard_render.PAGE_WIDTH, "height": 900})
    page.set_content(html)
    raw = target.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=True)
    page.close()
    with Image.open(raw) as image:
        image.convert("RGB").quantize(colors=COLOURS).save(target, optimize=True)
    raw.unlink()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4,
                        help="traffic, and so the range drawn (default 4)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with network().fresh(drop_after=True) as net:
        start = time.time()
        seeded = demo.seed(net.gateway_url, net.admin_email, net.admin_password,
                           billing_database_url=net.database_url("billing"))
        done = demo_traffic.traffic(net.gateway_url, net.admin_email, net.admin_password,
                                    seeded, net.amqp_uri, args.minutes * 60)
        print("traffic:", done, flush=True)
        time.sleep(3 * SCRAPE_SECONDS)  # the last requests scraped
        end = time.time()
        with throwaway.chromium() as browser:
            for path in dashboards.paths():
                dashboard = dashboards.load(path)
                results = results_of(net.prometheus_url, dashboard, start, end)
                html = dashboard_render.page(dashboard, results, subtitle(dashboard, start, end))
                target = OUT / f"{path.stem}.png"
                draw(browser, html, target)
                print(target.relative_to(ROOT), f"{target.stat().st_size // 1024} KB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
