"""One-stop dossier traffic in a simulation: who files what and when, and what each agency does with it.

``plan`` draws the filings of a scenario's ``[dossiers]`` section up front (deterministic for a seed): for each
desk (communes — wards and townships are urban, ``xã`` rural —, districts, the province) and working day, a
Poisson number of filings spread over office hours, each with a procedure of the desk's tier (by the level
mix), a channel, and its fate drawn once: declined online, asked for papers, withdrawn, and the share of each
step's legal hours its work takes.  ``run_dossier`` is the one script both fidelities run for a filing: receive
at the desk (or submit online and be accepted or declined), then step by step along the procedure's chain
(``procedures.step_agencies``): work in working time (``worktime.WorkCalendar``), a supplement request that
stops the clock, an apology with a new date when the step will make the dossier late (checked one working
day before ``NgayHenTra``, ``dossier_flow.apology_due``), the hand-over to the next agency, and at the end the
result finished and returned at the desk.  Every change is made by a ``Desks`` backend: the real engine
(``docflow.sim.dossiers_full``) or ``ModelDesks`` here, which applies ``dossier_flow`` to dossiers in memory
and carries hand-overs with the link model's latency.  ``figures`` gives ``report.json``'s ``dossiers``
object (``dossier_stats.dossier_figures``) and the late agencies.
Must not import the engine (services, store, transports) or lxml.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol

import simpy

from docflow.domain import dossier_flow as flow
from docflow.domain.dossier import Applicant, Channel, Dossier
from docflow.domain.dossier_stats import dossier_figures
from docflow.domain.envelope import Code
from docflow.domain.ids import OrganId
from docflow.domain.procedures import Catalogue, Procedure, load_catalogue, step_agencies
from docflow.domain.registry import AgencyKind, Registry
from docflow.domain.routing import plan_route
from docflow.domain.worktime import WorkCalendar
from docflow.sim.clerks import sample_minutes
from docflow.sim.scenario import DossierSpec, Scenario
from docflow.sim.transport import LinkModel

CLERK = flow.Clerk("Cán bộ tiếp nhận và trả kết quả", "Công chức", "Bộ phận một cửa")
CHANNELS = {"desk": Channel.DESK, "online": Channel.ONLINE, "post": Channel.POST}
_TIERS = {AgencyKind.COMMUNE: "commune", AgencyKind.DISTRICT: "district", AgencyKind.PROVINCE: "province"}


@dataclass(frozen=True, slots=True)
class Filing:
    """One dossier to be filed, with its fate drawn in advance."""

    at: float  # virtual seconds
    desk: str
    procedure: str
    channel: Channel
    number: int
    declined: bool = False
    supplement: bool = False
    withdrawn: bool = False
    shares: tuple[float, ...] = ()  # per step: the share of its legal hours the work takes


def is_urban(name: str) -> bool:
    """A ward (phường) or township (thị trấn) is urban; a commune (xã) rural."""
    return "phường" in name or "thị trấn" in name


def desks(spec: DossierSpec, registry: Registry) -> list[tuple[str, float, str]]:
    """``(desk, filings per working day, tier)`` for every desk of the registry the spec covers."""
    out = []
    for agency in registry:
        tier = _TIERS.get(agency.kind)
        if tier is None:
            continue
        if spec.under is not None and agency.code != spec.under and spec.under not in registry.ancestors(agency.code):
            continue
        if tier == "commune":
            volume = spec.urban_commune_per_day if is_urban(agency.name) else spec.rural_commune_per_day
        else:
            volume = spec.district_per_day if tier == "district" else spec.province_per_day
        if volume > 0:
            out.append((str(agency.code), volume, tier))
    return out


def _pick(rng: random.Random, weights: list[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in weights)
    point, acc = rng.random() * total, 0.0
    for item, weight in weights:
        acc += weight
        if point < acc:
            return item
    return weights[-1][0]


def plan(
    scenario: Scenario, registry: Registry, catalogue: Catalogue, calendar: WorkCalendar, seed: int
) -> list[Filing]:
    """Every filing of the traffic window, by time (same seed, same filings)."""
    spec = scenario.dossiers
    if spec is None:
        return []
    rng = random.Random(f"{seed}:dossiers")
    start = scenario.calendar.start
    filings: list[Filing] = []
    by_tier = {tier: catalogue.at_tier(tier) for tier in _TIERS.values()}
    day, last = start.date(), (start + timedelta(seconds=scenario.duration)).date()
    while day <= last:
        if calendar.is_working_day(day):
            for desk, volume, tier in desks(spec, registry):
                rate = volume / calendar.hours_per_day  # filings per working hour
                for opens, closes in calendar.periods:
                    t = datetime.combine(day, opens)
                    end = datetime.combine(day, closes)
                    while True:
                        t += timedelta(hours=rng.expovariate(rate))
                        if t >= end:
                            break
                        at = (t - start).total_seconds()
                        if 0 <= at < scenario.duration:
                            filings.append(_filing(rng, spec, desk, at, by_tier[tier]))
        day += timedelta(days=1)
    filings.sort(key=lambda f: (f.at, f.desk))
    numbers: dict[tuple[str, int], int] = {}
    numbered = []
    for f in filings:
        key = (f.desk, int((f.at + 7 * 3600) // 86400))
        numbers[key] = numbers.get(key, 0) + 1
        numbered.append(_with_number(f, numbers[key]))
    return numbered


def _with_number(f: Filing, number: int) -> Filing:
    return Filing(f.at, f.desk, f.procedure, f.channel, number, f.declined, f.supplement, f.withdrawn, f.shares)


def _filing(rng: random.Random, spec: DossierSpec, desk: str, at: float, choices: tuple[Procedure, ...]) -> Filing:
    levels = sorted({p.level for p in choices})
    level = _pick(rng, [(lv, w) for lv, w in spec.level_mix if lv in levels]) if levels else 2
    pool = [p for p in choices if p.level == level] or list(choices)
    procedure = pool[rng.randrange(len(pool))]
    channel = CHANNELS[_pick(rng, list(spec.channel_mix))]
    if channel is Channel.ONLINE and procedure.level < 3:
        channel = Channel.DESK
    shares = tuple(sample_minutes(spec.step_share, rng) for _ in procedure.steps)
    return Filing(
        at, desk, procedure.code, channel, 0,
        declined=channel is Channel.ONLINE and rng.random() < spec.refusal_rate,
        supplement=rng.random() < spec.supplement_rate,
        withdrawn=rng.random() < spec.withdraw_rate,
        shares=shares,
    )  # fmt: skip


class Desks(Protocol):
    """What a fidelity does for the script: every dossier change, and carrying a hand-over."""

    latest: dict[str, Dossier]

    def receive(self, filing: Filing, procedure: Procedure) -> Dossier: ...

    def act(self, node: str, code: str, action: str, **options: Any) -> Dossier: ...

    def hand_over(self, node: str, code: str, to: str) -> simpy.Event: ...


@dataclass(slots=True)
class Tracker:
    """What the scripts saw: late steps by agency (the step's work ended after its own deadline)."""

    late_steps: dict[str, int] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)

    def step_ended(self, agency: str, d: Dossier, at: datetime) -> None:
        self.steps[agency] = self.steps.get(agency, 0) + 1
        if d.step_due is not None and at > d.step_due:
            self.late_steps[agency] = self.late_steps.get(agency, 0) + 1


class Script:
    """Runs filings through a ``Desks`` backend under SimPy time."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        registry: Registry,
        catalogue: Catalogue,
        calendar: WorkCalendar,
        desks: Desks,
    ) -> None:
        self.env, self.scenario, self.registry = env, scenario, registry
        self.catalogue, self.calendar, self.desks = catalogue, calendar, desks
        self.tracker = Tracker()
        self.letters = 0

    def now(self) -> datetime:
        return self.scenario.calendar.start + timedelta(seconds=self.env.now)

    def until(self, moment: datetime) -> simpy.Timeout:
        seconds = (moment - self.scenario.calendar.start).total_seconds()
        return self.env.timeout(max(seconds - self.env.now, 0.0))

    def run(self, filings: list[Filing]) -> Generator[Any, Any, None]:
        for filing in filings:
            if filing.at > self.env.now:
                yield self.env.timeout(filing.at - self.env.now)
            self.env.process(self.dossier(filing))

    def dossier(self, f: Filing) -> Generator[Any, Any, None]:
        p = self.catalogue[f.procedure]
        cal, desks = self.calendar, self.desks
        d = desks.receive(f, p)
        code = d.code
        if f.channel is Channel.ONLINE:
            yield self.until(cal.add_hours(self.now(), 1.0))
            if f.declined:
                desks.act(f.desk, code, "refuse", reason="Hồ sơ không đủ thành phần")
                return
            desks.act(f.desk, code, "accept")
        d = desks.act(f.desk, code, "start")
        chain = [str(a) for a in step_agencies(self.registry, f.desk, p)]
        for step, agency in enumerate(chain):
            if step == 0 and f.supplement:
                yield self.until(cal.add_hours(self.now(), 1.0))
                desks.act(agency, code, "request_supplement", content="Bổ sung giấy tờ chứng minh")
                yield self.until(cal.add_hours(self.now(), self.scenario_spec.supplement_days * cal.hours_per_day))
                desks.act(agency, code, "receive_supplement")
                d = desks.act(agency, code, "start")
            if step == 0 and f.withdrawn:
                yield self.until(cal.add_hours(self.now(), 2.0))
                desks.act(agency, code, "withdraw", reason="Công dân rút hồ sơ")
                return
            end = cal.add_hours(self.now(), p.steps[step].hours * f.shares[step])
            d = desks.latest[code]
            if d.due_at is not None:
                check = flow.apology_deadline(d, cal)
                if self.now() <= check < end:
                    yield self.until(check)
                    d = desks.latest[code]
                    if flow.apology_due(d, p, cal, self.now()):
                        d = desks.act(agency, code, "apologise")
                        self.letters += agency != f.desk
            yield self.until(end)
            self.tracker.step_ended(agency, desks.latest[code], self.now())
            if step + 1 < len(chain):
                yield desks.hand_over(agency, code, chain[step + 1])
            elif agency != f.desk:
                yield desks.hand_over(agency, code, f.desk)
        desks.act(f.desk, code, "finish")
        yield self.until(cal.add_hours(self.now(), 1.0))
        desks.act(f.desk, code, "return_result")

    @property
    def scenario_spec(self) -> DossierSpec:
        assert self.scenario.dossiers is not None
        return self.scenario.dossiers


def apology_code(number: int) -> Code:
    """The number of an apology letter (Phiếu xin lỗi và hẹn lại ngày trả kết quả)."""
    return Code(str(number), "PXL")


class ModelDesks:
    """The model fidelity's backend: ``dossier_flow`` on dossiers in memory; a hand-over takes the link model's
    latency along the planned route."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        registry: Registry,
        catalogue: Catalogue,
        calendar: WorkCalendar,
        seed: int,
    ) -> None:
        self.env, self.scenario, self.registry = env, scenario, registry
        self.catalogue, self.calendar = catalogue, calendar
        self.link = LinkModel.of(scenario, seed, "dossiers")
        self.latest: dict[str, Dossier] = {}
        self.hops = 0
        self._letters = 0

    def _now(self) -> datetime:
        return (self.scenario.calendar.start + timedelta(seconds=self.env.now)).replace(microsecond=0)

    def receive(self, filing: Filing, procedure: Procedure) -> Dossier:
        desk, at = OrganId.parse(filing.desk), self._now()
        code = flow.dossier_code(desk, at, filing.number)
        applicant = Applicant(f"Công dân {filing.number}")
        if filing.channel is Channel.ONLINE:
            d = flow.submit_online(procedure, code=code, desk=desk, applicant=applicant, at=at)
        else:
            d = flow.receive(procedure, self.calendar, code=code, desk=desk, applicant=applicant, at=at,
                             clerk=CLERK, channel=filing.channel)  # fmt: skip
        self.latest[code] = d
        return d

    def act(self, node: str, code: str, action: str, **options: Any) -> Dossier:
        d, at = self.latest[code], self._now()
        p, cal = self.catalogue[d.procedure_code], self.calendar
        if action == "apologise":
            self._letters += 1
            d, _ = flow.apologise(d, p, cal, at, CLERK, sender=self.registry.organization(d.holder),
                                  desk=self.registry.organization(d.desk), code=apology_code(self._letters),
                                  reason="Khối lượng hồ sơ lớn")  # fmt: skip
        else:
            d = apply_action(d, action, p, cal, at, options)
        self.latest[code] = d
        return d

    def hand_over(self, node: str, code: str, to: str) -> simpy.Event:
        d = self.latest[code]
        p = self.catalogue[d.procedure_code]
        self.latest[code], _ = flow.hand_over(d, p, self.calendar, self._now(), CLERK, OrganId.parse(to))
        if to == node:
            return self.env.timeout(0)
        hops = [str(h) for h in plan_route(self.registry, OrganId.parse(node), OrganId.parse(to),
                                           self.scenario.policy).hops]  # fmt: skip
        delay = 0.0
        for here, there in pairwise(hops):
            delay += self.link.latency(here, there, self.env.now + delay, f"dossier|{code}|{node}>{to}")
            self.hops += 1
        return self.env.timeout(delay)


def apply_action(
    d: Dossier, action: str, p: Procedure, cal: WorkCalendar, at: datetime, options: dict[str, Any]
) -> Dossier:
    """One clerk action on ``d`` through ``dossier_flow`` (the model's way; the engine's ``Dossiers`` methods
    call the same functions)."""
    if action == "accept":
        return flow.accept(d, p, cal, at, CLERK)
    if action == "refuse":
        return flow.decline(d, at, CLERK, options.get("reason", ""))
    if action == "start":
        return flow.start(d, at, CLERK)
    if action == "request_supplement":
        return flow.request_supplement(d, at, CLERK, options.get("content", ""))
    if action == "receive_supplement":
        return flow.receive_supplement(d, p, cal, at, CLERK)
    if action == "withdraw":
        return flow.withdraw(d, at, CLERK, options.get("reason", ""))
    if action == "finish":
        return flow.finish(d, at, CLERK)
    if action == "return_result":
        return flow.return_result(d, at, CLERK)
    raise ValueError(f"unknown dossier action {action!r}")


def figures(
    latest: dict[str, Dossier], now: datetime, tracker: Tracker, registry: Registry
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``report.json``'s ``dossiers`` object and the late agencies (most late steps first)."""
    late = [
        {
            "agency": agency,
            "name": registry.organization(agency).organ_name,
            "late_steps": count,
            "steps": tracker.steps.get(agency, 0),
        }
        for agency, count in tracker.late_steps.items()
    ]
    late.sort(key=lambda row: (-int(str(row["late_steps"])), str(row["agency"])))
    return dossier_figures(latest.values(), now), late


def start(env: simpy.Environment, scenario: Scenario, registry: Registry, seed: int, fabric: Any) -> Script | None:
    """Start the scenario's dossier traffic on ``fabric`` (the engine's or the model's); ``None`` without any."""
    spec = scenario.dossiers
    if spec is None:
        return None
    calendar = WorkCalendar()
    catalogue = load_catalogue(spec.procedures)
    backend: Desks
    if getattr(fabric, "fidelity", "") == "full":
        from docflow.sim.dossiers_full import EngineDesks  # the engine only when the full fidelity runs

        backend = EngineDesks(fabric, catalogue, calendar)
    else:
        backend = ModelDesks(env, scenario, registry, catalogue, calendar, seed)
    script = Script(env, scenario, registry, catalogue, calendar, backend)
    env.process(script.run(plan(scenario, registry, catalogue, calendar, seed)))
    return script


def report(script: Script) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures of a finished run, at its end."""
    end = script.scenario.calendar.start + timedelta(seconds=script.scenario.end)
    return figures(script.desks.latest, end, script.tracker, script.registry)
