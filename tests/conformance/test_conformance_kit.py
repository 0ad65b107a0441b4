"""The conformance kit against a real ``docflow serve`` (every required case passes, exit 0, JUnit and JSON
reports) and against deliberately broken partners (tests/conformance/fake_partners.py): each is caught by the
case named here, and the command exits 1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))  # the axis tests' process helpers

from axis_processes import G22, H58, Served, free_port, start_server, stop
from fake_partners import start_fake

from docflow.axis.credentials import secret_for
from docflow.cli.main import main
from docflow.conformance.cases import Partner, run_cases
from docflow.conformance.report import conforms

#: broken partner -> the cases that must catch it
CAUGHT_BY = {
    "accepts-invalid": {"invalid-package-refused", "hostile-package-refused"},
    "lists-resend-twice": {"resend-not-duplicated"},
    "reports-unreached-statuses": {"sent-list-true"},
    "ignores-hmac": {"hmac-refused"},
    "other-key-names": {"answer-shape"},
    "omits-docid-on-fail": {"invalid-package-refused", "hostile-package-refused"},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("conformance")
    server = start_server(folder, port=free_port())
    server.credentials = folder / "axis-credentials.toml"  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        stop(server.process)


def test_docflow_serve_passes_every_case_and_the_command_exits_0(served: Served, tmp_path: Path, capsys) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "report.xml"
    argv = ["conformance", served.url, "--system", "engine", "--secret-file", str(served.credentials),  # type: ignore[attr-defined]
            "--as", H58, "--to", G22, "--json", str(report), "--junit", str(junit)]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["case", "verdict", "reason"] and "FAIL" not in out
    payload = json.loads(report.read_text(encoding="utf-8"))
    assert payload["conforms"] is True and len(payload["cases"]) == 9
    assert b'failures="0"' in junit.read_bytes() and junit.read_bytes().count(b"<testcase") == 9


@pytest.mark.parametrize("mode", sorted(CAUGHT_BY))
def test_a_broken_partner_is_caught(served: Served, mode: str) -> None:
    secret = secret_for("engine", str(served.credentials))  # type: ignore[attr-defined]
    fake = start_fake(mode, served.url, free_port())
    try:
        verdicts = run_cases(Partner(fake.url, "engine", secret, H58, G22))
    finally:
        fake.stop()
    failed = {v.case for v in verdicts if not v.passed}
    assert CAUGHT_BY[mode] <= failed, [(v.case, v.passed, v.reason) for v in verdicts]
    assert not conforms(verdicts)


def test_the_pytest_plugin_runs_the_cases_as_test_items(served: Served, tmp_path: Path) -> None:
    """``pytest --docflow-partner URL …`` in a vendor's empty project: nine items, all passing against docflow
    serve; against a broken partner the catching case fails and pytest exits 1."""
    credentials = str(served.credentials)  # type: ignore[attr-defined]
    common = ["--docflow-system", "engine", "--docflow-secret-file", credentials, "--docflow-as", H58,
              "--docflow-to", G22, "-p", "no:randomly", "-p", "no:cacheprovider", "-q", "-rA"]  # fmt: skip

    def pytest_run(url: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "--docflow-partner", url, *common]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    good = pytest_run(served.url)
    assert good.returncode == 0, good.stdout + good.stderr
    passed = [line for line in good.stdout.splitlines() if line.startswith("PASSED")]
    assert "9 passed" in good.stdout and passed[-1].endswith("docflow-conformance::sent-list-true")
    fake = start_fake("lists-resend-twice", served.url, free_port())
    try:
        bad = pytest_run(fake.url)
    finally:
        fake.stop()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    failed = [line for line in bad.stdout.splitlines() if line.startswith("FAILED")]
    assert failed and any("docflow-conformance::resend-not-duplicated" in line for line in failed), bad.stdout
    assert "is listed 2 times" in bad.stdout  # the case's reason, in the failure report
