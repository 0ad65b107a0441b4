"""One-stop dossier traffic in the simulator: the scenario section, both fidelities running the same script
(the real engine carrying hand-overs as dossier messages, the model applying dossier_flow in memory) to the
same figures, report.json's ``dossiers`` object with exactly the issue's keys, report.html's section, and the
example's determinism."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import vl_convert
from sim_scenarios import tiny

from docflow.domain.dossier_stats import FIGURES
from docflow.domain.procedures import load_catalogue
from docflow.domain.worktime import WorkCalendar
from docflow.errors import ConfigError
from docflow.sim import Scenario, load_scenario, simulate, write_reports
from docflow.sim.dossier_report import outcome_chart
from docflow.sim.dossiers import desks, plan
from docflow.sim.driver import load_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "one_stop_tien_giang.toml"
DOSSIERS: dict[str, Any] = {
    "under": "000.00.50.H58",  # Mỹ Tho: the city's desk and its wards' and communes'
    "urban_commune_per_day": 3,
    "rural_commune_per_day": 1,
    "district_per_day": 4,
    "province_per_day": 0,
    "supplement_rate": 0.2,
    "channel_mix": {"desk": 0.6, "online": 0.4},
    "refusal_rate": 0.2,
    "step_share": {"dist": "lognormal", "mean": 0.9, "sigma": 0.6},
}


def scenario(**dossiers: Any) -> Scenario:
    return tiny(dossiers={**DOSSIERS, **dossiers}, scenario={"duration_hours": 48, "drain_hours": 400})


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    s = scenario()
    return {fidelity: simulate(s, fidelity=fidelity).report for fidelity in ("model", "full")}


def test_the_dossiers_object_has_exactly_the_issue_keys(reports: dict[str, dict[str, Any]]) -> None:
    for report in reports.values():
        d = report["dossiers"]
        assert set(d) == {*FIGURES, "by_tier", "by_level"}
        assert set(d["by_tier"]) == {"commune", "district", "province"}
        assert set(d["by_level"]) == {"2", "3", "4"}
        for group in (*d["by_tier"].values(), *d["by_level"].values()):
            assert set(group) == set(FIGURES)


def test_both_fidelities_give_the_same_dossier_figures(reports: dict[str, dict[str, Any]]) -> None:
    model, full = reports["model"], reports["full"]
    assert model["dossiers"] == full["dossiers"]
    assert model["dossier_late_agencies"] == full["dossier_late_agencies"]
    assert full["quarantined"] == 0  # every hand-over the engine carried was applied


def test_the_figures_add_up(reports: dict[str, dict[str, Any]]) -> None:
    d = reports["full"]["dossiers"]
    assert d["submitted"] > 50
    for key in ("submitted", "returned", "late", "apologies"):
        assert sum(t[key] for t in d["by_tier"].values()) == d[key] == sum(lv[key] for lv in d["by_level"].values())
    assert d["by_tier"]["province"]["submitted"] == 0  # no province desk under Mỹ Tho
    assert d["submitted"] == d["received"] + d["refused"]  # declined online filings were never received
    assert d["refused"] > 0 and d["withdrawn"] == 0
    assert d["returned"] + d["open"] + d["refused"] == d["submitted"]
    processed = d["early"] + d["on_time"] + d["late"]
    assert d["returned"] <= processed <= d["returned"] + d["open"]
    assert d["late"] > 0 and d["apologies"] > 0  # slow steps (mean 0.9 of the legal hours) make some late
    assert d["on_time_share"] == pytest.approx((d["early"] + d["on_time"]) / processed)
    late = reports["full"]["dossier_late_agencies"]
    assert late and all(0 < a["late_steps"] <= a["steps"] for a in late)
    assert [a["late_steps"] for a in late] == sorted((a["late_steps"] for a in late), reverse=True)


def test_volumes_follow_the_desk_kinds() -> None:
    s = scenario(under=None, province_per_day=60)
    registry = load_registry(s)
    volumes = {desk: volume for desk, volume, _ in desks(s.dossiers, registry)}  # type: ignore[arg-type]
    assert len(volumes) == 173 + 11 + 1
    assert volumes["000.20.50.H58"] == 3  # phường 1, Mỹ Tho: urban
    assert sorted(set(volumes.values())) == [1, 3, 4, 60]
    defaults = tiny(dossiers={}, scenario={"duration_hours": 24})
    assert defaults.dossiers is not None and defaults.dossiers.urban_commune_per_day == 30


def test_the_plan_is_deterministic_and_inside_office_hours() -> None:
    s, calendar, catalogue = scenario(), WorkCalendar(), load_catalogue()
    registry = load_registry(s)
    first, again = plan(s, registry, catalogue, calendar, 1), plan(s, registry, catalogue, calendar, 1)
    assert first == again != plan(s, registry, catalogue, calendar, 2)
    for filing in first:
        moment = s.calendar.start + timedelta(seconds=filing.at)
        assert calendar.is_working_time(moment)
        assert catalogue[filing.procedure].tier == registry[filing.desk].kind.value
        assert len(filing.shares) == len(catalogue[filing.procedure].steps)


def test_bad_dossier_sections_are_named() -> None:
    with pytest.raises(ConfigError, match=r"dossiers\.refusal_rate must be <= 1"):
        scenario(refusal_rate=2)
    with pytest.raises(ConfigError, match=r"unknown key dossiers\.urban_commune_per_dya \(did you mean"):
        tiny(dossiers={"urban_commune_per_dya": 3})
    with pytest.raises(ConfigError, match=r"dossiers\.level_mix"):
        scenario(level_mix={"5": 1.0})


def test_report_html_shows_the_dossiers_with_a_chart(tmp_path: Path, reports: dict[str, dict[str, Any]]) -> None:
    result = simulate(scenario(), fidelity="model")
    _, page = write_reports(result, tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "One-stop dossiers" in text and "Agencies with late steps" in text and "chart-dossiers" in text
    assert "UBND thành phố Mỹ Tho" in text  # a late agency, by name
    chart = outcome_chart(result.report["dossiers"])
    assert chart is not None
    svg = vl_convert.vegalite_to_svg(chart)
    assert svg.count("<path") > 10  # the bars were drawn


def test_the_example_runs_deterministically_on_one_district() -> None:
    overrides = ("dossiers.under=000.00.51.H58", "scenario.duration_hours=24", "scenario.drain_hours=400")
    s = load_scenario(EXAMPLE, overrides=overrides)
    first, again = (simulate(s, fidelity="model").report for _ in range(2))
    assert first["dossiers"] == again["dossiers"] and first["dossiers"]["submitted"] > 100
    assert first["dossiers"]["on_time_share"] > 0.9


def test_duplicated_hand_overs_change_nothing(reports: dict[str, dict[str, Any]]) -> None:
    """The link delivers 30 % of messages twice: the inboxes absorb the copies, the dossiers end the same."""
    doubled = tiny(
        dossiers=DOSSIERS, scenario={"duration_hours": 48, "drain_hours": 400}, faults={"duplicate_rate": 0.3}
    )
    report = simulate(doubled, fidelity="full").report
    assert report["duplicates"] > 50 and report["quarantined"] == 0
    assert report["dossiers"] == reports["full"]["dossiers"]
