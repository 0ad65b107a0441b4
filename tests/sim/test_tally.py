"""The report's figures are folded in as deliveries finish: in any order, and nothing finished is kept."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_scenarios import tiny

from docflow.sim.clerks import Backlog, ClerkPool
from docflow.sim.driver import load_registry
from docflow.sim.metrics import Tally, compute
from docflow.sim.outcome import DeliveryRecord, Outcome
from docflow.sim.traffic import dispatches

CODES = ("000.00.00.H58", "000.00.50.H58", "000.01.50.H58", "000.02.50.H58", "000.00.51.H58")
times = st.floats(0, 400_000, allow_nan=False)


@st.composite
def records(draw: Any) -> DeliveryRecord:
    sender, recipient = draw(st.sampled_from(CODES)), draw(st.sampled_from(CODES))
    sent = draw(times)
    arrived = draw(st.one_of(st.none(), times.map(lambda t: sent + t / 1000)))
    finished = draw(st.one_of(st.none(), times.map(lambda t: (arrived or sent) + t)))
    rejected = draw(st.booleans()) if arrived is not None and finished is not None else False
    return DeliveryRecord(
        f"{sender},2017/10/02,{draw(st.integers(1, 10**6))}/CT-UBND",
        sender,
        recipient,
        draw(st.sampled_from(("directive", "report"))),
        draw(st.sampled_from(("directive", "report"))),
        sent,
        arrived,
        None if rejected else finished,
        finished if rejected else None,
        "delivered" if arrived is not None else draw(st.sampled_from(("lost", "dead", "in_flight"))),
        draw(st.sampled_from(("completed", "rejected", "arrived", "sent"))),
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(records(), min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_the_figures_do_not_depend_on_the_order_the_deliveries_finish(
    batch: list[DeliveryRecord], rnd: random.Random
) -> None:
    scenario = tiny()
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    figures = []
    for order in (batch, shuffled, list(reversed(batch))):
        tally = Tally(scenario, scenario.end)
        for record in order:
            tally.add(record)
        figures.append((compute(scenario, Outcome(), tally, Backlog()), [r.document_id for r in tally.slowest()]))
    assert figures[0] == figures[1] == figures[2]
    assert figures[0][0]["deliveries"] == len(batch)


@pytest.mark.parametrize("fidelity", ["model", "full"])
def test_a_fabric_keeps_only_the_deliveries_that_can_still_change(fidelity: str) -> None:
    scenario = tiny()
    registry = load_registry(scenario)
    env = simpy.Environment()
    tally = Tally(scenario, scenario.end)
    if fidelity == "full":
        from docflow.sim.full import EngineFabric

        fabric: Any = EngineFabric(env, scenario, registry, scenario.seed, "sqlite://", tally)
    else:
        from docflow.sim.model import ModelFabric

        fabric = ModelFabric(env, scenario, registry, scenario.seed, tally)
    clerks = ClerkPool(env, scenario, registry, scenario.seed, fabric.act)
    fabric.on_arrival = clerks.arrived
    sent = [0]
    samples: list[tuple[int, int, int]] = []

    def traffic() -> Generator[Any, Any, None]:
        for dispatch in dispatches(scenario, registry, scenario.seed):
            yield env.timeout(max(dispatch.at - env.now, 0.0))
            fabric.send(dispatch)
            sent[0] += len(dispatch.recipients)

    def watch() -> Generator[Any, Any, None]:
        while True:
            samples.append((sent[0], fabric.open_deliveries, tally.total))
            yield env.timeout(1800)

    env.process(traffic())
    env.process(watch())
    try:
        env.run(until=scenario.end)
        assert fabric.open_deliveries == 0  # the drain day let every clerk finish: nothing is kept
        assert tally.total == sent[0] > 0 and tally.counts["delivered"] == sent[0]
        # at every moment, what was sent is either still open or already folded into the tally
        assert all(open_ + done == total for total, open_, done in samples)
        assert any(done > 0 and open_ > 0 for _, open_, done in samples)  # deliveries finished during the run
        fabric.collect()
        assert tally.total == sent[0]  # collecting added nothing: there was nothing left
    finally:
        fabric.close()
