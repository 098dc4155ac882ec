"""The Grafana dashboards as code (``deploy/grafana/dashboards/*.json``), read
the way Grafana reads them: their panels in grid order (collapsed rows
included) and each target's PromQL with the dashboard's variables and
Grafana's built-in interval variables substituted. The every-query test
(tests/e2e/test_monitoring.py) and the dashboards' pictures
(devtools/dashboard_pictures.py) both take their queries from here, so both
run what Grafana would run."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "deploy" / "grafana" / "dashboards"
# $name, ${name}, ${name:format} and [[name]]: Grafana's three spellings.
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


class Unsupported(ValueError):
    """A dashboard uses something Grafana would resolve and this module cannot."""


def paths():
    return sorted(FOLDER.glob("*.json"))


def load(path):
    return json.loads(Path(path).read_text())


def panels(dashboard):
    """Every panel, a row's nested ones (a collapsed row holds them) after it,
    in grid order (top to bottom, left to right) as Grafana lays them out."""
    flat = []
    for panel in dashboard["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))
    return sorted(flat, key=lambda panel: (panel["gridPos"]["y"], panel["gridPos"]["x"]))


def variable_values(dashboard):
    """The template variables as their saved selection resolves them, in the
    regex form Grafana gives a Prometheus query: "All" is the variable's
    ``allValue``; several values are ``(a|b)``."""
    values = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        selected = variable.get("current", {}).get("value")
        selected = selected if isinstance(selected, list) else [selected]
        if "$__all" in selected:
            if variable.get("allValue") is None:
                # Grafana would list every value of the label: it needs the data.
                raise Unsupported(f"variable {variable['name']}: 'All' without an allValue")
            values[variable["name"]] = variable["allValue"]
        elif selected and None not in selected:
            # Grafana escapes a multi-value or "All"-able variable's values for
            # Prometheus's =~, and joins several as an alternation.
            regex = variable.get("multi") or variable.get("includeAll")
            escaped = [re.escape(str(v)) if regex else str(v) for v in selected]
            values[variable["name"]] = (escaped[0] if len(escaped) == 1
                                        else "(" + "|".join(escaped) + ")")
        else:
            raise Unsupported(f"variable {variable['name']}: nothing selected")
    return values


def interval_values(range_seconds, step_seconds, scrape_seconds):
    """Grafana's built-in variables for a query over ``range_seconds`` at
    ``step_seconds``, Prometheus scraping every ``scrape_seconds``."""
    rate_interval = max(step_seconds + scrape_seconds, 4 * scrape_seconds)
    return {"__interval": f"{int(step_seconds)}s", "__interval_ms": str(int(step_seconds * 1000)),
            "__rate_interval": f"{int(rate_interval)}s", "__range": f"{int(range_seconds)}s",
            "__range_s": str(int(range_seconds)), "__range_ms": str(int(range_seconds * 1000))}


def substitute(expr, values):
    """``expr`` with every known variable replaced; unknown ones stay as written."""
    def value(match):
        name = next(group for group in match.groups() if group)
        return values.get(name, match.group(0))
    return VARIABLE.sub(value, expr)


def unsubstituted(expr):
    """The variables still in ``expr``: a query Grafana would run differently."""
    return [next(group for group in match.groups() if group) for match in VARIABLE.finditer(expr)]


def targets(panel, values):
    """(refId, legendFormat, expression) of each of the panel's queries."""
    return [(target.get("refId", ""), target.get("legendFormat"),
             substitute(target["expr"], values))
            for target in panel.get("targets", []) if not target.get("hide")]


def queries(range_seconds=6 * 3600, step_seconds=15, scrape_seconds=15):
    """(dashboard file stem, panel title, refId, expression) of every query of
    every dashboard, as Grafana runs them with the saved variables over the
    given range (defaults: the dashboards' 6 hours, a 15 s scrape)."""
    for path in paths():
        dashboard = load(path)
        values = {**variable_values(dashboard),
                  **interval_values(range_seconds, step_seconds, scrape_seconds)}
        for panel in panels(dashboard):
            for ref, _, expr in targets(panel, values):
                yield path.stem, panel["title"], ref, expr
