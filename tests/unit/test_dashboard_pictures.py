"""The dashboards' pictures (devtools/dashboard_pictures.py) can draw every
panel of every dashboard, from a query Grafana would run: a new panel of a
kind the renderer does not know, or a query with a variable nobody
substitutes, fails here instead of vanishing from the README's pictures. No
network: that every query returns data is tests/e2e/test_monitoring.py's."""
import pytest

from devtools import dashboard_render, dashboards

PANELS = [pytest.param(path, panel, id=f"{path.stem}: {panel['title']}")
          for path in dashboards.paths() for panel in dashboards.panels(dashboards.load(path))]


def test_there_are_dashboards_to_draw():
    assert {path.stem for path in dashboards.paths()} >= {"platform", "network"}


@pytest.mark.parametrize("path, panel", PANELS)
def test_every_panel_is_of_a_kind_the_pictures_draw(path, panel):
    assert panel["type"] in dashboard_render.DRAWERS
    assert panel["type"] == "row" or panel.get("targets"), "a panel with nothing to query"


@pytest.mark.parametrize("stem, title, ref, expr", list(dashboards.queries()))
def test_no_query_keeps_a_variable_grafana_would_have_replaced(stem, title, ref, expr):
    assert dashboards.unsubstituted(expr) == []


def test_all_departments_is_the_variables_all_value():
    network = dashboards.load(dashboards.FOLDER / "network.json")
    assert dashboards.variable_values(network) == {"department": ".*"}
    (expr, *_) = [expr for stem, _, _, expr in dashboards.queries() if stem == "network"]
    assert 'department=~".*"' in expr and "$" not in expr


def test_grafana_substitutes_every_spelling_and_joins_several_values():
    dashboard = {"templating": {"list": [{"name": "relay", "multi": True, "current": {
        "value": ["Guéret", "Tulle"]}}]}}
    values = dashboards.variable_values(dashboard)
    assert values == {"relay": "(Guéret|Tulle)"}
    assert dashboards.substitute('a{r=~"$relay"} b{r=~"${relay}"} c{r=~"[[relay]]"}',
                                 values).count("(Guéret|Tulle)") == 3
    assert dashboards.unsubstituted('rate(x[$__rate_interval]) / $nobody') == [
        "__rate_interval", "nobody"]


@pytest.mark.parametrize("path", dashboards.paths(), ids=lambda path: path.stem)
def test_every_panel_reaches_the_page_with_data_and_without(path):
    dashboard = dashboards.load(path)
    one_series = {}
    for panel in dashboards.panels(dashboard):
        points = [(1_700_000_000.0, 0.5)] if dashboard_render.is_instant(panel) else [
            (1_700_000_000.0 + 15 * n, float(n)) for n in range(10)]
        one_series[panel["id"]] = [dashboard_render.Series("serie", {"relay": "r"}, points)]
    for results in ({}, one_series):
        page = dashboard_render.page(dashboard, results, "test")
        for panel in dashboards.panels(dashboard):
            assert panel["title"].replace("'", "&#x27;") in page


def test_legends_and_units_as_grafana_shows_them():
    assert dashboard_render.legend("{{name}} late", {"name": "Tulle"}, "q") == "Tulle late"
    assert dashboard_render.legend("{{ queue }}", {}, "q") == ""
    assert dashboard_render.legend(None, {}, "count(x)") == "count(x)"
    assert dashboard_render.format_value(0.256, "percentunit") == "25.6%"
    assert dashboard_render.format_value(0.012, "s") == "12 ms"
    assert dashboard_render.format_value(2.5, "reqps") == "2.5 req/s"
    assert dashboard_render.format_value(1500, None) == "1.5 K"
    assert dashboard_render.format_value(None, "s") == "No data"
