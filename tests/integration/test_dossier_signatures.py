"""Signed dossiers through the engine: with a key store, each agency signs the hand-overs it makes and the agency
a dossier is handed to checks the signature against the certificate of the agency that handed it over, reading
the dossier from what was signed; an unsigned hand-over, or one signed with a key the store does not vouch for,
is quarantined at the receiving agency with the rule broken, and its copy there is left as it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from docflow.bootstrap import build_network
from docflow.domain import dossier_flow as flow
from docflow.domain.clock import ManualClock
from docflow.domain.dossier import Applicant
from docflow.domain.lifecycle import DossierState
from docflow.keys import KeyStore
from docflow.services import Network, serve_once
from docflow.store.dossiers import load_dossier

COMMUNE, DISTRICT, PROVINCE, DEPARTMENT = "000.20.50.H58", "000.00.50.H58", "000.00.00.H58", "000.00.10.H58"
LAND = "1.004227"  # commune desk → district → province department → commune desk
CLERK = flow.Clerk("Nguyễn Thị Lan", "Công chức một cửa", "Bộ phận một cửa")
T0 = datetime(2017, 10, 2, 8, 0)
SIGNATURE = b"http://www.w3.org/2000/09/xmldsig#"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys")
    for agency in (COMMUNE, DISTRICT, DEPARTMENT):
        store.generate(agency)
    return store


def stored_body(net: Network, node: str, code: str) -> bytes:
    with net.ctx.store.snapshot() as repo:
        stored = load_dossier(repo, node, code)
    assert stored is not None
    return stored.body


def test_a_signed_dossier_makes_its_whole_trip(tmp_path, keys):
    clock = ManualClock(T0)
    net = build_network(db=f"sqlite:///{tmp_path / 'signed.db'}", clock=clock, keys=keys)
    try:
        desk = net.node(COMMUNE).dossiers
        d = desk.receive(LAND, Applicant("Trần Văn Bình"), CLERK, number=1)
        desk.start(d.code, CLERK)
        for here in (COMMUNE, DISTRICT, DEPARTMENT):
            clock.advance(7200)
            net.node(here).dossiers.hand_over(d.code, CLERK)
            net.run_until_idle()
        desk.finish(d.code, CLERK)
        assert desk.return_result(d.code, CLERK).state is DossierState.RETURNED
        # each agency keeps the hand-over it was given as it came: signed by the agency that made it
        assert SIGNATURE in stored_body(net, DISTRICT, d.code)
        assert SIGNATURE in stored_body(net, DEPARTMENT, d.code)
        assert net.quarantine() == []
    finally:
        net.ctx.store.close()


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Callable[[KeyStore | None], Network]]:
    """Networks over one store and one file spool: the commune's engine and the district's, each with its keys."""
    made: list[Network] = []

    def network(store: KeyStore | None) -> Network:
        net = build_network(db=f"sqlite:///{tmp_path / 'shared.db'}", transport=f"file://{tmp_path / 'spool'}",
                            clock=ManualClock(T0), keys=store)  # fmt: skip
        made.append(net)
        return net

    yield network
    for net in made:
        net.ctx.transport.close()
        net.ctx.store.close()


def handed_over(commune: Network, number: int) -> str:
    desk = commune.node(COMMUNE).dossiers
    d = desk.receive(LAND, Applicant("Lê Thị Hoa"), CLERK, number=number)
    desk.start(d.code, CLERK)
    desk.hand_over(d.code, CLERK)
    assert serve_once(commune.ctx, COMMUNE).sent == 1
    return d.code


def test_an_unsigned_hand_over_is_quarantined_at_the_receiving_agency(shared, keys):
    code = handed_over(shared(None), 2)
    district = shared(keys)
    activity = serve_once(district.ctx, DISTRICT)
    assert (activity.intake.applied, activity.intake.quarantined) == (0, 1)
    [entry] = district.quarantine(DISTRICT)
    assert "signature" in entry.reason and entry.source == COMMUNE
    assert district.node(DISTRICT).dossiers.get(code) is None


def test_a_hand_over_signed_with_a_key_the_store_does_not_vouch_for_is_quarantined(shared, keys, tmp_path):
    impostor = KeyStore(tmp_path / "impostor")
    impostor.generate(COMMUNE)  # the commune's code, another key
    code = handed_over(shared(impostor), 3)
    district = shared(keys)
    assert serve_once(district.ctx, DISTRICT).intake.quarantined == 1
    [entry] = district.quarantine(DISTRICT)
    assert "does not verify with the certificate of " + COMMUNE in entry.reason
    assert district.node(DISTRICT).dossiers.get(code) is None


def test_a_hand_over_signed_with_the_right_key_arrives(shared, keys):
    code = handed_over(shared(keys), 4)
    district = shared(keys)
    assert serve_once(district.ctx, DISTRICT).intake.applied == 1
    held = district.node(DISTRICT).dossiers.get(code)
    assert held is not None and str(held.holder) == DISTRICT
    assert district.quarantine() == []
