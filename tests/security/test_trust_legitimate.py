"""Signing and authorisation refuse nothing legitimate: the engine's shared scenario (a directive to a district
and its communes, clerks' answers and a rejection, a report to the Government Office), a recall agreed and an
update, and a hop's 02 for its recipient, all end exactly as on a network without them; and the rate limit's
token bucket on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_fixtures import DISTRICT, GOVERNMENT_OFFICE, PROVINCE, Outcome, make_network, scenario
from hostile_kit import COMMUNE, OTHER_COMMUNE

from docflow.axis.ratelimit import RateLimit
from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.domain.envelope import BusinessDocType
from docflow.domain.status import StatusCode
from docflow.keys import KeyStore
from docflow.services import Network, Settings
from docflow.services.outgoing import status_row
from docflow.services.trust import Authorisation
from docflow.services.work import unit


@pytest.fixture(scope="module")
def all_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    keys = KeyStore(tmp_path_factory.mktemp("all-keys"))
    net = make_network("sqlite://")
    communes = [str(c) for c in net.ctx.registry.communes_of(DISTRICT)]
    for organ in (PROVINCE, DISTRICT, GOVERNMENT_OFFICE, *communes):
        keys.generate(organ)
    return keys


def trusted(tmp_path: Path, keys: KeyStore, clock: ManualClock) -> Network:
    settings = Settings(authorisation=Authorisation())
    return build_network(db=f"sqlite:///{tmp_path / 'trusted.db'}", clock=clock, settings=settings, keys=keys)


def test_the_shared_scenario_ends_as_without_signatures_or_authorisation(tmp_path: Path, all_keys: KeyStore) -> None:
    clock = ManualClock()
    plain = make_network(f"sqlite:///{tmp_path / 'plain.db'}", clock=clock)
    ids, _ = scenario(plain, clock)
    clean = Outcome.of(plain, ids)
    clock2 = ManualClock()
    net = trusted(tmp_path, all_keys, clock2)
    ids2, activity = scenario(net, clock2)
    assert activity.intake.quarantined == 0 and net.quarantine() == []
    assert Outcome.of(net, ids2).states == clean.states


def test_a_recall_and_an_update_by_the_sender_pass(tmp_path: Path, all_keys: KeyStore) -> None:
    net = trusted(tmp_path, all_keys, ManualClock())
    sender, office = net.node(COMMUNE), net.node(GOVERNMENT_OFFICE)
    first = sender.send(recipients=[GOVERNMENT_OFFICE], subject="Báo cáo", code="1/BC-UBND")
    second = sender.send(recipients=[GOVERNMENT_OFFICE], subject="Báo cáo", code="2/BC-UBND")
    net.run_until_idle()
    sender.recall(first, "Gửi nhầm")
    net.run_until_idle()
    office.agree(first)
    sender.update(second, sender.draft([GOVERNMENT_OFFICE], subject="Báo cáo (sửa)", code="3/BC-UBND"), "Sửa số liệu")
    net.run_until_idle()
    assert net.quarantine() == []
    assert {a.state for a in sender.amendments(first)} == {"agreed"}
    assert {(a.business_type, a.state) for a in office.amendments(second)} == {
        (int(BusinessDocType.UPDATE), "requested")
    }


def test_a_hop_that_gives_up_reports_for_its_recipient(tmp_path: Path, all_keys: KeyStore) -> None:
    """A 02 from a relay on the delivery's route, regarding the recipient, is applied (not refused)."""
    net = trusted(tmp_path, all_keys, ManualClock())
    document_id = net.node(COMMUNE).send(recipients=[OTHER_COMMUNE], subject="Giấy mời", code="4/GM-UBND")
    net.run_until_idle()

    ctx = net.ctx
    with unit(ctx) as work:  # the district refuses on the recipient's behalf, as a hop that gave up does
        refusal = status_row(ctx, DISTRICT, about=document_id, original_sender=COMMUNE, to=COMMUNE,
                             code=StatusCode.REJECTED, now=work.now, regarding=OTHER_COMMUNE)  # fmt: skip
        work.at(DISTRICT).enqueue([refusal])
    net.run_until_idle()
    assert net.quarantine() == []
    assert {d.state for d in net.node(COMMUNE).deliveries(document_id)} == {"rejected"}


def test_the_rate_limit_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    limit = RateLimit(2.0, 3, clock=lambda: now[0])
    assert [limit.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("a") == pytest.approx(0.5)  # one token takes half a second at 2 calls per second
    assert limit.take("b") == 0.0  # each system has its own bucket
    now[0] += 0.5
    assert limit.take("a") == 0.0 and limit.take("a") > 0
    now[0] += 60
    assert [limit.take("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refilled to the burst, never beyond
    with pytest.raises(ValueError, match="positive"):
        RateLimit(0, 1)
