"""``docflow db upgrade|current`` and ``docflow audit verify`` through the testable ``main(argv)``."""

from __future__ import annotations

from store_backends import T0, make_schema

from docflow.cli.main import main
from docflow.store import Event, head_revision, open_store

NODE = "000.00.00.H53"
HEAD = head_revision()


def test_upgrade_creates_the_schema_then_is_a_no_op(tmp_path, capsys):
    db = tmp_path / "node.db"
    assert main(["db", "upgrade", "--db", f"sqlite:///{db}"]) == 0
    assert f"at revision {HEAD} (head)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", str(db)]) == 0
    assert main(["db", "current", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{HEAD} (head)"


def test_current_of_a_missing_file_says_so_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "absent.db"
    assert main(["db", "current", "--db", str(db)]) == 1
    assert "none (no database file" in capsys.readouterr().out
    assert not db.exists()


def test_current_of_an_unmigrated_database_names_the_head(tmp_path, capsys):
    db = tmp_path / "empty.db"
    with open_store(str(db), create=False) as store, store.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")  # the file now exists, without tables
    assert main(["db", "current", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == f"none (head is {HEAD})"


def test_the_database_defaults_to_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCFLOW_DB", str(tmp_path / "env.db"))
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.db").exists()


def test_audit_verify_passes_then_names_the_tampered_event(tmp_path, capsys):
    db = str(tmp_path / "audit.db")
    with open_store(db) as store:
        with store.unit_of_work() as repo:
            repo.events.append(Event(NODE, T0, "sent", "D", detail={"i": i}) for i in range(4))
        assert main(["audit", "verify", "--db", db]) == 0
        assert capsys.readouterr().out.strip() == "ok: 4 events in 1 chains verified"
        with store.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
            bad = conn.exec_driver_sql("SELECT id FROM events WHERE seq = 3").scalar()
            conn.exec_driver_sql(f"UPDATE events SET kind = 'received' WHERE id = {bad}")
    assert main(["audit", "verify", "--db", db, "--node", NODE]) == 1
    out = capsys.readouterr().out
    assert f"broken: event id {bad} (node {NODE})" in out and "hash does not match" in out


def test_audit_verify_of_a_missing_database_is_an_error(tmp_path, capsys):
    assert main(["audit", "verify", "--db", str(tmp_path / "none.db")]) == 1
    assert "no database file" in capsys.readouterr().err


def test_db_commands_on_postgresql(postgres_url, capsys):
    for url in make_schema(postgres_url):
        assert main(["db", "current", "--db", url]) == 0
        assert capsys.readouterr().out.strip() == f"none (head is {HEAD})"
        assert main(["db", "upgrade", "--db", url]) == 0
        assert main(["db", "current", "--db", url]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == f"{HEAD} (head)"
        assert main(["audit", "verify", "--db", url]) == 0


def test_a_bare_word_is_not_taken_for_a_new_sqlite_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (["db", "upgrade"], ["trace", "x"], ["audit", "verify"]):
        argv = [*command, "--db", "notaurl"]
        assert main(argv) == 2
        assert "'notaurl' is neither a database URL nor a SQLite file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_reached_is_one_line_without_the_driver_link(capsys):
    # port 9 on loopback: nothing listens there, the connection is refused at once
    assert main(["db", "upgrade", "--db", "postgresql://docflow@127.0.0.1:9/nothing"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("docflow db: error: ")
    assert "Connection refused" in err and "Background on this error" not in err and "sqlalche.me" not in err
    assert "OperationalError" not in err


def test_one_line_keeps_plain_messages_as_they_are():
    from docflow.cli.main import one_line

    plain = "scenario x.toml: scenario.seed must be an integer, not 1.5"
    assert one_line(plain) == plain
    assert one_line("(psycopg.OperationalError) refused\n\tIs it up?\n(Background on this error at: https://x/e)") == (
        "refused Is it up?"
    )
