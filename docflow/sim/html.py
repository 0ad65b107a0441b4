"""``report.html``: one self-contained page (inline CSS, inline SVG charts, a few lines of inline script, no
external URL) drawn from a report dict and the registry the run used.

Charts: latency distribution per tier path (delivery and completion), backlog over time, deadline breaches
per tier, and the hierarchy as an icicle map coloured by each agency's share of breached deadlines.
Must not import simpy, the engine or any plotting library.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import Registry

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
WIDTH, HEIGHT, PAD = 760, 260, 48

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
svg.chart{background:#fcfcfc;border:1px solid #ddd;display:block;margin:6px 0}
svg text{font-size:11px;fill:#333}.legend span{display:inline-block;margin-right:14px;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
"""

SCRIPT = """
(function(){
  var charts = document.querySelectorAll('svg.chart'), drawn = 0;
  charts.forEach(function(svg){ var box = svg.getBBox(); if (box.width > 0 && box.height > 0 &&
    svg.querySelectorAll('rect,polyline,path,circle').length > 0) { drawn++; } });
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(body: list[str], title: str, height: int = HEIGHT, width: int = WIDTH) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{_esc(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(body)}</svg>'
    )


def _axes(x_label: str, y_label: str, y_max: float, height: int = HEIGHT) -> list[str]:
    bottom, right = height - PAD, WIDTH - 16
    out = [
        f'<line x1="{PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#666"/>',
        f'<line x1="{PAD}" y1="16" x2="{PAD}" y2="{bottom}" stroke="#666"/>',
        f'<text x="{(PAD + right) / 2}" y="{height - 10}" text-anchor="middle">{_esc(x_label)}</text>',
        f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" text-anchor="middle">'
        f"{_esc(y_label)}</text>",
    ]
    for k in range(5):
        value = y_max * k / 4
        y = bottom - (bottom - 16) * k / 4
        out.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def latency_chart(edges: Sequence[float], series: dict[str, list[int]], title: str) -> str:
    """Share of deliveries per log-spaced latency bin, one line per tier path."""
    bins = len(edges) + 1
    bottom, right = HEIGHT - PAD, WIDTH - 16
    shares = {path: [c / max(sum(counts), 1) for c in counts] for path, counts in series.items()}
    top = max([max(v) for v in shares.values()] + [0.01])
    body = _axes("latency (log scale)", "share of deliveries", top)
    for i in range(0, bins, 4):
        x = PAD + (right - PAD) * (i + 0.5) / bins
        label = "0" if i == 0 else _duration(edges[i - 1])
        body.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{label}</text>')
    legend = []
    for index, (path, values) in enumerate(sorted(shares.items())):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{PAD + (right - PAD) * (i + 0.5) / bins:.1f},{bottom - (bottom - 16) * v / top:.1f}"
            for i, v in enumerate(values)
        )
        body.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
            f"<title>{_esc(path)}</title></polyline>"
        )
        legend.append(f'<span><i class="swatch" style="background:{color}"></i>{_esc(path)}</span>')
    return _svg(body, title) + f'<div class="legend">{"".join(legend)}</div>'


def backlog_chart(points: Sequence[Sequence[int]], title: str) -> str:
    """Documents received and not finished, hour by hour (the hour's maximum)."""
    bottom, right = HEIGHT - PAD, WIDTH - 16
    last = max([p[0] for p in points] + [1])
    top = max([p[1] for p in points] + [1])
    body = _axes("virtual hours", "backlog (documents)", top)
    coords = []
    for hour, value in points:
        x = PAD + (right - PAD) * hour / last
        coords.append(f"{x:.1f},{bottom - (bottom - 16) * value / top:.1f}")
    if coords:
        body.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{" ".join(coords)}"/>')
    for k in range(5):
        tick = last * k / 4
        body.append(
            f'<text x="{PAD + (right - PAD) * k / 4:.1f}" y="{bottom + 14}" text-anchor="middle">{tick:.0f}</text>'
        )
    return _svg(body, title)


def breaches_chart(breaches: dict[str, int], checked: dict[str, int], title: str) -> str:
    """Per tier: deadlines checked (light) and breached (dark)."""
    bottom, right = HEIGHT - PAD, WIDTH - 16
    tiers = list(checked)
    top = max([*checked.values(), 1])
    body = _axes("recipient tier", "deliveries with a deadline", top)
    slot = (right - PAD) / max(len(tiers), 1)
    for i, tier in enumerate(tiers):
        x = PAD + slot * i + slot * 0.2
        for value, color, label in ((checked[tier], "#9ecae1", "checked"), (breaches[tier], "#d62728", "breached")):
            h = (bottom - 16) * value / top
            body.append(
                f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{slot * 0.6:.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{color}"><title>{_esc(tier)}: {value} {label}</title></rect>'
            )
        body.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{bottom + 14}" text-anchor="middle">{_esc(tier)} '
            f"({breaches[tier]}/{checked[tier]})</text>"
        )
    return _svg(body, title)


def _lateness_color(figures: dict[str, Any] | None) -> str:
    if not figures or not figures.get("received"):
        return "#e0e0e0"
    share = figures["breaches"] / figures["received"]
    red, green = int(40 + 200 * share), int(170 - 130 * share)
    return f"rgb({red},{green},60)"


def hierarchy_map(registry: Registry, nodes: dict[str, dict[str, Any]], title: str) -> str:
    """An icicle: one row per depth, each agency as wide as its share of the leaves under it."""
    leaves: dict[OrganId, int] = {}
    for code in reversed((registry.root, *registry.descendants(registry.root))):  # children before parents
        kids = registry.children(code)
        leaves[code] = sum(leaves[k] for k in kids) if kids else 1
    depth = max(registry.depth(c) for c in registry.codes) + 1
    row, width = 44, WIDTH - 16
    body: list[str] = []
    stack = [(registry.root, 8.0, float(width), 0)]
    while stack:
        code, x, w, level = stack.pop()
        key = str(code)
        figures = nodes.get(key)
        tip = f"{registry[code].name} ({key})"
        if figures:
            tip += f": received {figures['received']}, breaches {figures['breaches']}, late {figures['late_hours']} h"
        body.append(
            f'<rect x="{x:.2f}" y="{8 + level * row}" width="{max(w - 0.3, 0.2):.2f}" height="{row - 4}" '
            f'fill="{_lateness_color(figures)}" stroke="#fff" stroke-width="0.3"><title>{_esc(tip)}</title></rect>'
        )
        offset = x
        for kid in registry.children(code):
            share = w * leaves[kid] / leaves[code]
            if share >= 0.4:
                stack.append((kid, offset, share, level + 1))
            offset += share
    return _svg(body, title, height=16 + depth * row)


def _table(rows: list[list[object]], head: list[str]) -> str:
    cells = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def render(report: dict[str, Any], registry: Registry) -> str:
    """The whole page."""
    summary = [
        [key, report[key]]
        for key in (
            "documents_sent",
            "deliveries",
            "delivered",
            "dead_lettered",
            "lost",
            "in_flight",
            "duplicates",
            "completed",
            "rejected",
            "backlog_peak",
            "messages_sent",
            "send_failures",
        )
    ]
    latency_rows = []
    for kind in ("delivery", "completion"):
        for path, figures in report["latency"][kind].items():
            latency_rows.append(
                [kind, path, figures["count"], *(_duration(figures.get(p, 0)) for p in ("p50", "p95", "p99", "max"))]
            )
    hist = report["histograms"]
    parts = [
        f"<h1>docflow simulation — {_esc(report['scenario'])}</h1>",
        f"<p>seed {report['seed']} · fidelity {_esc(report['fidelity'])} · {report['agencies']} agencies "
        f"({_esc(report['topology'])}) · policy {_esc(report['policy'])} ({_esc(report['mode'])}) · "
        f"from {_esc(report['start'])} for {report['duration_hours']} h of traffic, {report['end_hours']} h in all"
        f"</p>",
        "<h2>Summary</h2>",
        _table(summary, ["figure", "value"]),
        "<h2>Latency per tier path</h2>",
        _table(latency_rows, ["latency", "tier path", "count", "p50", "p95", "p99", "max"]),
        "<h3>Delivery latency distribution</h3>",
        latency_chart(hist["edges_seconds"], hist["delivery"], "delivery latency per tier path"),
        "<h3>Completion latency distribution</h3>",
        latency_chart(hist["edges_seconds"], hist["completion"], "completion latency per tier path"),
        "<h2>Backlog over time</h2>",
        backlog_chart(report["backlog_hourly"], "backlog over time"),
        "<h2>Deadline breaches per tier</h2>",
        breaches_chart(report["deadline_breaches"], report["deadlines_checked"], "deadline breaches per tier"),
        "<h2>Hierarchy, coloured by lateness</h2>",
        "<p>Green: no breached deadline; red: every deadline breached; grey: received nothing. "
        "Hover an agency for its figures.</p>",
        hierarchy_map(registry, report["nodes"], "hierarchy coloured by lateness"),
        "<h2>Statuses at the senders</h2>",
        _table([[k, v] for k, v in report["statuses"].items()], ["state", "deliveries"]),
        "<h2>Run (wall clock)</h2>",
        _table([[k, v] for k, v in report["run"].items()], ["figure", "value"]),
    ]
    data = _esc(json.dumps({k: report[k] for k in ("scenario", "seed", "fidelity")}, ensure_ascii=False))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>docflow simulation — {_esc(report['scenario'])}</title><style>{CSS}</style></head>"
        f'<body data-report="{data}">{"".join(parts)}<script>{SCRIPT}</script></body></html>'
    )
