"""``docflow worker --keys DIR``: documents delivered at the worker's agencies must carry a signature that verifies
with their sender's certificate in DIR (an unsigned or forged one is quarantined and its sender told 02);
``--allow-unsigned`` lets unsigned ones in; a key directory that is not there stops the worker at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from docflow.bootstrap import build_network
from docflow.cli.main import main
from docflow.keys import KeyStore
from docflow.services import Network

PROVINCE, DISTRICT, COMMUNE = "000.00.00.H58", "000.00.50.H58", "000.20.50.H58"
SIDE = f"{PROVINCE},{DISTRICT},{COMMUNE}"


@pytest.fixture
def shared(tmp_path: Path):
    """The store and spool the worker shares with the sending agency's own network (returned with it)."""
    made: list[Network] = []

    def network(keys: KeyStore | None = None) -> Network:
        net = build_network(db=f"sqlite:///{tmp_path / 'shared.db'}", transport=f"file://{tmp_path / 'spool'}",
                            keys=keys)  # fmt: skip
        made.append(net)
        return net

    yield network
    for net in made:
        net.ctx.transport.close()
        net.ctx.store.close()


def worker(tmp_path: Path, *options: str) -> int:
    return main(["worker", "--db", f"sqlite:///{tmp_path / 'shared.db'}", "--transport", f"file://{tmp_path / 'spool'}",
                 "--agencies", SIDE, "--poll", "0", "--max-passes", "4", *options])  # fmt: skip


def states(net: Network, document_id: str) -> dict[str, str]:
    return {d.recipient: d.state for d in net.node(PROVINCE).deliveries(document_id)}


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys")
    store.generate(PROVINCE)
    return store


def test_a_signed_document_arrives_and_an_unsigned_one_is_refused_with_a_02(tmp_path, shared, keys, capsys):
    signed = shared(keys).node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn ký số", code="1/UBND-VP")
    unsigned = shared().node(PROVINCE).send(recipients=[COMMUNE], subject="Công văn không ký", code="2/UBND-VP")
    assert worker(tmp_path, "--keys", str(keys.directory)) == 0
    assert f"signatures checked against {keys.directory}" in capsys.readouterr().out
    net = shared()
    assert states(net, signed) == {COMMUNE: "arrived"}
    assert states(net, unsigned) == {COMMUNE: "rejected"}
    [entry] = net.quarantine(COMMUNE)
    assert "signature" in entry.reason and entry.source == PROVINCE
    assert [row.document_id for row in net.node(COMMUNE).inbox()] == [signed]


def test_a_document_signed_with_a_key_the_directory_does_not_vouch_for_is_refused(tmp_path, shared, keys):
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(PROVINCE)  # the province's code, another key: its certificate is not the one in keys
    forged = shared(impostor).node(PROVINCE).send(recipients=[COMMUNE], subject="Giả mạo", code="3/UBND-VP")
    assert worker(tmp_path, "--keys", str(keys.directory)) == 0
    net = shared()
    assert states(net, forged) == {COMMUNE: "rejected"}
    assert net.node(COMMUNE).inbox() == []


def test_allow_unsigned_lets_unsigned_documents_in_and_still_checks_signed_ones(tmp_path, shared, keys):
    unsigned = shared().node(PROVINCE).send(recipients=[COMMUNE], subject="Không ký", code="4/UBND-VP")
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(PROVINCE)
    forged = shared(impostor).node(PROVINCE).send(recipients=[COMMUNE], subject="Giả mạo", code="5/UBND-VP")
    assert worker(tmp_path, "--keys", str(keys.directory), "--allow-unsigned") == 0
    net = shared()
    assert states(net, unsigned) == {COMMUNE: "arrived"}
    assert states(net, forged) == {COMMUNE: "rejected"}


def test_without_keys_nothing_is_checked(tmp_path, shared, keys):
    unsigned = shared().node(PROVINCE).send(recipients=[COMMUNE], subject="Không ký", code="6/UBND-VP")
    assert worker(tmp_path) == 0
    assert states(shared(), unsigned) == {COMMUNE: "arrived"}


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--keys", "no-such-folder"], "key directory no-such-folder does not exist"),
        (["--allow-unsigned"], "--allow-unsigned needs --keys DIR"),
    ],
)
def test_a_missing_key_directory_or_a_lone_allow_unsigned_stops_the_worker(tmp_path, options, problem, capsys):
    assert worker(tmp_path, *options) == 1
    assert problem in capsys.readouterr().err
