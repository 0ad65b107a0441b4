"""report.html opens offline in headless Chromium: every chart drawn, nothing on the console.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped when it is not installed.  Chromium runs
with every host name unresolvable, so a page that needed the network would fail.  Screenshots of the three
example reports are kept under ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sim_scenarios import tiny

from docflow.sim import load_scenario, simulate, write_reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless chromium is not installed")


def open_page(page: Path, screenshot: Path, height: int = 2600) -> tuple[str, list[str]]:
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
            f"--window-size=1100,{height}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: any fetch would fail
            "--virtual-time-budget=15000",  # let the charts' promises settle before the DOM is dumped
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


def check_page(page: Path, screenshot: Path, height: int = 2600) -> str:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", text)  # every script inline
    markup = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    assert not re.search(r"<(?:link|img|iframe)\b", markup) and "@import" not in markup and "url(" not in markup
    dom, console = open_page(page, screenshot, height)
    assert console == []
    charts = re.search(r'data-charts="(\d+)"', dom)
    drawn = re.search(r'data-charts-drawn="(\d+)"', dom)
    assert charts and drawn and charts.group(1) == drawn.group(1), (charts, drawn)
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    return dom


def test_report_html_renders_offline_without_console_errors(tmp_path: Path) -> None:
    result = simulate(
        tiny(faults={"outage": [{"node": "000.00.51.H58", "start_hour": 9, "hours": 3}]}), fidelity="model"
    )
    _, page = write_reports(result, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    dom = check_page(page, ARTIFACTS / "sim-report.png")
    assert 'data-charts="5"' in dom
    assert "Huyện" in dom or "offline" in dom  # the outage is described in words


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tien_giang_2017", "district_outage", "national_day"])
def test_example_reports_render(tmp_path: Path, name: str) -> None:
    result = simulate(load_scenario(ROOT / "examples" / f"{name}.toml"), fidelity="model")
    _, page = write_reports(result, tmp_path)
    assert page.stat().st_size < 1_500_000  # the inlined chart library is about 0.9 MB
    ARTIFACTS.mkdir(exist_ok=True)
    dom = check_page(page, ARTIFACTS / f"sim-report-{name}.png", height=6000)
    assert "Summary" in dom and "Deliveries by state when the run ended" in dom
    for tier in ("Central: Government Office", "Province: people", "District: people", "Commune: people"):
        assert tier in dom, tier
