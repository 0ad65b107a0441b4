"""Trust benchmark: a signed hop against the unsigned hop through the same engine.

``signed_hop``: a district takes a batch of 40 reports (~2 KB, ~4.5 KB signed) off its queue and applies them in one
unit of work (``docflow.services.drain``: claim → apply → ack), each answered with a 01.  The subject's network
has signing on (``build_network(keys=…)``): the commune signed each report on send (untimed) and the district,
the final recipient, verifies it (RSA-SHA256, exclusive C14N) and applies the envelope read from the signed
content, with ``Settings.authorisation`` checking the transport sender.  The floor is the same batch on a
network without keys or authorisation.  Batches are prepared untimed; figures are per message, ratio signed /
unsigned (reported; the sign and verify steps themselves are held to 1.2 × raw signxml in bench_sign).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness import Figure, Timing, measure_fresh, measured

from docflow.bootstrap import build_network
from docflow.domain.clock import ManualClock
from docflow.keys import KeyStore
from docflow.services import Network, Settings
from docflow.services.drain import claim, drain
from docflow.services.relay import dispatch
from docflow.services.trust import Authorisation

MESSAGES = 40
COMMUNE = "000.20.50.H58"
DISTRICT = "000.00.50.H58"
CONTENT = "Báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội tháng 11 của phường. " * 30


def _batch(net: Network, serial: itertools.count[int], size: list[int]) -> Callable[[], Callable[[], object]]:
    node = net.node(COMMUNE)

    def prepare() -> Callable[[], object]:
        for _ in range(MESSAGES):
            number = next(serial)
            node.send(recipients=[DISTRICT], subject=f"Báo cáo số {number}", code=f"{number}/BC-UBND",
                      content=CONTENT[:480])  # fmt: skip
        ctx = net.ctx
        rows = ctx.handoff.take()
        size.append(len(rows[0].body))
        sent, failed = dispatch(ctx, COMMUNE, rows)
        if failed or len(sent) != MESSAGES:
            raise AssertionError(f"expected {MESSAGES} messages on the wire, sent {len(sent)}, failed {len(failed)}")

        def job() -> object:
            intake, _ = drain(ctx, claim(ctx, [DISTRICT]))
            if intake.applied != MESSAGES:
                reasons = {entry.reason[:200] for entry in net.quarantine(DISTRICT)}
                raise AssertionError(f"expected {MESSAGES} applied at {DISTRICT}, got {intake}: {reasons}")
            return intake

        return job

    return prepare


@measured("signed_hop", target=3.0)  # reported: a bound against regressions (RSA verify per document)
def signed_hop(timing: Timing) -> Figure:
    """per message: a signed report verified and applied at its recipient vs the same report unsigned."""
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-trust-"))
    keys = KeyStore(folder / "keys")
    for organ in (COMMUNE, DISTRICT):
        keys.generate(organ)
    signed = build_network(db=f"sqlite:///{folder / 'signed.db'}", clock=ManualClock(), keys=keys,
                           settings=Settings(authorisation=Authorisation()))  # fmt: skip
    plain = build_network(db=f"sqlite:///{folder / 'plain.db'}", clock=ManualClock())
    serial = itertools.count(1)
    signed_size: list[int] = []
    plain_size: list[int] = []
    try:
        signed_us, plain_us = measure_fresh(
            _batch(signed, serial, signed_size), _batch(plain, serial, plain_size), max(3, timing.repeats // 3)
        )
    finally:
        signed.ctx.store.close()
        plain.ctx.store.close()
    note = f"{MESSAGES} a batch, RSA-2048; signed document {signed_size[0]} B, unsigned {plain_size[0]} B"
    return Figure(signed_us / MESSAGES, plain_us / MESSAGES, note=note)
