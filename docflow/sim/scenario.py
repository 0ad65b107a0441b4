"""Scenario files: TOML read with ``tomllib`` into frozen dataclasses, every mistake a ``ConfigError`` naming its key.

The format is documented in ``docs/scenarios.md``.  ``load_scenario(path)`` reads a file,
``parse_scenario(data)`` a parsed mapping (``overrides`` are ``section.key=value`` strings applied first).
Must not import simpy, the engine (services, store, transports) or lxml.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind
from docflow.domain.routing import RoutingPolicy
from docflow.errors import ConfigError, IdentifierError
from docflow.sim.calendar import DAY_NAMES, Calendar, parse_hours

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

    @property
    def end(self) -> float:
        return self.duration + self.drain

    def clerk_spec(self, kind: AgencyKind) -> ClerkSpec:
        return dict(self.clerks_by_kind).get(kind, self.clerks)

    def deadline(self, document_type: str) -> float | None:
        """Working seconds allowed for ``document_type`` (None: no deadline)."""
        hours = dict(self.deadlines).get(document_type)
        return None if hours is None else hours * 3600.0


class _Section:
    """A TOML table with its dotted path, so every error names the key."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"[{path}] must be a table")
        self.data, self.path = data, path
        self.used: set[str] = set()

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise ConfigError(f"scenario: missing key {self._where(key)}")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"scenario: {self._where(key)} must be {names}, not {value!r}")
        return value

    def number(self, key: str, default: float | None = None, *, low: float = 0.0, high: float | None = None) -> float:
        value = self.get(key, float, ... if default is None else default)
        if value < low or (high is not None and value > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ConfigError(f"scenario: {self._where(key)} must be {bound}, not {value}")
        return float(value)

    def table(self, key: str) -> _Section:
        return _Section(self.get(key, dict, {}), self._where(key))

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"scenario: {self._where(key)}: {message}")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"scenario: unknown key {self._where(unknown[0])}")


def _kinds(section: _Section, key: str, default: Any = ...) -> tuple[AgencyKind, ...]:
    raw = section.get(key, (str, list), default)
    items = [raw] if isinstance(raw, str) else list(raw)
    try:
        return tuple(AgencyKind.parse(str(item)) for item in items)
    except Exception as exc:  # RegistryError naming the kinds
        raise section.fail(key, str(exc)) from None


def _code(section: _Section, key: str) -> OrganId:
    try:
        return OrganId.parse(section.get(key, str))
    except IdentifierError as exc:
        raise section.fail(key, str(exc)) from None


def _distribution(section: _Section, key: str, default: Distribution) -> Distribution:
    if key not in section.data:
        section.used.add(key)
        return default
    raw = section.get(key, (dict, int, float))
    if not isinstance(raw, dict):
        return Distribution("fixed", float(raw))
    table = _Section(raw, section._where(key))
    kind = table.get("dist", str, "exponential")
    if kind not in DISTRIBUTIONS:
        raise table.fail("dist", f"expected one of {', '.join(DISTRIBUTIONS)}")
    if kind == "uniform":
        low, high = table.number("low"), table.number("high")
        if high < low:
            raise table.fail("high", "must not be below low")
        dist = Distribution(kind, (low + high) / 2, low, high)
    else:
        dist = Distribution(kind, table.number("mean"), sigma=table.number("sigma", 0.5))
    table.done()
    return dist


DEFAULT_STEPS = (
    ("accept", Distribution("exponential", 20.0)),
    ("assign", Distribution("exponential", 15.0)),
    ("start", Distribution("exponential", 30.0)),
    ("complete", Distribution("lognormal", 120.0, sigma=0.6)),
)


def _clerks(section: _Section, base: ClerkSpec | None) -> ClerkSpec:
    count = int(section.number("count", float(base.count if base else 1), low=1))
    steps = tuple(
        (name, _distribution(section, f"{name}_minutes", dist))
        for name, dist in (base.steps if base else DEFAULT_STEPS)
    )
    reject = section.number("reject_rate", base.reject_rate if base else 0.0, high=1.0)
    return ClerkSpec(count, steps, reject)


def _traffic(section: _Section, index: int) -> TrafficSpec:
    kind = section.get("kind", str)
    if kind not in TRAFFIC_KINDS:
        raise section.fail("kind", f"expected one of {', '.join(TRAFFIC_KINDS)}, not {kind!r}")
    under = _code(section, "under") if "under" in section.data else None
    section.used.add("under")
    scope = section.get("scope", str, "parent")
    if scope not in ("parent", "all"):
        raise section.fail("scope", "expected 'parent' or 'all'")
    spec = TrafficSpec(
        name=section.get("name", str, f"{kind}-{index + 1}"),
        kind=kind,
        senders=_kinds(section, "from"),
        recipients=_kinds(section, "to"),
        rate_per_hour=section.number("rate_per_hour"),
        document_type=section.get("document_type", str, kind),
        under=under,
        fanout=int(section.number("fanout", 0.0)),
        scope=scope,
        always=section.get("always", bool, False),
    )
    section.done()
    return spec


def _faults(section: _Section, start: datetime) -> Faults:
    outages = []
    raw = section.get("outage", list, [])
    for i, item in enumerate(raw):
        table = _Section(item, f"{section.path}.outage[{i}]")
        begin = table.number("start_hour") * 3600.0
        outages.append(Outage(_code(table, "node"), begin, begin + table.number("hours") * 3600.0))
        table.done()
    for i, item in enumerate(section.get("hub_down", list, [])):
        table = _Section(item, f"{section.path}.hub_down[{i}]")
        code = _code(table, "hub")
        if not code.is_hub:
            raise table.fail("hub", f"{code} is not a hub (W code)")
        begin = table.number("start_hour") * 3600.0
        outages.append(Outage(code, begin, begin + table.number("hours") * 3600.0))
        table.done()
    mode = section.get("loss_mode", str, "retry")
    if mode not in ("retry", "silent"):
        raise section.fail("loss_mode", "expected 'retry' or 'silent'")
    faults = Faults(
        outages=tuple(sorted(outages, key=lambda o: (o.start, str(o.node)))),
        loss_rate=section.number("loss_rate", 0.0, high=1.0),
        loss_mode=mode,
        duplicate_rate=section.number("duplicate_rate", 0.0, high=1.0),
    )
    section.done()
    return faults


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


def parse_scenario(data: Mapping[str, Any], *, base: Path | None = None, overrides: tuple[str, ...] = ()) -> Scenario:
    """Validate a parsed scenario; relative topology files resolve against ``base``."""
    data = _copy(data)
    for override in overrides:
        _apply(data, override)
    root = _Section(data, "")
    head = root.table("scenario")
    start = head.get("start", datetime, datetime(2017, 10, 2))
    calendar_section = root.table("calendar")
    try:
        opens, closes = parse_hours(calendar_section.get("hours", str, "08:00-17:00"))
    except ValueError as exc:
        raise calendar_section.fail("hours", str(exc)) from None
    day_names = calendar_section.get("days", list, list(DAY_NAMES[:5]))
    if not day_names or any(str(d).lower()[:3] not in DAY_NAMES for d in day_names):
        raise calendar_section.fail("days", f"expected a non-empty list of {', '.join(DAY_NAMES)}")
    calendar = Calendar(start, opens, closes, frozenset(DAY_NAMES.index(str(d).lower()[:3]) for d in day_names))
    calendar_section.done()

    topo = root.table("topology")
    if "file" in topo.data:
        file = Path(topo.get("file", str))
        topology = str(file if file.is_absolute() or base is None else base / file)
    else:
        topology = topo.get("name", str, "tien_giang_2017")
    topo.done()

    routing = root.table("routing")
    try:
        policy = RoutingPolicy.parse(routing.get("policy", str, "hierarchical"))
    except ConfigError as exc:
        raise routing.fail("policy", str(exc)) from None
    mode = routing.get("mode", str, "push")
    if mode not in ("push", "pull"):
        raise routing.fail("mode", "expected 'push' or 'pull'")
    poll = routing.number("poll_interval_minutes", 15.0) * 60.0
    if mode == "pull" and poll <= 0:
        raise routing.fail("poll_interval_minutes", "must be positive in pull mode")
    routing.done()

    net = root.table("network")
    network = NetworkSpec(
        latency=net.number("latency_seconds", 1.0),
        jitter=net.number("jitter_seconds", 0.0),
        retry_budget=int(net.number("retry_budget", 5.0, low=1)),
        retry_delay=net.number("retry_delay_seconds", 60.0, low=1.0),
    )
    net.done()

    clerk_section = root.table("clerks")
    by_kind_section = clerk_section.table("kind")
    clerks = _clerks(clerk_section, None)
    by_kind = []
    for name in sorted(by_kind_section.data):
        by_kind_section.used.add(name)
        try:
            kind = AgencyKind.parse(name)
        except Exception as exc:
            raise by_kind_section.fail(name, str(exc)) from None
        sub = _Section(by_kind_section.data[name], by_kind_section._where(name))
        by_kind.append((kind, _clerks(sub, clerks)))
        sub.done()
    clerk_section.done()

    deadline_section = root.table("deadlines")
    deadlines = tuple((key, deadline_section.number(key)) for key in sorted(deadline_section.data))
    deadline_section.done()

    raw_traffic = root.get("traffic", list, [])
    traffic = tuple(_traffic(_Section(item, f"traffic[{i}]"), i) for i, item in enumerate(raw_traffic))
    if not traffic:
        raise ConfigError("scenario: [[traffic]] needs at least one stream")
    faults = _faults(root.table("faults"), start)

    scenario = Scenario(
        name=head.get("name", str, "scenario"),
        seed=int(head.number("seed", 0.0)),
        calendar=calendar,
        duration=head.number("duration_hours", low=0.001) * 3600.0,
        drain=head.number("drain_hours", 24.0) * 3600.0,
        topology=topology,
        policy=policy,
        pull=mode == "pull",
        poll_interval=poll,
        network=network,
        clerks=clerks,
        clerks_by_kind=tuple(by_kind),
        deadlines=deadlines,
        traffic=traffic,
        faults=faults,
    )
    head.done()
    root.done()
    return scenario


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
    return parse_scenario(data, base=file.parent, overrides=overrides)
