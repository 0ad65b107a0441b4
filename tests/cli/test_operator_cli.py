"""``docflow operator FILE NAME`` writes only a password hash; ``docflow serve --operators`` refuses a bad
operators file before it opens anything."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from docflow.cli.main import main
from docflow.console.operators import load


def test_an_operator_is_added_with_a_hash_and_can_log_in(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "operators.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO("mật khẩu\n"))
    assert main(["operator", str(path), "lan", "--password-stdin"]) == 0
    assert "lan can log in (1 operators" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("other\n"))
    assert main(["operator", str(path), "minh", "--password-stdin"]) == 0
    assert "mật khẩu" not in path.read_text(encoding="utf-8")
    operators = load(path)
    assert operators.check("lan", "mật khẩu") and operators.check("minh", "other")
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert main(["operator", str(path), "bad name", "--password-stdin"]) == 1
    assert "operator name 'bad name'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "no operators file"),
        ('[[operator]]\nname = "lan"\npassword = "plain"\n', "must be a scrypt hash"),
        ("operator = 3\n", "no [[operator]] entries"),
        ("[[operator\n", "cannot read the operators file"),
    ],
)
def test_serve_refuses_a_bad_operators_file(tmp_path: Path, monkeypatch, capsys, text, error) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "operators.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["serve", "--operators", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert error in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "docflow-credentials.toml").exists()
