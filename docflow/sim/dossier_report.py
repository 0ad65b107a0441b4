"""The one-stop dossier section of ``report.html``: the figures of ``report.json``'s ``dossiers`` object in a table,
a chart of how the dossiers ended by desk tier and by online level, and the agencies whose steps ran late.

``section(report)`` returns the HTML parts and the Vega-Lite specs (by element id) for ``html.render`` to
place; a report without dossiers gives nothing.
Must not import simpy, the engine or lxml.
"""

from __future__ import annotations

import html
from typing import Any

from docflow.sim.charts import BLUE, CONFIG, GREEN, GREY, RED, WIDTH

#: how a dossier ended, in chart order, with its colour
OUTCOMES = (
    ("early", "early", "#1a9850"),
    ("on_time", "on time", GREEN),
    ("late", "late", RED),
    ("open", "still open", BLUE),
    ("refused", "refused", GREY),
    ("withdrawn", "withdrawn", "#969696"),
)
LATE_ROWS = 25
_ROWS = (
    ("submitted", "submitted"), ("received", "received at a desk"), ("refused", "refused"),
    ("withdrawn", "withdrawn"), ("returned", "result returned"), ("open", "still open"), ("early", "early"),
    ("on_time", "on time"), ("late", "late"), ("overdue_open", "open past NgayHenTra"),
    ("apologies", "apology letters"), ("on_time_share", "on-time share"),
)  # fmt: skip


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(key: str, value: Any) -> str:
    if key == "on_time_share":
        return "—" if value is None else f"{value:.2%}"
    return f"{value:,}"


def _table(rows: list[list[str]], head: list[str]) -> str:
    cells = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def outcome_chart(figures: dict[str, Any]) -> dict[str, Any] | None:
    """Stacked bars: how the dossiers ended, per desk tier and per online level."""
    rows = []
    for group, title in (("by_tier", "desk"), ("by_level", "level")):
        for name, f in figures[group].items():
            if not f["submitted"]:
                continue
            label = f"{title} {name}: {f['submitted']:,}"
            for order, (key, text, _) in enumerate(OUTCOMES):
                rows.append({"group": label, "outcome": text, "count": f[key], "order": order})
    if not rows:
        return None
    return {
        "description": "one-stop dossiers by how they ended",
        "config": CONFIG,
        "data": {"values": rows},
        "width": WIDTH - 260,
        "height": {"step": 30},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "sort": None, "title": None, "axis": {"labelLimit": 260}},
            "x": {"field": "count", "type": "quantitative", "stack": "normalize", "title": "share of dossiers",
                  "axis": {"format": ".0%"}},
            "color": {"field": "outcome", "type": "nominal", "title": None,
                      "scale": {"domain": [t for _, t, _ in OUTCOMES], "range": [c for _, _, c in OUTCOMES]}},
            "order": {"field": "order"},
            "tooltip": [{"field": "group"}, {"field": "outcome"}, {"field": "count", "title": "dossiers"}],
        },
    }  # fmt: skip


def section(report: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """HTML parts and chart specs for the dossiers of ``report`` (nothing when it has none)."""
    figures = report.get("dossiers")
    if not figures:
        return [], {}
    parts = [
        "<h2>One-stop dossiers</h2>",
        "<p class='note'>Dossiers filed at the commune, district and province desks, carried between the agencies "
        "of their procedure's chain (liên thông). Early / on time / late are judged on the day processing ended "
        "against NgayHenTra (working days, the clock stopped while suspended or waiting for papers); the on-time "
        "share is (early + on time) / processed.</p>",
    ]
    head = ["figure", "all", "commune desk", "district desk", "province desk", "level 2", "level 3", "level 4"]
    columns = [figures, *(figures["by_tier"][t] for t in ("commune", "district", "province"))]
    columns += [figures["by_level"][lv] for lv in ("2", "3", "4")]
    parts.append(_table([[_esc(text), *(_cell(key, c[key]) for c in columns)] for key, text in _ROWS], head))
    specs: dict[str, Any] = {}
    chart = outcome_chart(figures)
    if chart is not None:
        parts.append("<h3>How the dossiers ended</h3>")
        parts.append('<div class="chart" id="chart-dossiers"></div>')
        specs["chart-dossiers"] = chart
    late = report.get("dossier_late_agencies") or []
    parts.append(f"<h3>Agencies with late steps ({len(late)})</h3>")
    if late:
        parts.append(
            "<p class='note'>A step is late when its work ended after the step's own deadline "
            "(NgayKetThucTheoQuyDinh).</p>"
        )
        rows = [[_esc(a["name"]), _esc(a["agency"]), f"{a['late_steps']:,}", f"{a['steps']:,}",
                 f"{a['late_steps'] / a['steps']:.1%}" if a["steps"] else "—"] for a in late[:LATE_ROWS]]  # fmt: skip
        parts.append(_table(rows, ["agency", "code", "late steps", "steps", "share late"]))
        if len(late) > LATE_ROWS:
            parts.append(f"<p class='note'>… and {len(late) - LATE_ROWS} more in report.json.</p>")
    else:
        parts.append("<p><i>No step ran late.</i></p>")
    return parts, specs
