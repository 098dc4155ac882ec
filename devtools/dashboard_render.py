"""A dashboard (Grafana's JSON model) drawn as one HTML page with inline SVG:
each panel at its ``gridPos`` on Grafana's 24-column grid, with its title,
unit, legend and data. Pure: the caller runs the queries
(devtools/dashboard_pictures.py) and a browser turns the page into a PNG.

It draws the panel kinds the dashboards use (``DRAWERS``); a dashboard with
another kind fails its unit test rather than losing a panel from the pictures.
Looks follow Grafana's defaults (dark theme, classic palette, thresholds green
then red at 80) so the pictures read like the real thing, without claiming
to be it: the header says what made them.
"""
import html
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from devtools.dashboards import panels as grid_panels

PAGE_WIDTH = 1600
MARGIN = 16
CELL_HEIGHT, GAP = 30, 8            # Grafana's grid: 30 px rows, 8 px between panels
TITLE_HEIGHT = 28
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
           "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C",
           "#6D1F62", "#584477", "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F", "#F29191",
           "#82B5D8", "#E5A8E2", "#AEA2E0")
GREEN, RED, TEXT, WEAK = "#73BF69", "#F2495C", "#CCCCDC", "#8E8E8E"
RED_FROM = 80                       # Grafana's default thresholds: base green, red at 80
INSTANT_KINDS = {"stat", "bargauge", "table"}
X_STEPS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass
class Series:
    """One series of a panel: its legend, its labels, and its points
    ``(unix seconds, value)``; an instant query has one point."""
    legend: str
    labels: dict = field(default_factory=dict)
    points: list = field(default_factory=list)

    @property
    def last(self):
        return self.points[-1][1] if self.points else None


def is_instant(panel, target=None):
    return panel["type"] in INSTANT_KINDS or bool(target and target.get("instant"))


def legend(legend_format, labels, expr):
    """Grafana's legend: ``{{label}}`` replaced (a missing label is empty);
    without a format, the series' labels, or the query if it has none."""
    if legend_format:
        text = legend_format
        while "{{" in text and "}}" in text:
            start = text.index("{{")
            end = text.index("}}", start)
            text = text[:start] + str(labels.get(text[start + 2:end].strip(), "")) + text[end + 2:]
        return text
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    if not shown:
        return expr
    pairs = ", ".join(f'{k}="{v}"' for k, v in shown.items())
    return labels.get("__name__", "") + "{" + pairs + "}"


def short(value):
    for limit, suffix in ((1e9, " Bil"), (1e6, " Mil"), (1e3, " K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"


def format_value(value, unit=None):
    """A value as Grafana shows it in the panel's unit."""
    if value is None:
        return "No data"
    if math.isnan(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.3g}%"
    if unit == "s":
        if value and abs(value) < 1:
            return f"{short(value * 1000)} ms"
        return f"{short(value)} s"
    if unit == "reqps":
        return f"{short(value)} req/s"
    if unit == "ops":
        return f"{short(value)} ops/s"
    return short(value)


def unit_of(panel):
    return panel.get("fieldConfig", {}).get("defaults", {}).get("unit")


def colour(value):
    return RED if value is not None and not math.isnan(value) and value >= RED_FROM else GREEN


def nice_step(span, count=4):
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def y_ticks(values):
    low, high = min(0.0, min(values)), max(values)
    if high == low:
        high = low + 1
    step = nice_step(high - low)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-12:
        ticks.append(ticks[-1] + step)
    return ticks


def no_data(width, height):
    return (f'<div class="nodata" style="width:{width}px;height:{height}px;'
            f'line-height:{height}px">No data</div>')


def draw_row(panel, series, width, height):
    return ""  # a row is its title, drawn by the frame


def draw_stat(panel, series, width, height):
    values = [s for s in series if s.points]
    if not values:
        return no_data(width, height)
    count = len(values)
    columns = max(1, min(count, round(math.sqrt(count * width / max(height, 1)))))
    rows = math.ceil(count / columns)
    box_w, box_h = width / columns, height / rows
    unit, cells = unit_of(panel), []
    for s in values:
        text = format_value(s.last, unit)
        size = max(12, min(box_h * (0.42 if count > 1 else 0.55),
                           box_w / (0.62 * max(len(text), 1))))
        name = (f'<div class="statname" style="font-size:{max(10, min(14, box_h * 0.18)):.0f}px">'
                f'{html.escape(s.legend)}</div>' if count > 1 else "")
        cells.append(f'<div class="stat" style="width:{box_w:.0f}px;height:{box_h:.0f}px">{name}'
                     f'<div style="font-size:{size:.0f}px;color:{colour(s.last)}">'
                     f'{html.escape(text)}</div></div>')
    return f'<div class="stats">{"".join(cells)}</div>'


def draw_bargauge(panel, series, width, height):
    values = [s for s in series if s.points]
    if not values:
        return no_data(width, height)
    top = max((s.last for s in values if not math.isnan(s.last)), default=0) or 1
    unit, row_h = unit_of(panel), height / len(values)
    bars = []
    for s in values:   # NaN (0/0: nothing to divide yet) is shown as Grafana does, barless
        share = 0.0 if math.isnan(s.last) else max(0.0, s.last / top)
        bar_h = max(6, min(row_h * 0.5, 40))
        bars.append(
            f'<div class="barrow" style="height:{row_h:.0f}px">'
            f'<div class="barname">{html.escape(s.legend)}</div>'
            f'<div class="barline"><div class="bartrack" style="height:{bar_h:.0f}px">'
            f'<div style="width:{share * 100:.1f}%;height:100%;background:linear-gradient('
            f'90deg,{GREEN}55,{colour(s.last)})"></div></div>'
            f'<div class="barvalue" style="color:{colour(s.last)}">'
            f'{html.escape(format_value(s.last, unit))}</div></div></div>')
    return "".join(bars)


def draw_table(panel, series, width, height):
    if not series:
        return no_data(width, height)
    hidden = {"__name__", "job", "instance"}
    columns = sorted({k for s in series for k in s.labels} - hidden)
    unit = unit_of(panel)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "<th>Value</th>"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(s.labels.get(c, '')))}</td>" for c in columns)
        + f"<td>{html.escape(format_value(s.last, unit))}</td></tr>" for s in series)
    return (f'<div style="height:{height}px;overflow:hidden"><table><thead><tr>{head}</tr>'
            f'</thead><tbody>{body}</tbody></table></div>')


def legend_rows(series, width):
    """How many legend lines the series take (about 7 px a character). The
    legend gets at most 35% of the panel: Grafana scrolls a long legend, a
    picture shows its first lines."""
    lines, used = 1, 0
    for s in series:
        item = 26 + 7 * len(s.legend)
        if used and used + item > width:
            lines, used = lines + 1, 0
        used += item
    return lines


def draw_timeseries(panel, series, width, height):
    drawn = [s for s in series if any(not math.isnan(v) for _, v in s.points)]
    if not drawn:
        return no_data(width, height)
    legend_h = 18 * min(legend_rows(drawn, width), int(height * 0.35) // 18)
    chart_h = height - legend_h
    values = [v for s in drawn for _, v in s.points if not math.isnan(v)]
    times = [t for s in drawn for t, _ in s.points]
    start, end = min(times), max(times)
    if end == start:
        end = start + 1
    ticks = y_ticks(values)
    unit, left, bottom, right, top = unit_of(panel), 64, 20, 12, 6
    plot_w, plot_h = width - left - right, chart_h - bottom - top

    def x(t):
        return left + (t - start) / (end - start) * plot_w

    def y(v):
        return top + plot_h - (v - ticks[0]) / (ticks[-1] - ticks[0]) * plot_h

    parts = []
    for tick in ticks:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" class="grid"/><text x="{left - 6}" y="{y(tick) + 4:.1f}"'
                     f' text-anchor="end">{html.escape(format_value(tick, unit))}</text>')
    step = next((s for s in X_STEPS if (end - start) / s <= 7), X_STEPS[-1])
    for t in range(int(math.ceil(start / step) * step), int(end) + 1, step):
        label = datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M")
        parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{top + plot_h}" '
                     f'class="grid"/><text x="{x(t):.1f}" y="{chart_h - 5}" '
                     f'text-anchor="middle">{label}</text>')
    gap = 2.5 * min((b[0] - a[0] for s in drawn for a, b in zip(s.points, s.points[1:])),
                    default=end - start)
    for index, s in enumerate(drawn):
        colour_ = PALETTE[index % len(PALETTE)]
        segment = []
        for (t, v), following in zip(s.points, s.points[1:] + [None]):
            if not math.isnan(v):
                segment.append(f"{x(t):.1f},{y(v):.1f}")
            if following is None or math.isnan(v) or following[0] - t > gap:
                if len(segment) == 1:
                    cx, cy = segment[0].split(",")
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour_}"/>')
                elif segment:
                    parts.append(f'<polyline points="{" ".join(segment)}" stroke="{colour_}" '
                                 f'fill="none" stroke-width="1.5"/>')
                segment = []
    items = "".join(f'<span class="item"><i style="background:{PALETTE[i % len(PALETTE)]}">'
                    f'</i>{html.escape(s.legend)}</span>' for i, s in enumerate(drawn))
    return (f'<svg width="{width}" height="{chart_h}">{"".join(parts)}</svg>'
            f'<div class="legend" style="height:{legend_h}px">{items}</div>')


DRAWERS = {"row": draw_row, "stat": draw_stat, "timeseries": draw_timeseries,
           "table": draw_table, "bargauge": draw_bargauge}

CSS = f"""
body {{ margin:0; background:#111217; color:{TEXT}; font:13px/1.3 'DejaVu Sans',sans-serif; }}
header {{ padding:{MARGIN}px {MARGIN}px 4px; }}
header h1 {{ font-size:20px; font-weight:500; margin:0 0 4px; }}
header p {{ margin:2px 0; color:{WEAK}; }}
.grid-area {{ position:relative; margin:0 {MARGIN}px; }}
.panel {{ position:absolute; background:#181b1f; border:1px solid #2c3235; border-radius:2px;
  overflow:hidden; box-sizing:border-box; }}
.panel h2 {{ font-size:14px; font-weight:500; margin:0; padding:6px 8px 0;
  height:{TITLE_HEIGHT - 6}px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }}
.row {{ position:absolute; font-size:16px; font-weight:500; border-bottom:1px solid #2c3235; }}
.body {{ padding:0 8px; }}
svg text {{ fill:{WEAK}; font-size:11px; }}
svg .grid {{ stroke:#2c3235; stroke-width:1; }}
.legend {{ overflow:hidden; font-size:12px; }}
.legend .item {{ display:inline-block; margin-right:12px; white-space:nowrap; }}
.legend i {{ display:inline-block; width:14px; height:4px; margin-right:6px;
  vertical-align:middle; }}
.stats {{ display:flex; flex-wrap:wrap; }}
.stat {{ display:flex; flex-direction:column; justify-content:center; align-items:center;
  box-sizing:border-box; font-weight:500; overflow:hidden; }}
.statname {{ color:{TEXT}; font-weight:400; white-space:nowrap; }}
.barrow {{ display:flex; flex-direction:column; justify-content:center; }}
.barname {{ font-size:12px; white-space:nowrap; overflow:hidden; }}
.barline {{ display:flex; align-items:center; }}
.bartrack {{ flex:1; background:#22252b; }}
.barvalue {{ width:90px; text-align:right; font-size:18px; font-weight:500; }}
table {{ width:100%; border-collapse:collapse; font-size:12px; }}
th {{ text-align:left; color:#6e9fff; font-weight:500; border-bottom:1px solid #2c3235;
  padding:4px; }}
td {{ border-bottom:1px solid #22252b; padding:4px; white-space:nowrap; }}
.nodata {{ text-align:center; color:{WEAK}; }}
"""


def page(dashboard, results, subtitle):
    """The whole dashboard as an HTML page; ``results``: {panel id: [Series]}."""
    column = (PAGE_WIDTH - 2 * MARGIN + GAP) / 24
    panels = []
    bottom = 0
    for panel in grid_panels(dashboard):
        grid = panel["gridPos"]
        left, top = grid["x"] * column, grid["y"] * (CELL_HEIGHT + GAP)
        width = grid["w"] * column - GAP
        height = grid["h"] * CELL_HEIGHT + (grid["h"] - 1) * GAP
        bottom = max(bottom, top + height)
        title = html.escape(panel.get("title", ""))
        if panel["type"] == "row":
            panels.append(f'<div class="row" style="left:{left:.0f}px;top:{top:.0f}px;'
                          f'width:{width:.0f}px;height:{height}px">⌄ {title}</div>')
            continue
        body = DRAWERS[panel["type"]](panel, results.get(panel["id"], []),
                                      int(width) - 18, int(height) - TITLE_HEIGHT - 6)
        panels.append(f'<div class="panel" style="left:{left:.0f}px;top:{top:.0f}px;'
                      f'width:{width:.0f}px;height:{height}px"><h2>{title}</h2>'
                      f'<div class="body">{body}</div></div>')
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head>'
            f'<body><header><h1>{html.escape(dashboard["title"])}</h1>'
            f'<p>{html.escape(dashboard.get("description", ""))}</p>'
            f'<p>{html.escape(subtitle)}</p></header>'
            f'<div class="grid-area" style="height:{bottom + MARGIN:.0f}px">{"".join(panels)}'
            f'</div></body></html>')
