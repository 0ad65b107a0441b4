"""``docflow simulate`` on the command line: the store kept for ``docflow trace``, outputs checked before the run,
progress without a terminal, the scenario schema, durations printed for people."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from docflow.cli.main import main

SCENARIO = (
    '[scenario]\nname = "cli"\nseed = 3\nduration_hours = 10\ndrain_hours = 10\n'
    "[deadlines]\ndirective = 4\n"
    '[[traffic]]\nkind = "directive"\nfrom = "province"\nto = "district"\nrate_per_hour = 0.3\n'
)


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "cli.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_the_kept_store_traces_a_delivery_as_a_timeline(tmp_path: Path, scenario: Path, capsys) -> None:
    db = tmp_path / "run.db"
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "out"), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"store kept in {db}" in out
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    slowest = report["slowest"][0]
    document, recipient = slowest["document_id"], slowest["recipient"]

    assert main(["trace", document, "--db", str(db), "--recipient", recipient]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"{re.escape(document)} to {re.escape(recipient)}: (\d+) steps over .+", lines[0])
    assert lines[1].split()[:2] == ["virtual", "time"]
    steps = lines[2:]
    assert len(steps) == int(lines[0].split(": ")[1].split()[0])
    assert steps[0].endswith(f"sent to {recipient}") and "—" in steps[0]
    assert any(f"{recipient}   arrived 01" in line for line in steps)
    assert steps[-1].endswith(f"status 06 (Đã hoàn thành) from {recipient}: delivery processing → completed")
    # every line: a virtual timestamp, the time since the previous step and since the first
    for line in steps[1:]:
        assert re.match(r"2017-10-02 \d\d:\d\d:\d\d +\+[\d.]+ (s|min|h|d)", line), line
    others = [line for line in steps if "000.00." in line and recipient not in line and "000.00.00.H58" not in line]
    assert others == []  # the other districts' steps are filtered out

    assert main(["trace", document, "--db", str(db), "--recipient", "000.00.20.H58"]) == 1
    assert "no recorded step" in capsys.readouterr().out


def test_db_needs_the_full_fidelity_and_a_new_file(tmp_path: Path, scenario: Path, capsys) -> None:
    out = str(tmp_path / "out")
    assert main(["simulate", str(scenario), "--out", out, "--db", str(tmp_path / "m.db"), "--fidelity", "model"]) == 1
    assert "--fidelity full" in capsys.readouterr().err
    used = tmp_path / "used.db"
    used.write_bytes(b"")
    assert main(["simulate", str(scenario), "--out", out, "--db", f"sqlite:///{used}"]) == 1
    assert "the file exists" in capsys.readouterr().err
    assert main(["simulate", str(scenario), "--out", out, "--db", "notaurl"]) == 2
    assert not (tmp_path / "out").exists()


def test_an_out_that_cannot_be_a_folder_is_refused_before_the_run(tmp_path: Path, scenario: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["simulate", str(scenario), "--out", str(blocker / "out")]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"docflow simulate: error: cannot write the report into {blocker / 'out'}: ")
    assert captured.err.count("\n") == 1
    assert "virtual" not in captured.err and captured.out == ""  # refused before any simulated hour


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path, scenario: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("docflow.cli.simulate.PLAIN_PROGRESS_EVERY", 0.0)
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "o"), "--fidelity", "model"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) >= 3
    line = r"cli: [\d.]+ of 20\.0 h virtual \(\d+ %\), \d+ documents sent, \d+ s elapsed"
    assert all(re.fullmatch(line, e) for e in err), err
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "o"), "--fidelity", "model", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_the_summary_prints_durations_for_people(tmp_path: Path, scenario: Path, capsys) -> None:
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "completion province→district" in line)
    assert re.search(r"\d+ h \d\d min|\d+ min", row) and not re.search(r"\d{4,}", row)


def test_schema_prints_the_json_schema(capsys) -> None:
    from docflow.sim.scenario_file import json_schema

    assert main(["simulate", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()
    assert main(["simulate"]) == 1
    assert "a scenario file is needed" in capsys.readouterr().err
