"""The figures of a set of dossiers, as a report gives them: counts by outcome, timeliness and the on-time share,
overall, by the tier of the receiving desk and by online level.

One copy per dossier is counted (the receiving desk's, or the newest).  ``submitted`` counts every dossier
filed; ``received`` those a desk took in; ``refused``, ``withdrawn``, ``returned`` and ``open`` their states
(open: still with the agencies, results awaiting collection included); ``early`` / ``on_time`` / ``late``
the timeliness of those processed (``dossier_flow.timeliness``); ``overdue_open`` those open with a running
clock past ``NgayHenTra`` at ``now``; ``apologies`` the apology letters sent; ``on_time_share`` (early +
on time) / processed, ``None`` when none was processed.  The simulator's model fidelity imports these
formulas instead of copying them.

Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from docflow.domain.dossier import Dossier, DossierState
from docflow.domain.dossier_flow import is_overdue, timeliness
from docflow.domain.worktime import Timeliness

FIGURES = (
    "submitted", "received", "refused", "withdrawn", "returned", "open", "early", "on_time", "late", "overdue_open",
    "apologies", "on_time_share",
)  # fmt: skip
TIERS = ("commune", "district", "province")
LEVELS = ("2", "3", "4")


def desk_tier(d: Dossier) -> str:
    """The tier of the desk that received ``d`` (commune, district or province), from its code."""
    return d.desk.tier.label


class Tally:
    """Running counts of the figures."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = dict.fromkeys(FIGURES[:-1], 0)

    def add(self, d: Dossier, now: datetime) -> None:
        c = self.counts
        c["submitted"] += 1
        c["received"] += d.received_at is not None
        c["refused"] += d.state is DossierState.REFUSED
        c["withdrawn"] += d.state is DossierState.WITHDRAWN
        c["returned"] += d.state is DossierState.RETURNED
        c["open"] += d.is_open
        outcome = timeliness(d)
        if outcome is not None:
            c[outcome.value] += 1
        c["overdue_open"] += is_overdue(d, now)
        c["apologies"] += len(d.apologies)

    def figures(self) -> dict[str, Any]:
        c = self.counts
        processed = c[Timeliness.EARLY.value] + c[Timeliness.ON_TIME.value] + c[Timeliness.LATE.value]
        share = (c["early"] + c["on_time"]) / processed if processed else None
        return {**c, "on_time_share": share}


def dossier_figures(
    dossiers: Iterable[Dossier], now: datetime, *, tier: Callable[[Dossier], str] = desk_tier
) -> dict[str, Any]:
    """The figures overall, then under ``by_tier`` (commune, district, province) and ``by_level`` ("2"–"4")."""
    total, by_tier, by_level = Tally(), {t: Tally() for t in TIERS}, {lv: Tally() for lv in LEVELS}
    for d in dossiers:
        total.add(d, now)
        by_tier[tier(d)].add(d, now)
        by_level[str(d.level)].add(d, now)
    return {
        **total.figures(),
        "by_tier": {name: t.figures() for name, t in by_tier.items()},
        "by_level": {name: t.figures() for name, t in by_level.items()},
    }
