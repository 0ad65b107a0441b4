"""Writing a run's results: ``report.json`` (stable, sorted, documented in docs/scenarios.md) and ``report.html``.

``write_reports(result, out_dir)`` creates the folder and writes both files; the JSON is written with
sorted keys and a trailing newline so two runs with the same seed give byte-identical files apart from the
``run`` section.  Must not import simpy or the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docflow.errors import ConfigError
from docflow.sim.driver import SimResult
from docflow.sim.html import render


def to_json(report: dict[str, Any]) -> str:
    """The report as canonical JSON text."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def without_run(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus its wall-clock ``run`` section: what must be identical for the same seed."""
    return {key: value for key, value in report.items() if key != "run"}


def write_reports(result: SimResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir``; return their paths."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        json_path, html_path = folder / "report.json", folder / "report.html"
        json_path.write_text(to_json(result.report), encoding="utf-8")
        html_path.write_text(render(result.report, result.registry), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report into {folder}: {exc.strerror or exc}") from None
    return json_path, html_path
