"""``docflow db stats --db URL`` through the testable ``main(argv)``, on SQLite and PostgreSQL."""

from __future__ import annotations

from store_backends import make_schema

from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.domain.clock import ManualClock


def deliver(url: str, count: int) -> None:
    net = build_network(db=url, clock=ManualClock(), policy="direct")
    try:
        province = net.ctx.registry.provinces()[0]
        district = net.ctx.registry.districts_of(province)[0]
        for number in range(1, count + 1):
            net.node(province).send(recipients=[district], subject=f"Công văn {number}", code=f"{number}/UBND-VP")
        net.run_until_idle()
    finally:
        net.ctx.store.close()
        net.ctx.transport.close()


def table_lines(out: str) -> dict[str, list[str]]:
    """``name -> [rows, bytes, ...]`` for every table line and the total, parsed from the command's output."""
    lines = out.splitlines()
    assert lines[1].split() == ["table", "rows", "bytes"]
    return {fields[0]: fields[1:] for fields in (line.split() for line in lines[2:]) if fields[0] != "file"}


def test_stats_prints_every_table_and_a_total_that_adds_up(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'node.db'}"
    deliver(db, 5)
    assert main(["db", "stats", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{db}: bytes from sqlite dbstat (pages)"
    tables = table_lines(out)
    assert {"documents", "deliveries", "outbox", "inbox", "events", "total"} <= set(tables)
    assert int(tables["deliveries"][0]) == 5
    as_int = {name: (int(f[0].replace(",", "")), int(f[1].replace(",", ""))) for name, f in tables.items()}
    body = [v for name, v in as_int.items() if name != "total"]
    assert as_int["total"] == (sum(r for r, _ in body), sum(b for _, b in body))
    assert "file on disk (with WAL):" in out.splitlines()[-1]


def test_stats_of_a_missing_file_is_an_error_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "absent.db"
    assert main(["db", "stats", "--db", str(db)]) == 1
    assert f"no database file at {db}" in capsys.readouterr().err
    assert not db.exists()


def test_stats_on_postgresql(postgres_url, capsys):
    for url in make_schema(postgres_url):
        deliver(url, 3)
        assert main(["db", "stats", "--db", url]) == 0
        out = capsys.readouterr().out
        assert "bytes from postgresql pg_total_relation_size" in out.splitlines()[0]
        tables = table_lines(out)
        assert tables["deliveries"][0] == "3"
        assert int(tables["total"][1].replace(",", "")) > 0
