"""Scenarios: TOML read with ``tomllib``, checked by the pydantic models of ``scenario_file``, turned into frozen
dataclasses; every mistake is a one-line ``ConfigError`` naming the file and the key.

The format is documented in ``docs/scenarios.md`` (JSON Schema: ``docs/scenario.schema.json``).
``load_scenario(path)`` reads a file, ``parse_scenario(data)`` a parsed mapping (``overrides`` are
``section.key=value`` strings applied first).
Must not import simpy, the engine (services, store, transports) or lxml.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind
from docflow.domain.routing import RoutingPolicy
from docflow.errors import ConfigError
from docflow.sim.calendar import DAY_NAMES, Calendar, parse_hours
from docflow.sim.scenario_file import ClerkTable, DistributionTable, DossiersTable, FaultsTable, TrafficTable, read

TRAFFIC_KINDS = ("directive", "report", "letter")
DISTRIBUTIONS = ("fixed", "exponential", "uniform", "lognormal")
CLERK_STEPS = ("accept", "assign", "start", "complete")


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration in minutes: ``fixed`` (mean), ``exponential`` (mean), ``uniform`` (low..high),
    ``lognormal`` (mean and sigma of the underlying normal's spread)."""

    kind: str = "fixed"
    mean: float = 0.0
    low: float = 0.0
    high: float = 0.0
    sigma: float = 0.5


@dataclass(frozen=True, slots=True)
class ClerkSpec:
    """How many clerks a node has and how long each step of handling a document takes (minutes)."""

    count: int = 1
    steps: tuple[tuple[str, Distribution], ...] = ()
    reject_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """One stream of documents: ``rate_per_hour`` per sending node, during office hours unless ``always``."""

    name: str
    kind: str  # directive (down), report (up), letter (sideways)
    senders: tuple[AgencyKind, ...]
    recipients: tuple[AgencyKind, ...]
    rate_per_hour: float
    document_type: str
    under: OrganId | None = None
    fanout: int = 0  # directive/letter: at most this many recipients, drawn at random (0: all / one)
    scope: str = "parent"  # letter: a peer under the same parent, or anywhere ("all")
    always: bool = False


@dataclass(frozen=True, slots=True)
class Outage:
    node: OrganId
    start: float  # virtual seconds
    end: float


@dataclass(frozen=True, slots=True)
class Faults:
    outages: tuple[Outage, ...] = ()
    loss_rate: float = 0.0
    loss_mode: str = "retry"  # "retry": the sender sees the failure; "silent": the message vanishes
    duplicate_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    latency: float = 1.0  # seconds per hop
    jitter: float = 0.0  # extra uniform [0, jitter) seconds per hop
    retry_budget: int = 5
    retry_delay: float = 60.0


@dataclass(frozen=True, slots=True)
class DossierSpec:
    """One-stop dossier traffic: dossiers per desk and working day by desk kind, the mixes and rates, and the
    share of a step's legal hours that its work takes (``docflow.sim.dossiers`` runs it)."""

    urban_commune_per_day: float = 30.0
    rural_commune_per_day: float = 10.0
    district_per_day: float = 40.0
    province_per_day: float = 60.0
    under: OrganId | None = None
    level_mix: tuple[tuple[int, float], ...] = ((2, 0.6), (3, 0.3), (4, 0.1))
    channel_mix: tuple[tuple[str, float], ...] = (("desk", 0.85), ("online", 0.1), ("post", 0.05))
    refusal_rate: float = 0.03
    supplement_rate: float = 0.05
    supplement_days: float = 2.0
    withdraw_rate: float = 0.0
    step_share: Distribution = Distribution("lognormal", 0.6, sigma=0.5)
    procedures: str | None = None  # a catalogue file; None: the one shipped in the package


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a run needs besides the seed and the fidelity."""

    name: str
    seed: int
    calendar: Calendar
    duration: float  # seconds during which traffic is generated
    drain: float  # seconds after that during which the network and clerks keep working
    topology: str  # a built-in name or a CSV path
    policy: RoutingPolicy
    pull: bool
    poll_interval: float
    network: NetworkSpec
    clerks: ClerkSpec
    clerks_by_kind: tuple[tuple[AgencyKind, ClerkSpec], ...]
    deadlines: tuple[tuple[str, float], ...]  # document type -> working hours
    traffic: tuple[TrafficSpec, ...]
    faults: Faults = field(default_factory=Faults)
    dossiers: DossierSpec | None = None

    @property
    def end(self) -> float:
        return self.duration + self.drain

    def clerk_spec(self, kind: AgencyKind) -> ClerkSpec:
        return dict(self.clerks_by_kind).get(kind, self.clerks)

    def deadline(self, document_type: str) -> float | None:
        """Working seconds allowed for ``document_type`` (None: no deadline)."""
        hours = dict(self.deadlines).get(document_type)
        return None if hours is None else hours * 3600.0


DEFAULT_STEPS = (
    ("accept", Distribution("exponential", 20.0)),
    ("assign", Distribution("exponential", 15.0)),
    ("start", Distribution("exponential", 30.0)),
    ("complete", Distribution("lognormal", 120.0, sigma=0.6)),
)


def _distribution(raw: float | DistributionTable | None, default: Distribution) -> Distribution:
    if raw is None:
        return default
    if not isinstance(raw, DistributionTable):
        return Distribution("fixed", float(raw))
    if raw.dist == "uniform":
        low, high = float(raw.low or 0.0), float(raw.high or 0.0)
        return Distribution("uniform", (low + high) / 2, low, high)
    return Distribution(raw.dist, float(raw.mean or 0.0), sigma=raw.sigma)


def _clerks(table: ClerkTable, base: ClerkSpec | None) -> ClerkSpec:
    count = table.count if table.count is not None else (base.count if base else 1)
    steps = tuple(
        (name, _distribution(getattr(table, f"{name}_minutes"), dist))
        for name, dist in (base.steps if base else DEFAULT_STEPS)
    )
    reject = table.reject_rate if table.reject_rate is not None else (base.reject_rate if base else 0.0)
    return ClerkSpec(count, steps, reject)


def _kinds(raw: str | list[str]) -> tuple[AgencyKind, ...]:
    return tuple(AgencyKind.parse(item) for item in ([raw] if isinstance(raw, str) else raw))


def _traffic(table: TrafficTable, index: int) -> TrafficSpec:
    return TrafficSpec(
        name=table.name or f"{table.kind}-{index + 1}",
        kind=table.kind,
        senders=_kinds(table.from_),
        recipients=_kinds(table.to),
        rate_per_hour=table.rate_per_hour,
        document_type=table.document_type or table.kind,
        under=OrganId.parse(table.under) if table.under is not None else None,
        fanout=table.fanout,
        scope=table.scope,
        always=table.always,
    )


def _faults(table: FaultsTable) -> Faults:
    outages = [
        Outage(OrganId.parse(o.node), o.start_hour * 3600.0, (o.start_hour + o.hours) * 3600.0) for o in table.outage
    ]
    outages += [
        Outage(OrganId.parse(h.hub), h.start_hour * 3600.0, (h.start_hour + h.hours) * 3600.0) for h in table.hub_down
    ]
    return Faults(
        outages=tuple(sorted(outages, key=lambda o: (o.start, str(o.node)))),
        loss_rate=table.loss_rate,
        loss_mode=table.loss_mode,
        duplicate_rate=table.duplicate_rate,
    )


def _apply(data: dict[str, Any], override: str) -> None:
    path, sep, text = override.partition("=")
    if not sep or not path.strip():
        raise ConfigError(f"override {override!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    *parents, last = path.strip().split(".")
    target = data
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"override {override!r}: {part} is not a table")
    target[last] = value


def parse_scenario(
    data: Mapping[str, Any], *, base: Path | None = None, overrides: tuple[str, ...] = (), source: str = "scenario"
) -> Scenario:
    """Validate a parsed scenario; relative topology files resolve against ``base``; errors start with ``source``."""
    data = _copy(data)
    for override in overrides:
        _apply(data, override)
    checked = read(data, source)
    head, cal = checked.scenario, checked.calendar
    opens, closes = parse_hours(cal.hours)
    days = frozenset(DAY_NAMES.index(day.lower()[:3]) for day in cal.days)
    if checked.topology.file is not None:
        file = Path(checked.topology.file)
        topology = str(file if file.is_absolute() or base is None else base / file)
    else:
        topology = checked.topology.name
    net = checked.network
    clerks = _clerks(checked.clerks, None)
    return Scenario(
        name=head.name,
        seed=head.seed,
        calendar=Calendar(head.start, opens, closes, days),
        duration=head.duration_hours * 3600.0,
        drain=head.drain_hours * 3600.0,
        topology=topology,
        policy=RoutingPolicy.parse(checked.routing.policy),
        pull=checked.routing.mode == "pull",
        poll_interval=checked.routing.poll_interval_minutes * 60.0,
        network=NetworkSpec(net.latency_seconds, net.jitter_seconds, net.retry_budget, net.retry_delay_seconds),
        clerks=clerks,
        clerks_by_kind=tuple(
            (AgencyKind.parse(name), _clerks(table, clerks)) for name, table in sorted(checked.clerks.kind.items())
        ),
        deadlines=tuple(sorted(checked.deadlines.items())),
        traffic=tuple(_traffic(table, i) for i, table in enumerate(checked.traffic)),
        faults=_faults(checked.faults),
        dossiers=_dossiers(checked.dossiers, base) if checked.dossiers is not None else None,
    )


def _dossiers(table: DossiersTable, base: Path | None) -> DossierSpec:
    catalogue = None
    if table.procedures is not None:
        file = Path(table.procedures)
        catalogue = str(file if file.is_absolute() or base is None else base / file)
    return DossierSpec(
        urban_commune_per_day=table.urban_commune_per_day,
        rural_commune_per_day=table.rural_commune_per_day,
        district_per_day=table.district_per_day,
        province_per_day=table.province_per_day,
        under=OrganId.parse(table.under) if table.under is not None else None,
        level_mix=tuple(sorted((int(level), weight) for level, weight in table.level_mix.items())),
        channel_mix=tuple(sorted(table.channel_mix.items())),
        refusal_rate=table.refusal_rate,
        supplement_rate=table.supplement_rate,
        supplement_days=table.supplement_days,
        withdraw_rate=table.withdraw_rate,
        step_share=_distribution(table.step_share, Distribution("lognormal", 0.6, sigma=0.5)),
        procedures=catalogue,
    )


def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, Mapping) else list(v) if isinstance(v, list) else v for k, v in data.items()}


def load_scenario(path: str | Path, *, overrides: tuple[str, ...] = ()) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read scenario {file}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"scenario {file}: {exc}") from None
    return parse_scenario(data, base=file.parent, overrides=overrides, source=f"scenario {file}")
