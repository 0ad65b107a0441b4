"""The operator console in a real browser: ``docflow serve --operators`` as its own process on 127.0.0.1,
driven by Selenium with Debian's Chromium and chromedriver.  An operator logs in, retries the given-up
message and purges the quarantined entry; the store changes and both actions are in the audit log.
Screenshots of every page go to ``test-artifacts/console/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axis_processes import Served, start_server, stop
from console_data import OPERATOR, PASSWORD, operators_file, seed

from docflow.domain.clock import ManualClock

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMEDRIVER.exists(), reason="/usr/bin/chromedriver is absent (apt-get install chromium-driver)"
    ),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, str, object]]:
    # Recorded 30 hours ago, so the given-up delivery is overdue by the server's default of 24 hours.
    seeded = seed(f"sqlite:///{tmp_path / 'console.db'}", ManualClock(datetime.now() - timedelta(hours=30)))
    operators_file(tmp_path / "operators.toml")
    server = start_server(tmp_path, "--operators", str(tmp_path / "operators.toml"), name="console")
    try:
        address = urlsplit(server.url)
        yield server, f"{address.scheme}://{address.netloc}/console", seeded
    finally:
        stop(server.process)
    assert server.process.returncode == 0, (tmp_path / "console.log").read_text()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)  # fmt: skip
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 40, 2400)))
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(1280, 900)


def wait_for(driver, css: str):
    """The element ``css`` once the page a click asked for has loaded (a click does not wait for it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def count(server: Served, query: str) -> int:
    return int(server.rows(query)[0][0])


def test_an_operator_logs_in_retries_a_dead_letter_and_purges_a_quarantined_entry(served, browser) -> None:
    from selenium.webdriver.common.by import By

    server, console, seeded = served
    driver = browser
    assert count(server, "select count(*) from outbox where dead_at is not null") == 1
    assert count(server, "select count(*) from quarantine") == 1

    driver.get(console + "/dead")
    assert urlsplit(driver.current_url).path == "/console/login"
    driver.find_element(By.ID, "name").send_keys(OPERATOR)
    driver.find_element(By.ID, "password").send_keys("wrong")
    driver.find_element(By.ID, "login").click()
    assert "Wrong name or password." in wait_for(driver, "[role=alert]").text
    shot(driver, "01-login-refused")
    driver.find_element(By.ID, "name").send_keys(OPERATOR)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    wait_for(driver, "header form[action$='/logout']")
    assert urlsplit(driver.current_url).path == "/console/dead"  # back where the operator was going

    driver.get(console + "/")
    assert "000.00.00.H58" in driver.page_source and "000.20.50.H58" in driver.page_source
    shot(driver, "02-queues")
    driver.get(console + "/overdue")
    assert seeded.dead_document in driver.page_source
    shot(driver, "03-overdue")
    driver.get(console + "/quarantine")
    assert "&lt;script&gt;" in driver.page_source  # the reason is shown as text, never run
    shot(driver, "04-quarantine")
    driver.get(f"{console}/quarantine/{seeded.quarantine_id}")
    assert "Báo cáo tình hình" in driver.find_element(By.CSS_SELECTOR, "pre.bytes").text
    shot(driver, "05-quarantine-entry")

    driver.get(console + "/dead")
    shot(driver, "06-dead-letters")
    driver.find_element(By.CSS_SELECTOR, "#dead-1 form[action$='/dead/retry'] button").click()
    assert "1 given-up message(s) queued again." in wait_for(driver, ".flash").text
    shot(driver, "07-dead-letter-retried")
    assert count(server, "select count(*) from outbox where dead_at is not null") == 0

    driver.get(console + "/quarantine")
    driver.find_element(By.CSS_SELECTOR, f"#entry-{seeded.quarantine_id} form[action$='/purge'] button").click()
    button = wait_for(driver, "#confirm")  # a purge asks again before deleting for good
    assert f"Purge quarantined entry {seeded.quarantine_id}?" in driver.find_element(By.TAG_NAME, "h1").text
    shot(driver, "08-purge-confirm")
    button.click()
    assert f"Entry {seeded.quarantine_id} purged." in wait_for(driver, ".flash").text
    shot(driver, "09-quarantine-purged")
    assert count(server, "select count(*) from quarantine") == 0

    driver.get(console + "/trace")
    driver.find_element(By.NAME, "doc").send_keys(seeded.dead_document)
    driver.find_element(By.CSS_SELECTOR, "form[action$='/trace'] button").click()
    timeline = wait_for(driver, "ol.timeline").text
    assert "sent to 000.20.50.H58" in timeline and f"operator {OPERATOR} retry" in timeline
    shot(driver, "10-journey")

    driver.get(console + "/audit")
    assert "Intact" in driver.page_source
    shot(driver, "11-audit")
    actions = server.rows("select node, detail from events where kind = 'operator-acted' order by id")
    assert [(node, '"action":"retry"' in d or '"action":"purge"' in d) for node, d in actions] == [
        ("000.00.00.H58", True),
        ("000.20.50.H58", True),
    ]
