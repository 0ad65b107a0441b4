"""The charts of report.html as Vega-Lite specifications (plain dicts), built from a report dict.

One function per chart: ``latency`` (small multiples, one panel per tier path, with counts),
``backlog`` (a step line on a calendar time axis, day ticks, nights and faults shaded and labelled),
``breaches`` (share of deadlines met and missed per recipient tier, the counts written on the bars) and
``hierarchy`` (every group of agencies, tier by tier, with what it received and how much was late).
The page (``docflow.sim.html``) embeds them with the Vega-Embed bundle shipped by ``vl-convert-python``.
Must not import simpy, the engine or lxml.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from docflow.sim.units import human_duration

WIDTH = 720
RED, BLUE, GREY, GREEN = "#c0392b", "#2c7fb8", "#bdbdbd", "#41ab5d"
#: round latency ticks (seconds) and their labels
LATENCY_TICKS = (1, 10, 60, 600, 3600, 4 * 3600, 86400, 7 * 86400, 28 * 86400)
#: finer round ticks for a narrow range (less than two decades)
FINE_TICKS = (
    1,
    2,
    5,
    10,
    20,
    30,
    60,
    120,
    300,
    600,
    1200,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
    14 * 86400,
    28 * 86400,
)
CONFIG = {
    "font": "system-ui, sans-serif",
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titlePadding": 10, "labelOverlap": True},
    "header": {"labelFontSize": 12, "labelFontWeight": "bold", "labelAnchor": "start", "labelAlign": "left"},
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
    "view": {"stroke": "#ddd"},
}


def _spec(body: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "config": CONFIG, **body}


def _label_expr(ticks: tuple[int, ...]) -> str:
    cases = " : ".join(f"datum.value == {t} ? '{human_duration(t)}'" for t in ticks)
    return f"{cases} : ''"


def latency(report: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """Histogram of ``kind`` (delivery or completion) latency, one panel per tier path, log time axis."""
    edges = report["histograms"]["edges_seconds"]
    series = report["histograms"][kind]
    rows = []
    low, high = math.inf, 0.0
    for path, counts in sorted(series.items(), key=lambda item: -sum(item[1])):
        total = sum(counts)
        panel = f"{path} ({total} {'deliveries' if total != 1 else 'delivery'})"
        for index, count in enumerate(counts):
            if not count:
                continue
            start = edges[index - 1] if index else 0.5
            end = edges[index] if index < len(edges) else edges[-1] * 1.78
            low, high = min(low, start), max(high, end)
            rows.append(
                {
                    "panel": panel,
                    "start": start,
                    "end": end,
                    "count": count,
                    "range": f"{human_duration(start)} – {human_duration(end)}",
                }
            )
    if not rows:
        return None
    choice = FINE_TICKS if high / low < 100 else LATENCY_TICKS
    ticks = tuple(t for t in choice if low / 1.5 <= t <= high * 1.5) or (1,)
    order = list(dict.fromkeys(row["panel"] for row in rows))
    domain = [min(low, ticks[0]), max(high, ticks[-1])]
    what = "sent → arrived" if kind == "delivery" else "sent → completed (status 06)"
    return _spec(
        {
            "data": {"values": rows},
            "facet": {
                "row": {
                    "field": "panel",
                    "type": "nominal",
                    "sort": order,
                    "title": None,
                    "header": {"labelOrient": "top", "labelPadding": 2},
                }
            },
            "spec": {
                "width": WIDTH - 80,
                "height": 70,
                "mark": {"type": "rect", "color": BLUE, "tooltip": True},
                "encoding": {
                    "x": {
                        "field": "start",
                        "type": "quantitative",
                        "scale": {"type": "log", "domain": domain, "nice": False},
                        "axis": {
                            "values": list(ticks),
                            "labelExpr": _label_expr(ticks),
                            "grid": True,
                            "title": f"{kind} latency, {what} (log scale)",
                        },
                    },
                    "x2": {"field": "end"},
                    "y": {
                        "field": "count",
                        "type": "quantitative",
                        "title": "deliveries",
                        "axis": {"tickMinStep": 1, "format": "d"},
                    },
                    "tooltip": [
                        {"field": "panel", "title": "tier path"},
                        {"field": "range", "title": "latency"},
                        {"field": "count", "title": "deliveries"},
                    ],
                },
            },
            "resolve": {"scale": {"y": "independent"}},
            "spacing": 14,
        },
        f"{kind} latency per tier path",
    )


def _stamp(start: datetime, hours: float) -> str:
    return (start + timedelta(hours=hours)).isoformat(timespec="minutes")


def backlog_series(report: dict[str, Any]) -> list[list[float]]:
    """Hour by hour to the end of the run; an hour without a sample keeps the value before it."""
    values = dict((int(h), v) for h, v in report["backlog_hourly"])
    last, out = 0, []
    for hour in range(math.ceil(report["end_hours"]) + 1):
        last = values.get(hour, last)
        out.append([hour, last])
    return out


def _nights(start: datetime, end_hours: float, opens: int = 8, closes: int = 17) -> list[dict[str, Any]]:
    bands = []
    day = start.replace(hour=0, minute=0)
    while (day - start).total_seconds() / 3600 < end_hours:
        evening, morning = day + timedelta(hours=closes), day + timedelta(days=1, hours=opens)
        bands.append({"from": evening.isoformat(timespec="minutes"), "to": morning.isoformat(timespec="minutes")})
        day += timedelta(days=1)
    first = start.replace(hour=opens, minute=0)
    if start < first:
        bands.insert(0, {"from": start.isoformat(timespec="minutes"), "to": first.isoformat(timespec="minutes")})
    last = (start + timedelta(hours=end_hours)).isoformat(timespec="minutes")
    return [{"from": b["from"], "to": min(b["to"], last)} for b in bands if b["from"] < last]


def backlog(report: dict[str, Any], office_hours: tuple[int, int] = (8, 17)) -> dict[str, Any]:
    """Documents received and not finished, on the run's calendar; nights grey, outages red, traffic end marked."""
    start = datetime.fromisoformat(report["start"])
    end = report["end_hours"]
    points = [{"at": _stamp(start, h), "backlog": v} for h, v in backlog_series(report)]
    outages = [
        {
            "from": _stamp(start, o["start_hours"]),
            "to": _stamp(start, min(o["end_hours"], end)),
            "label": f"{o['name']} offline",
        }
        for o in report.get("faults", {}).get("outages", [])
    ]
    day_ticks = {"interval": "day", "step": 1} if end > 36 else {"interval": "hour", "step": 6}
    x = {
        "field": "at",
        "type": "temporal",
        "axis": {
            "title": "virtual time (ticks at midnight; grey: outside office hours)",
            "format": "%a %d %b" if end > 36 else "%a %H:%M",
            "tickCount": day_ticks,
            "grid": True,
        },
    }
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": _nights(start, end, *office_hours)},
            "mark": {"type": "rect", "color": "#eeeeee"},
            "encoding": {"x": {**x, "field": "from"}, "x2": {"field": "to"}},
        },
        {
            "data": {"values": points},
            "mark": {"type": "line", "interpolate": "step-after", "color": BLUE},
            "encoding": {
                "x": {**x, "scale": {"domain": [_stamp(start, 0), _stamp(start, end)]}},
                "y": {
                    "field": "backlog",
                    "type": "quantitative",
                    "title": "backlog (documents)",
                    "axis": {"tickMinStep": 1},
                },
                "tooltip": [
                    {"field": "at", "type": "temporal", "format": "%a %d %b %H:%M", "title": "hour"},
                    {"field": "backlog", "title": "backlog (the hour's peak)"},
                ],
            },
        },
        {
            "data": {"values": [{"at": _stamp(start, report["duration_hours"]), "label": "traffic stops"}]},
            "layer": [
                {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#555"}, "encoding": {"x": x}},
                {
                    "mark": {"type": "text", "align": "left", "dx": 4, "dy": 8, "baseline": "top", "color": "#555"},
                    "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label"}},
                },
            ],
        },
    ]
    if outages:
        layers.insert(
            1,
            {
                "data": {"values": outages},
                "layer": [
                    {
                        "mark": {"type": "rect", "color": RED, "opacity": 0.25, "tooltip": True},
                        "encoding": {"x": {**x, "field": "from"}, "x2": {"field": "to"}},
                    },
                    {
                        "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3, "dy": 20, "color": RED},
                        "encoding": {"x": {**x, "field": "from"}, "y": {"value": 0}, "text": {"field": "label"}},
                    },
                ],
            },
        )
    return _spec({"width": WIDTH - 80, "height": 220, "layer": layers}, "backlog over time")


def breaches(report: dict[str, Any]) -> dict[str, Any] | None:
    """Per recipient tier with deadlines: deliveries on time and late, as a share, counts written out."""
    rows = []
    for tier, checked in report["deadlines_checked"].items():
        if not checked:
            continue
        late = report["deadline_breaches"][tier]
        label = f"{tier}: {late} late of {checked} ({late / checked:.1%})"
        rows.append({"tier": label, "state": "on time", "count": checked - late, "share": (checked - late) / checked})
        rows.append({"tier": label, "state": "late", "count": late, "share": late / checked})
    if not rows:
        return None
    return _spec(
        {
            "data": {"values": rows},
            "width": WIDTH - 260,
            "height": {"step": 34},
            "layer": [
                {
                    "mark": {"type": "bar", "tooltip": True},
                    "encoding": {
                        "y": {
                            "field": "tier",
                            "type": "nominal",
                            "sort": None,
                            "title": "recipient tier",
                            "axis": {"labelLimit": 260},
                        },
                        "x": {
                            "field": "share",
                            "type": "quantitative",
                            "stack": True,
                            "title": "share of deliveries whose deadline had passed by the end of the run",
                            "axis": {"format": ".0%", "values": [0, 0.25, 0.5, 0.75, 1]},
                            "scale": {"domain": [0, 1]},
                        },
                        "color": {
                            "field": "state",
                            "type": "nominal",
                            "title": None,
                            "scale": {"domain": ["on time", "late"], "range": [GREEN, RED]},
                        },
                        "order": {"field": "state", "sort": "descending"},
                        "tooltip": [{"field": "tier"}, {"field": "state"}, {"field": "count", "title": "deliveries"}],
                    },
                },
                {
                    "transform": [{"filter": "datum.state == 'late' && datum.count > 0"}],
                    "mark": {"type": "text", "align": "right", "dx": -4, "color": "#000", "fontWeight": "bold"},
                    "encoding": {
                        "y": {"field": "tier", "type": "nominal", "sort": None},
                        "x": {"value": WIDTH - 262},
                        "text": {"field": "count", "format": "d"},
                    },
                },
            ],
        },
        "deadline breaches per recipient tier",
    )


def hierarchy(report: dict[str, Any]) -> dict[str, Any]:
    """Each group of agencies, top tier first: deliveries received, the late ones in red, agencies counted."""
    rows = []
    for group in report["hierarchy"]:
        label = f"{group['label']} — {group['agencies']} {'agency' if group['agencies'] == 1 else 'agencies'}"
        on_time = group["received"] - group["breaches"]
        rows.append({"group": label, "state": "received, not late", "count": on_time, **_tip(group)})
        rows.append({"group": label, "state": "late (deadline breached)", "count": group["breaches"], **_tip(group)})
    return _spec(
        {
            "data": {"values": rows},
            "width": WIDTH - 380,
            "height": {"step": 30},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "group", "type": "nominal", "sort": None, "title": None, "axis": {"labelLimit": 380}},
                "x": {
                    "field": "count",
                    "type": "quantitative",
                    "stack": True,
                    "title": "deliveries received",
                    "axis": {"tickMinStep": 1, "format": "d"},
                },
                "color": {
                    "field": "state",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["received, not late", "late (deadline breached)"], "range": [BLUE, RED]},
                },
                "tooltip": [
                    {"field": "group"},
                    {"field": "receiving", "title": "agencies that received"},
                    {"field": "received"},
                    {"field": "late", "title": "late deliveries"},
                    {"field": "late_agencies", "title": "agencies with a late delivery"},
                ],
            },
        },
        "the hierarchy: deliveries received per group of agencies",
    )


def _tip(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "receiving": group["receiving"],
        "received": group["received"],
        "late": group["breaches"],
        "late_agencies": group["late_agencies"],
    }
