"""``report.html``: one self-contained page drawn from a report dict and the registry the run used.

At the top a summary in words (what was sent, what arrived, what was late and where, what failed and why),
then the charts of ``docflow.sim.charts`` rendered by Vega-Lite — its JavaScript bundle (Vega, Vega-Lite,
Vega-Embed, from ``vl-convert-python``) is inlined, so the page opens with no network — and tables: late
agencies, the slowest deliveries with the ``docflow trace`` command for each, latency percentiles, the
deliveries unfinished when the run ended, the wall-clock figures.
Must not import simpy or the engine.
"""

from __future__ import annotations

import functools
import html
import json
import os
from pathlib import Path
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import Registry
from docflow.sim import charts
from docflow.sim.dossier_report import section as dossier_section
from docflow.sim.units import human_duration

LATE_ROWS = 25

CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;color:#222;max-width:1000px;padding:0 16px;line-height:1.45}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:13px;margin-top:0}
.summary{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:10px 18px}
.summary li{margin:4px 0}.bad{color:#b00020;font-weight:600}.ok{color:#1a7f37;font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}code{font-size:12px;background:#f3f3f3;padding:1px 3px}
.chart{margin:8px 0 4px}.note{color:#555;font-size:13px;margin:2px 0 10px}
"""

RENDER = """
const specs = JSON.parse(document.getElementById('docflow-specs').textContent);
const runs = Object.entries(specs).map(([id, spec]) =>
  vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'}).then(() => {
    const svg = document.querySelector('#' + id + ' svg');
    return svg && svg.querySelectorAll('path,rect,line').length > 0 ? 1 : 0;
  }));
document.body.setAttribute('data-charts', String(runs.length));
Promise.all(runs).then(drawn => {
  document.body.setAttribute('data-charts-drawn', String(drawn.reduce((a, b) => a + b, 0)));
}).catch(err => { console.error('chart failed: ' + err); });
"""


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed in one script (they set ``window.vegaEmbed``); built once per process and
    kept in the user's cache folder per ``vl-convert`` version (building it takes seconds; reading it, none)."""
    import vl_convert

    version = getattr(vl_convert, "__version__", "0")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docflow" / f"vega-{version}.js"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = str(vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")).replace("</script", "<\\/script")
    try:  # written whole or not at all: a half-written cache must never be read
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8")
        os.replace(partial, cache)
    except OSError:
        pass  # an unwritable cache only costs the time to build the bundle again
    return bundle


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(rows: list[list[object]], head: list[str], left: int = 1) -> str:
    cells = "".join(f'<th class="{"l" if i < left else ""}">{_esc(h)}</th>' for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{_esc(c)}</td>' for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _name(registry: Registry, code: str) -> str:
    try:
        oid = OrganId.parse(code)
    except ValueError:
        return code
    return registry[oid].name if oid in registry else code


def late_agencies(report: dict[str, Any], registry: Registry) -> list[list[object]]:
    """Agencies with at least one breached deadline, most breaches first."""
    late = [(code, f) for code, f in report["nodes"].items() if f["breaches"]]
    late.sort(key=lambda item: (-item[1]["breaches"], -item[1]["late_hours"], item[0]))
    return [
        [
            _name(registry, code),
            code,
            OrganId.parse(code).tier.label,
            f["received"],
            f["breaches"],
            human_duration(f["late_hours"] * 3600 / f["breaches"]),
            human_duration(f["late_hours"] * 3600),
        ]
        for code, f in late
    ]


def summary(report: dict[str, Any], registry: Registry) -> list[str]:
    """The page's opening, one sentence per question."""
    r = report
    total, docs = r["deliveries"], r["documents_sent"]
    unfinished = total - r["completed"] - r["rejected"]
    lines = [
        f"<b>Sent:</b> {docs} documents to {total} recipients in all ({total} deliveries) over "
        f"{human_duration(r['duration_hours'] * 3600)} of traffic; the run went on to hour {r['end_hours']:g}.",
    ]
    delivery = [f for f in r["latency"]["delivery"].values() if f["count"]]
    slowest = max((f["max"] for f in delivery), default=0.0)
    missing = total - r["delivered"]
    lines.append(
        f"<b>Arrived:</b> <span class='{'ok' if not missing else 'bad'}'>{r['delivered']} of {total} "
        f"({_pct(r['delivered'], total)})</span>, the slowest after {human_duration(slowest)}. "
        f"{r['completed']} were completed and {r['rejected']} rejected by their recipients; {unfinished} were "
        "still being handled when the run ended."
    )
    checked, breached = sum(r["deadlines_checked"].values()), sum(r["deadline_breaches"].values())
    if not checked:
        lines.append("<b>Late:</b> no delivery had a deadline that fell due during the run.")
    elif not breached:
        lines.append(f"<b>Late:</b> <span class='ok'>none</span> of the {checked} deliveries whose deadline fell due.")
    else:
        where = ", ".join(f"{n} at the {t} tier" for t, n in r["deadline_breaches"].items() if n)
        agencies = sum(1 for f in r["nodes"].values() if f["breaches"])
        lines.append(
            f"<b>Late:</b> <span class='bad'>{breached} of {checked} deliveries</span> whose deadline fell due "
            f"({_pct(breached, checked)}) were not completed in time: {where}, at {agencies} "
            f"{'agency' if agencies == 1 else 'agencies'} (table below)."
        )
    failed = []
    if r["dead_lettered"]:
        failed.append(
            f"{r['dead_lettered']} dead-lettered: a hop spent its {r.get('faults', {}).get('retry_budget', '')} "
            "send attempts without reaching the next agency"
        )
    if r["lost"]:
        failed.append(f"{r['lost']} lost silently on the link")
    if r["in_flight"]:
        failed.append(f"{r['in_flight']} still queued or waiting for a retry at the end")
    if r.get("quarantined"):
        failed.append(f"{r['quarantined']} messages quarantined as invalid")
    faults = r.get("faults", {}).get("described", [])
    cause = " " + " ".join(faults) if faults else ""
    if failed:
        lines.append(f"<b>Failed:</b> <span class='bad'>{'; '.join(failed)}</span>.{_esc(cause)}")
    else:
        lines.append(f"<b>Failed:</b> <span class='ok'>nothing</span>.{_esc(cause)}")
    if r["send_failures"]:
        lines.append(
            f"<b>Retries:</b> {r['send_failures']} sends failed and were retried "
            f"({r['lost_messages']} messages lost on the link)."
        )
    return lines


def render(report: dict[str, Any], registry: Registry) -> str:
    """The whole page."""
    r = report
    specs: dict[str, Any] = {}
    parts = [
        f"<h1>docflow simulation — {_esc(r['scenario'])}</h1>",
        f"<p class='meta'>{r['agencies']} agencies ({_esc(r['topology'])}) · {_esc(r['policy'])} routing "
        f"({_esc(r['mode'])}) · from {_esc(r['start'].replace('T', ' '))}, {r['duration_hours']:g} h of traffic, "
        f"{r['end_hours']:g} h in all · seed {r['seed']} · {_esc(r['fidelity'])} fidelity</p>",
        "<h2>Summary</h2><ul class='summary'>" + "".join(f"<li>{line}</li>" for line in summary(r, registry)),
        "</ul>",
    ]

    def chart(key: str, spec: dict[str, Any] | None, title: str, note: str, empty: str) -> None:
        parts.append(f"<h2>{_esc(title)}</h2><p class='note'>{note}</p>")
        if spec is None:
            parts.append(f"<p><i>{_esc(empty)}</i></p>")
            return
        specs[key] = spec
        parts.append(f'<div class="chart" id="{key}"></div>')

    chart(
        "chart-breaches",
        charts.breaches(r),
        "Deadline breaches per recipient tier",
        "Deadlines are working hours on the scenario's calendar from sending to completion. Counted: deliveries "
        "whose deadline fell due before the run ended. The number on the bar is the count of late ones.",
        "No deadline fell due during the run.",
    )
    late = late_agencies(r, registry)
    if late:
        parts.append(f"<h3>Late agencies ({len(late)})</h3>")
        parts.append(
            _table(
                late[:LATE_ROWS],
                ["agency", "code", "tier", "received", "late", "late by (mean)", "late in all"],
                left=3,
            )
        )
        if len(late) > LATE_ROWS:
            parts.append(f"<p class='note'>… and {len(late) - LATE_ROWS} more in report.json (<code>nodes</code>).</p>")
    dossier_parts, dossier_specs = dossier_section(r)  # one-stop dossiers, when the scenario had any
    parts += dossier_parts
    specs.update(dossier_specs)
    faults = r.get("faults", {})
    outages = [o for o in faults.get("outages", [])]
    shaded = f" Red: {_esc(', '.join(o['name'] for o in outages))} offline." if outages else " No outage."
    chart(
        "chart-backlog",
        charts.backlog(r, _office(r)),
        "Backlog over time",
        "Documents received and not yet finished by the recipients' clerks (each hour's peak; an hour without "
        "activity keeps the value before it). Grey: outside office hours." + shaded,
        "",
    )
    for kind, what in (("delivery", "from sending to arrival"), ("completion", "from sending to completion")):
        chart(
            f"chart-{kind}",
            charts.latency(r, kind),
            f"{kind.capitalize()} latency per tier path",
            f"How long each delivery took {what}, one panel per sender → recipient tier, largest first; "
            "the panel title counts its deliveries. Log time axis.",
            f"No {kind} recorded.",
        )
    chart(
        "chart-hierarchy",
        charts.hierarchy(r),
        "The hierarchy, tier by tier",
        "Every group of agencies in the topology, top tier first (departments are province agencies whose codes "
        "sit at district level; they are a group of their own). Bars: deliveries received; red: late.",
        "",
    )
    parts.append(
        _table(
            [
                [
                    g["label"],
                    g["tier"],
                    g["agencies"],
                    g["receiving"],
                    g["received"],
                    g["completed"],
                    g["breaches"],
                    g["late_agencies"],
                ]
                for g in r.get("hierarchy", [])
            ],
            ["group", "tier", "agencies", "received any", "received", "completed", "late", "late agencies"],
            left=2,
        )
    )
    parts += _slowest(r)
    parts.append("<h2>Latency per tier path</h2>")
    rows = [
        [kind, path, f["count"], *(human_duration(f.get(p, 0)) for p in ("p50", "p95", "p99", "max"))]
        for kind in ("delivery", "completion")
        for path, f in r["latency"][kind].items()
    ]
    parts.append(_table(rows, ["latency", "tier path", "count", "median", "p95", "p99", "max"], left=2))
    parts.append("<h2>Deliveries by state when the run ended</h2>")
    parts.append(
        "<p class='note'>The state each delivery had reached, as its sender saw it, at the end of the run: "
        "anything other than <i>completed</i> or <i>rejected</i> was unfinished (still with the recipient's "
        "clerks, in transit, or dead-lettered).</p>"
    )
    parts.append(
        _table([[k, v, _pct(v, r["deliveries"])] for k, v in r["statuses"].items()], ["state", "deliveries", "share"])
    )
    run = r["run"]
    parts.append("<h2>The run (wall clock)</h2>")
    parts.append(
        _table(
            [
                ["wall time", human_duration(run["wall_seconds"])],
                ["setup", human_duration(run["setup_seconds"])],
                ["CPU time", human_duration(run["cpu_seconds"])],
                ["deliveries per second", run["deliveries_per_second"]],
                ["peak memory", f"{run['peak_rss_mib']} MiB"],
                ["Python", run["python"]],
            ],
            ["figure", "value"],
        )
    )
    data = _esc(json.dumps({k: r[k] for k in ("scenario", "seed", "fidelity")}, ensure_ascii=False))
    spec_text = json.dumps(specs, ensure_ascii=False).replace("</", "<\\/")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>docflow simulation — {_esc(r['scenario'])}</title><style>{CSS}</style></head>"
        f'<body data-report="{data}">{"".join(parts)}'
        f'<script type="application/json" id="docflow-specs">{spec_text}</script>'
        f'<script type="module">{vega_bundle()}</script><script type="module">{RENDER}</script></body></html>'
    )


def _office(report: dict[str, Any]) -> tuple[int, int]:
    hours = report.get("office_hours", "08:00-17:00")
    opens, closes = hours.split("-")
    return int(opens.split(":")[0]), int(closes.split(":")[0])


def _slowest(report: dict[str, Any]) -> list[str]:
    rows = report.get("slowest", [])
    if not rows:
        return []
    table = _table(
        [
            [
                s["document_id"],
                s["recipient"],
                s["document_type"],
                human_duration(s["seconds"]),
                s["measured_to"],
                s["status"],
            ]
            for s in rows
        ],
        ["document", "recipient", "type", "took", "until", "state at the end"],
        left=3,
    )
    first = rows[0]
    command = f"docflow trace '{first['document_id']}' --recipient {first['recipient']} --db URL"
    return [
        "<h2>The slowest deliveries</h2>",
        "<p class='note'>Run the simulation with <code>--db URL</code> to keep its store, then follow any of them "
        f"hop by hop, e.g. <code>{_esc(command)}</code>.</p>",
        table,
    ]
