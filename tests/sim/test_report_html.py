"""report.html opens offline in headless Chromium: every chart drawn, nothing on the console.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped when it is not installed.  The
screenshot is kept under ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sim_scenarios import tiny

from docflow.sim import simulate, write_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless chromium is not installed")


def open_page(page: Path, screenshot: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and every console line Chromium logged."""
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,2600",
            f"--screenshot={screenshot}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=screenshot.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def test_console_lines_are_caught(tmp_path: Path) -> None:
    """The check below would see a broken page: a script error reaches the console log."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); notDefined();</script></body></html>")
    _, console = open_page(bad, tmp_path / "bad.png")
    assert any("boom" in line for line in console) and any("notDefined" in line for line in console)


def test_report_html_renders_offline_without_console_errors(tmp_path: Path) -> None:
    result = simulate(
        tiny(faults={"outage": [{"node": "000.00.51.H58", "start_hour": 9, "hours": 3}]}), fidelity="model"
    )
    _, page = write_reports(result, tmp_path)
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text)  # nothing to fetch
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "sim-report.png"
    dom, console = open_page(page, screenshot)
    assert console == []
    charts = re.search(r'data-charts="(\d+)"', dom)
    drawn = re.search(r'data-charts-drawn="(\d+)"', dom)
    assert charts and drawn and charts.group(1) == drawn.group(1) == "5"
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
