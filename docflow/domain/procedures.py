"""The catalogue of administrative procedures (thủ tục hành chính): codes, times and the chain of steps.

A ``Procedure`` says where a dossier is received (the tier of its desk), its online level (2, 3, 4), its
total legal time in working or calendar days, and the chain of ``Step``s — which kind of agency handles
each and for how many working hours — that a dossier walks between tiers (liên thông).  The catalogue
shipped with docflow is ``docflow/domain/data/procedures.toml`` (read with ``importlib.resources``); a
province loads its own with ``load_catalogue(path)``.  A catalogue is checked when loaded: unique codes,
known agency kinds, levels 2–4, and steps that fit in the total time.

``step_agencies`` resolves a chain to the concrete agencies of one desk's registry: a step of the desk's
own kind is the desk; a commune, district or province step is that ancestor of the desk; an office is the
one under the desk's district whose name contains the step's ``unit`` (else the district itself); a
department is the one of the desk's province whose name contains ``unit`` (else the province).

Pure: standard library and ``docflow.domain`` only.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind, Registry
from docflow.domain.worktime import TimeUnit
from docflow.errors import ConfigError, RegistryError

#: Where a dossier may be received (the tier of the one-stop desk).
DESK_TIERS = ("commune", "district", "province")
_STEP_KINDS = frozenset({AgencyKind.COMMUNE, AgencyKind.DISTRICT, AgencyKind.OFFICE, AgencyKind.DEPARTMENT,
                         AgencyKind.PROVINCE})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """One link of the chain: the kind of agency that handles it, its working hours, what it does."""

    agency: AgencyKind
    hours: float
    name: str = ""
    unit: str = ""  # part of the handling unit's name (Phòng Tư pháp, Sở Tài nguyên và Môi trường, ...)


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure of the catalogue."""

    code: str  # MaTTHC
    name: str  # TenTTHC
    field_code: str  # MaLinhVuc
    field_name: str  # TenLinhVuc
    tier: str  # where the desk is: commune, district or province
    level: int  # online level 2, 3 or 4
    days: float  # total legal time (0: the same day)
    unit: TimeUnit
    steps: tuple[Step, ...]
    source: str = ""  # the legal text the time comes from

    @property
    def total_hours(self) -> float:
        """The total time in hours of its own kind (working hours, or calendar hours)."""
        return self.days * (24.0 if self.unit is TimeUnit.CALENDAR_DAYS else 8.0)

    @property
    def crosses_tiers(self) -> bool:
        """True when some step is handled away from the receiving desk (liên thông)."""
        return any(step.agency.value != self.tier for step in self.steps)

    def hours_after(self, step: int) -> float:
        """Working hours of the steps after ``step``."""
        return sum(s.hours for s in self.steps[step + 1 :])


class Catalogue(Mapping[str, Procedure]):
    """Procedures by code, in file order."""

    def __init__(self, procedures: list[Procedure], source: str = "") -> None:
        self.source = source
        self._by_code: dict[str, Procedure] = {}
        for procedure in procedures:
            if procedure.code in self._by_code:
                raise ConfigError(f"{source}: procedure {procedure.code} is listed twice")
            self._by_code[procedure.code] = procedure

    def __getitem__(self, code: str) -> Procedure:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"no procedure {code!r} in the catalogue {self.source}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def at_tier(self, tier: str) -> tuple[Procedure, ...]:
        """The procedures received at desks of ``tier``."""
        return tuple(p for p in self._by_code.values() if p.tier == tier)


def _procedure(raw: Mapping[str, Any], where: str) -> Procedure:
    try:
        code, name = str(raw["code"]), str(raw["name"])
        steps = tuple(
            Step(AgencyKind.parse(str(s["agency"])), float(s["hours"]), str(s.get("name", "")), str(s.get("unit", "")))
            for s in raw["steps"]
        )
        procedure = Procedure(
            code=code,
            name=name,
            field_code=str(raw.get("field_code", "")),
            field_name=str(raw.get("field_name", "")),
            tier=str(raw["tier"]),
            level=int(raw["level"]),
            days=float(raw["days"]),
            unit=TimeUnit(str(raw.get("unit", "working_days"))),
            steps=steps,
            source=str(raw.get("source", "")),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError, RegistryError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    _check(procedure, f"{where} ({procedure.code})")
    return procedure


def _check(p: Procedure, where: str) -> None:
    if p.tier not in DESK_TIERS:
        raise ConfigError(f"{where}: tier {p.tier!r} is not one of {', '.join(DESK_TIERS)}")
    if p.level not in (2, 3, 4):
        raise ConfigError(f"{where}: online level {p.level} is not 2, 3 or 4")
    if p.days < 0 or not p.steps:
        raise ConfigError(f"{where}: needs a time of 0 days or more and at least one step")
    for step in p.steps:
        if step.agency not in _STEP_KINDS or step.hours <= 0:
            raise ConfigError(f"{where}: step {step.name!r} needs a commune/district/office/department/province "
                              "agency and positive hours")  # fmt: skip
    if p.steps[0].agency.value != p.tier:
        raise ConfigError(f"{where}: the first step must be the {p.tier} desk that receives the dossier")
    budget = 8.0 if p.days == 0 else (p.days * 8.0 if p.unit is TimeUnit.WORKING_DAYS else p.days * 8.0 * 5 / 7)
    if sum(s.hours for s in p.steps) > budget + 1e-9:
        raise ConfigError(f"{where}: the steps take {sum(s.hours for s in p.steps)} working hours, "
                          f"more than the {budget:g} of {p.days:g} {p.unit.value.replace('_', ' ')}")  # fmt: skip


def parse_catalogue(text: str, source: str = "<text>") -> Catalogue:
    """A catalogue from TOML text (``[[procedure]]`` tables); ``ConfigError`` naming the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    items = data.get("procedure")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{source}: no [[procedure]] tables")
    return Catalogue([_procedure(raw, f"{source}: procedure {n}") for n, raw in enumerate(items, 1)], source)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """The catalogue at ``path``, or the one shipped in the package."""
    if path is None:
        resource = importlib.resources.files("docflow.domain").joinpath("data/procedures.toml")
        return parse_catalogue(resource.read_text(encoding="utf-8"), "docflow/domain/data/procedures.toml")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the procedure catalogue {path}: {exc.strerror or exc}") from None
    return parse_catalogue(text, str(path))


def _ancestor(registry: Registry, start: OrganId, kind: AgencyKind) -> OrganId | None:
    for code in (start, *registry.ancestors(start)):
        if registry[code].kind is kind:
            return code
    return None


def _named(registry: Registry, candidates: tuple[OrganId, ...], kind: AgencyKind, unit: str) -> OrganId | None:
    if not unit:
        return None
    wanted = unit.casefold()
    for code in candidates:
        agency = registry[code]
        if agency.kind is kind and wanted in agency.name.casefold():
            return code
    return None


def step_agencies(registry: Registry, desk: OrganId | str, procedure: Procedure) -> tuple[OrganId, ...]:
    """The agency handling each step of ``procedure`` for a dossier received at ``desk`` (see module doc)."""
    start = registry.code(desk)
    district = _ancestor(registry, start, AgencyKind.DISTRICT)
    province = _ancestor(registry, start, AgencyKind.PROVINCE)
    out: list[OrganId] = []
    for step in procedure.steps:
        found: OrganId | None
        if step.agency in (AgencyKind.COMMUNE, AgencyKind.DISTRICT, AgencyKind.PROVINCE):
            found = _ancestor(registry, start, step.agency)
        elif step.agency is AgencyKind.OFFICE:
            found = _named(registry, registry.children(district), step.agency, step.unit) if district else None
            found = found or district
        else:
            found = _named(registry, registry.children(province), step.agency, step.unit) if province else None
            found = found or province
        if found is None:
            raise RegistryError(f"{procedure.code}: no {step.agency.value} above or beside desk {start}")
        out.append(found)
    return tuple(out)
