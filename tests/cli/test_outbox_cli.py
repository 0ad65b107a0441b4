"""``docflow outbox list|retry|purge``: an operator sees given-up work, queues it again, or drops it."""

from __future__ import annotations

from pathlib import Path

from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.domain.clock import ManualClock
from docflow.errors import TransportError
from docflow.services import Settings
from docflow.transports.base import Message
from docflow.transports.memory import MemoryBroker, MemoryTransport

PROVINCE, DISTRICT, COMMUNE = "000.00.00.H58", "000.00.50.H58", "000.20.50.H58"


class Refusing(MemoryTransport):
    def send(self, message: Message) -> None:
        raise TransportError(f"queue of {message.recipient} refuses the message (injected)")


def given_up(tmp_path: Path, count: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    clock = ManualClock()
    settings = Settings(retry_budget=1, give_up_after=0.0)
    net = build_network(db=url, transport=Refusing(MemoryBroker(clock=clock.time)), clock=clock, settings=settings)
    ids = [
        net.node(PROVINCE).send(recipients=[COMMUNE], subject="Thông báo", code=f"{n}/TB-UBND")
        for n in range(1, count + 1)
    ]
    assert net.run_until_idle().dead == count
    net.ctx.store.close()
    return url, ids


def test_list_retry_and_purge_given_up_work(tmp_path: Path, capsys) -> None:
    url, ids = given_up(tmp_path, 3)
    assert main(["outbox", "list", "--db", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 given-up message(s)"
    assert all(
        PROVINCE in line and f"to {DISTRICT} for {COMMUNE}" in line and "(1 attempts)" in line for line in out[:-1]
    )
    assert main(["outbox", "list", "--db", url, "--document", ids[0]]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 given-up message(s)"

    assert main(["outbox", "retry", "--db", url, "--document", ids[0]]) == 0
    assert capsys.readouterr().out.strip() == "1 message(s) queued again"
    assert main(["outbox", "purge", "--db", url, "--node", PROVINCE]) == 0
    assert capsys.readouterr().out.strip() == "2 message(s) purged"
    assert main(["outbox", "list", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == "0 given-up message(s)"

    net = build_network(db=url, clock=ManualClock())  # the revived one goes out over a working transport
    net.run_until_idle()
    states = {i: [d.state for d in net.node(PROVINCE).deliveries(i)] for i in ids}
    assert states == {ids[0]: ["arrived"], ids[1]: ["dead"], ids[2]: ["dead"]}
    net.ctx.store.close()


def test_outbox_on_a_missing_database_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["outbox", "list", "--db", f"sqlite:///{tmp_path / 'missing.db'}"]) == 1
    assert "no database file" in capsys.readouterr().err
