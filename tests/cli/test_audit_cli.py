"""``docflow audit verify`` with the key directory and the state check, through ``main(argv)``."""

from __future__ import annotations

import shutil

from sqlalchemy import insert
from store_backends import T0

from docflow.cli.main import main
from docflow.store import Event, open_store
from docflow.store.tables import deliveries

NODE = "000.00.00.H53"
OTHER = "000.00.01.H53"
DOC = "000.00.00.H53,2024/05/06,12/UBND-VP"


def make_db(tmp_path):
    db = str(tmp_path / "audit.db")
    with open_store(db) as store, store.unit_of_work() as repo:
        repo.events.append([Event(NODE, T0, "sent", DOC, OTHER, "", {"business": 0})])
        row = {"node": NODE, "document_id": DOC, "recipient": OTHER, "state": "sent", "updated_at": T0}
        repo.conn.execute(insert(deliveries), row)
    return db


def test_verify_reads_the_keys_from_the_directory_it_is_given(tmp_path, audit_keys, capsys):
    db = make_db(tmp_path)
    copy = tmp_path / "backup-of-keys"
    shutil.copytree(audit_keys, copy)
    assert main(["audit", "verify", "--db", db, "--key-dir", str(copy)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 1 events in 1 chains verified"
    assert main(["audit", "verify", "--db", db, "--key-dir", str(tmp_path / "wrong")]) == 1
    out = capsys.readouterr().out
    assert "no audit key for this node" in out and str(tmp_path / "wrong") in out


def test_an_edited_state_fails_verify_unless_states_are_left_out(tmp_path, capsys):
    db = make_db(tmp_path)
    with open_store(db) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE deliveries SET state = 'completed'")
    assert main(["audit", "verify", "--db", db]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"broken: deliveries id 1 (node {NODE}):") and "'completed'" in out
    assert main(["audit", "verify", "--db", db, "--no-states"]) == 0
