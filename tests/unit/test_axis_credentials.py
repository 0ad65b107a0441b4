"""The credentials file: the exact TOML of the issue, clear refusals, a generated file never overwritten."""

from __future__ import annotations

import os
import stat

import pytest

from docflow.axis.credentials import SECRET_ENV, generate, load, parse, secret_for
from docflow.errors import ConfigError

EXAMPLE = """
[[system]]
id = "000.00.00.H41"            # the XroadVnpt-systemid
secret = "testsecret"
agencies = ["000.00.00.H41"]    # OrganIds it may send as and receive for; ["*"] for a hub relaying for any

[[system]]
id = "hub-h58"
secret = "s2"
agencies = ["*"]
"""


def test_the_example_of_the_issue_reads_as_written():
    creds = parse(EXAMPLE)
    nghe_an = creds.system("000.00.00.H41")
    assert nghe_an is not None and nghe_an.secret == "testsecret"
    assert nghe_an.owns("000.00.00.H41") and not nghe_an.owns("000.00.00.H58")
    hub = creds.system("hub-h58")
    assert hub is not None and hub.relays_for_any and hub.owns("000.21.50.H58")
    assert creds.secrets == {"000.00.00.H41": "testsecret", "hub-h58": "s2"}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("not = [toml", "not valid TOML"),
        ("", "at least one [[system]]"),
        ('[[system]]\nsecret = "s"\nagencies = ["*"]', "id must be"),
        ('[[system]]\nid = "a"\nagencies = ["*"]', "secret must be"),
        ('[[system]]\nid = "a"\nsecret = "s"\nagencies = []', "agencies must be"),
        ('[[system]]\nid = "a"\nsecret = "s"\nagencies = ["*"]\nrole = 1', "unknown keys ['role']"),
        (
            '[[system]]\nid = "a"\nsecret = "s"\nagencies = ["*"]\n'
            '[[system]]\nid = "a"\nsecret = "t"\nagencies = ["*"]',
            "listed twice",
        ),
    ],
)
def test_bad_files_are_refused_naming_the_problem(text, named):
    with pytest.raises(ConfigError) as caught:
        parse(text, source="creds.toml")
    assert named in str(caught.value)
    assert "creds.toml" in str(caught.value)


def test_generate_writes_a_private_file_that_reads_back_and_is_never_overwritten(tmp_path):
    path = tmp_path / "docflow-credentials.toml"
    made = generate(path, ["000.00.00.H58", "000.00.01.H58"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load(path)
    assert again.secrets == made.secrets
    assert len(set(made.secrets.values())) == 2
    assert all(len(secret) == 32 for secret in made.secrets.values())
    with pytest.raises(ConfigError, match="never overwritten"):
        generate(path, ["000.00.00.H58"])


def test_a_client_secret_comes_from_the_file_or_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert secret_for("000.00.00.H41", path) == "testsecret"
    with pytest.raises(ConfigError, match="no \\[\\[system\\]\\] with id"):
        secret_for("nobody", path)
    monkeypatch.setenv(SECRET_ENV, "from-env")
    assert secret_for("anyone", None) == "from-env"
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        secret_for("anyone", None)
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
