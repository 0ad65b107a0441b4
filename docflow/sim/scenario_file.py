"""The scenario file format as pydantic models: what a TOML scenario may say, checked key by key.

``read(data)`` validates a parsed mapping and returns a ``ScenarioFile`` (or raises a one-line
``ConfigError`` naming the key, with a "did you mean" for misspelt keys); ``json_schema()`` is the JSON
Schema of the format, generated from the same models (kept in ``docs/scenario.schema.json`` for editors).
``docflow.sim.scenario`` turns a ``ScenarioFile`` into the frozen ``Scenario`` the simulator reads.
Must not import simpy, the engine (services, store, transports) or lxml.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind
from docflow.domain.routing import RoutingPolicy
from docflow.errors import DocflowError
from docflow.sim.calendar import DAY_NAMES, parse_hours


def _kind(value: str) -> str:
    try:
        AgencyKind.parse(value)
    except DocflowError as exc:
        raise ValueError(str(exc)) from None
    return value


def _code(value: str) -> str:
    try:
        OrganId.parse(value)
    except DocflowError as exc:
        raise ValueError(str(exc)) from None
    return value


def _hub(value: str) -> str:
    if not OrganId.parse(_code(value)).is_hub:
        raise ValueError(f"{value} is not a hub (W code)")
    return value


def _policy(value: str) -> str:
    try:
        RoutingPolicy.parse(value)
    except DocflowError as exc:
        raise ValueError(str(exc)) from None
    return value


def _hours(value: str) -> str:
    parse_hours(value)  # ValueError naming the problem
    return value


def _day(value: str) -> str:
    if value.lower()[:3] not in DAY_NAMES:
        raise ValueError(f"expected one of {', '.join(DAY_NAMES)}, not {value!r}")
    return value


Number = Annotated[float, Field(ge=0)]
Kind = Annotated[str, AfterValidator(_kind)]
Code = Annotated[str, AfterValidator(_code)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class Head(_Table):
    name: str = Field("scenario", description="title of the report")
    seed: int = Field(0, description="random seed (--seed overrides)")
    start: datetime = Field(datetime(2017, 10, 2), description="TOML local date-time of virtual time 0")
    duration_hours: Annotated[float, Field(gt=0, description="traffic is generated in [0, duration)")]
    drain_hours: Number = Field(24.0, description="the run continues this long after the traffic stops")


class CalendarTable(_Table):
    hours: Annotated[str, AfterValidator(_hours)] = Field("08:00-17:00", description="office hours, HH:MM-HH:MM")
    days: Annotated[list[Annotated[str, AfterValidator(_day)]], Field(min_length=1)] = Field(
        default_factory=lambda: list(DAY_NAMES[:5]), description="working days (mon … sun)"
    )


class TopologyTable(_Table):
    name: str = Field("tien_giang_2017", description="built-in: tien_giang_2017 or national")
    file: str | None = Field(None, description="a registry CSV, relative to the scenario file")


class RoutingTable(_Table):
    policy: Annotated[str, AfterValidator(_policy)] = Field("hierarchical", description="hierarchical, hub or direct")
    mode: Literal["push", "pull"] = "push"
    poll_interval_minutes: Number = 15.0

    @model_validator(mode="after")
    def _poll(self) -> RoutingTable:
        if self.mode == "pull" and self.poll_interval_minutes <= 0:
            raise ValueError("poll_interval_minutes must be positive in pull mode")
        return self


class NetworkTable(_Table):
    latency_seconds: Number = Field(1.0, description="per hop")
    jitter_seconds: Number = Field(0.0, description="plus uniform [0, jitter) per hop")
    retry_budget: int = Field(5, ge=1, description="send attempts before a hop gives up")
    retry_delay_seconds: float = Field(60.0, ge=1.0, description="back-off, doubled per attempt, capped at 1 h")


class DistributionTable(_Table):
    dist: Literal["fixed", "exponential", "uniform", "lognormal"] = "exponential"
    mean: Number | None = None
    sigma: Number = 0.5
    low: Number | None = None
    high: Number | None = None

    @model_validator(mode="after")
    def _complete(self) -> DistributionTable:
        if self.dist == "uniform":
            if self.low is None or self.high is None:
                raise ValueError("a uniform distribution needs low and high")
            if self.high < self.low:
                raise ValueError("high must not be below low")
        elif self.mean is None:
            raise ValueError(f"a {self.dist} distribution needs mean")
        return self


Minutes = Annotated[Number | DistributionTable, Field(description="working minutes: a number or a distribution")]


class ClerkTable(_Table):
    count: int | None = Field(None, ge=1, description="clerks per agency")
    accept_minutes: Minutes | None = None
    assign_minutes: Minutes | None = None
    start_minutes: Minutes | None = None
    complete_minutes: Minutes | None = None
    reject_rate: Annotated[float, Field(ge=0, le=1)] | None = None


class ClerksTable(ClerkTable):
    kind: dict[Kind, ClerkTable] = Field(default_factory=dict, description="per agency kind, same keys")


class TrafficTable(_Table):
    kind: Literal["directive", "report", "letter"]
    from_: Annotated[Kind | list[Kind], Field(alias="from", description="sending agency kind(s)")]
    to: Annotated[Kind | list[Kind], Field(description="receiving agency kind(s)")]
    rate_per_hour: Annotated[Number, Field(description="Poisson rate per sending agency")]
    name: str | None = None
    document_type: str | None = Field(None, description="key into [deadlines] (default: kind)")
    under: Code | None = Field(None, description="only senders under (or equal to) this OrganId")
    fanout: int = Field(0, ge=0, description="at most this many recipients (0: all; letters: one)")
    scope: Literal["parent", "all"] = "parent"
    always: bool = Field(False, description="generate outside office hours too")


class OutageTable(_Table):
    node: Code
    start_hour: Number
    hours: Number


class HubDownTable(_Table):
    hub: Annotated[str, AfterValidator(_hub)]
    start_hour: Number
    hours: Number


class FaultsTable(_Table):
    loss_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    loss_mode: Literal["retry", "silent"] = "retry"
    duplicate_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    outage: list[OutageTable] = Field(default_factory=list)
    hub_down: list[HubDownTable] = Field(default_factory=list)


Level = Literal["2", "3", "4"]
ChannelName = Literal["desk", "online", "post"]


def _levels() -> dict[Level, float]:
    return {"2": 0.6, "3": 0.3, "4": 0.1}


def _channels() -> dict[ChannelName, float]:
    return {"desk": 0.85, "online": 0.1, "post": 0.05}


class DossiersTable(_Table):
    """One-stop dossier traffic (docs/scenarios.md, "Dossiers"): volumes per desk and working day."""

    urban_commune_per_day: Number = Field(30.0, description="per ward / township desk (Mỹ Tho: about 30)")
    rural_commune_per_day: Number = Field(10.0, description="per rural commune (xã) desk")
    district_per_day: Number = Field(40.0, description="per district desk")
    province_per_day: Number = Field(60.0, description="at the province's public administration centre")
    under: Code | None = Field(None, description="only desks under (or equal to) this OrganId")
    level_mix: dict[Level, Number] = Field(default_factory=_levels, description="weights of the online levels")
    channel_mix: dict[ChannelName, Number] = Field(
        default_factory=_channels, description="weights of the channels (online only for level 3 and 4 procedures)"
    )
    refusal_rate: Annotated[float, Field(ge=0, le=1)] = Field(0.03, description="share of online filings declined")
    supplement_rate: Annotated[float, Field(ge=0, le=1)] = Field(0.05, description="share asked for more papers")
    supplement_days: Number = Field(2.0, description="working days until the papers come")
    withdraw_rate: Annotated[float, Field(ge=0, le=1)] = Field(0.0, description="share withdrawn by the applicant")
    step_share: DistributionTable = Field(
        default_factory=lambda: DistributionTable(dist="lognormal", mean=0.6, sigma=0.5),
        description="time a step takes, as a share of its legal hours (the catalogue's)",
    )
    procedures: str | None = Field(None, description="a procedure catalogue (TOML), relative to the scenario file")


class ScenarioFile(_Table):
    """A whole scenario file (docs/scenarios.md)."""

    model_config = ConfigDict(title="docflow simulation scenario")

    scenario: Head
    calendar: CalendarTable = Field(default_factory=CalendarTable)  # type: ignore[arg-type]
    topology: TopologyTable = Field(default_factory=TopologyTable)  # type: ignore[arg-type]
    routing: RoutingTable = Field(default_factory=RoutingTable)  # type: ignore[arg-type]
    network: NetworkTable = Field(default_factory=NetworkTable)  # type: ignore[arg-type]
    clerks: ClerksTable = Field(default_factory=ClerksTable)  # type: ignore[arg-type]
    deadlines: dict[str, Number] = Field(default_factory=dict, description="document type -> working hours")
    traffic: Annotated[list[TrafficTable], Field(min_length=1)]
    faults: FaultsTable = Field(default_factory=FaultsTable)  # type: ignore[arg-type]
    dossiers: DossiersTable | None = Field(None, description="one-stop dossier traffic (optional)")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (keys as written in TOML)."""
    schema = ScenarioFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def read(data: dict[str, Any], source: str = "scenario") -> ScenarioFile:
    """Validate ``data``; the first problem becomes a one-line ``ConfigError`` starting with ``source``."""
    from docflow.errors import ConfigError

    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # a union reports one error per member; a member's type mismatch says less than the other's reason
        specific = [e for e in errors if not (_is_variant(str(e["loc"][-1])) and e["type"].endswith("_type"))]
        first = min(specific or errors, key=lambda e: (e["type"] != "extra_forbidden", e["type"] == "missing"))
        raise ConfigError(f"{source}: {_describe(first)}") from None


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            continue
        elif _is_variant(part):
            continue  # pydantic names the union member it tried ("float", "DistributionTable", …)
        else:
            text += f".{part}" if text else str(part)
    return text


def _is_variant(part: str) -> bool:
    return part in ("float", "int", "str", "bool", "constrained-float", "DistributionTable") or part.startswith(
        ("function-after", "list[function-after")
    )


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = ScenarioFile
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            continue
        model = _model_of(field.annotation)
    if model is None or not hasattr(model, "model_fields"):
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _describe(error: Any) -> str:
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    where = _where(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _known_keys(loc), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown key {where}{hint}"
    if kind == "missing":
        return "[[traffic]] needs at least one stream" if where == "traffic" else f"missing key {where}"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"{where} must be an integer, not {value!r}"
    if kind in ("float_type", "float_parsing"):
        return f"{where} must be a number, not {value!r}"
    if kind == "string_type":
        return f"{where} must be a string, not {value!r}"
    if kind == "bool_type":
        return f"{where} must be true or false, not {value!r}"
    if kind in ("list_type", "model_type", "dict_type", "model_attributes_type"):
        wanted = {"list_type": "a list", "dict_type": "a table"}.get(kind, "a table")
        return f"{where} must be {wanted}, not {value!r}"
    if kind == "literal_error":
        return f"{where}: expected one of {error['ctx']['expected']}, not {value!r}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(error["ctx"].values()))
        shown = f"{bound:g}" if isinstance(bound, int | float) else bound
        return f"{where} must be {sign} {shown}, not {value!r}"
    if kind == "too_short":
        return f"{where} must not be empty" if where != "traffic" else "[[traffic]] needs at least one stream"
    if kind == "value_error":
        return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
    return f"{where}: {error['msg']}, not {value!r}"
