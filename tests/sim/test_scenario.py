from pathlib import Path

import pytest
from sim_scenarios import TINY, tiny

from docflow.domain.ids import OrganId
from docflow.domain.registry import AgencyKind
from docflow.domain.routing import RoutingPolicy
from docflow.domain.topologies import tien_giang_2017
from docflow.errors import ConfigError
from docflow.sim import load_scenario, parse_scenario
from docflow.sim.traffic import schedule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_tiny_scenario_parses_into_frozen_values() -> None:
    s = tiny()
    assert s.name == "tiny" and s.seed == 7 and s.duration == 24 * 3600 and s.end == 48 * 3600
    assert s.policy is RoutingPolicy.HIERARCHICAL and not s.pull
    assert s.traffic[0].senders == (AgencyKind.PROVINCE,) and s.traffic[1].under == OrganId.parse("000.00.50.H58")
    assert s.deadline("directive") == 8 * 3600 and s.deadline("letter") is None
    with pytest.raises(AttributeError):
        s.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("sections", "names"),
    [
        ({"routing": {"policy": "carrier-pigeon"}}, "routing.policy"),
        ({"routing": {"mode": "sometimes"}}, "routing.mode"),
        ({"network": {"latency_seconds": -1}}, "network.latency_seconds"),
        ({"network": {"latency": 1}}, "network.latency"),
        ({"clerks": {"count": "two"}}, "clerks.count"),
        ({"clerks": {"kind": {"wizard": {"count": 1}}}}, "clerks.kind.wizard"),
        (
            {"traffic": [{"kind": "rumour", "from": "province", "to": "district", "rate_per_hour": 1}]},
            "traffic[0].kind",
        ),
        ({"traffic": [{"kind": "report", "from": "province", "to": "district"}]}, "traffic[0].rate_per_hour"),
        ({"traffic": []}, "[[traffic]]"),
        ({"faults": {"outage": [{"node": "not-a-code", "start_hour": 1, "hours": 1}]}}, "faults.outage[0].node"),
        ({"faults": {"hub_down": [{"hub": "000.00.50.H58", "start_hour": 1, "hours": 1}]}}, "faults.hub_down[0].hub"),
        ({"faults": {"loss_rate": 2}}, "faults.loss_rate"),
        ({"calendar": {"hours": "17:00-08:00"}}, "calendar.hours"),
    ],
)
def test_errors_name_the_key(sections: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]")):
        tiny(**sections)


def test_overrides_replace_values() -> None:
    s = parse_scenario(TINY, overrides=("routing.mode=pull", "routing.poll_interval_minutes=5", "scenario.seed=11"))
    assert s.pull and s.poll_interval == 300 and s.seed == 11
    with pytest.raises(ConfigError, match="override"):
        parse_scenario(TINY, overrides=("no-equals-sign",))


def test_load_scenario_reports_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_scenario(bad)


@pytest.mark.parametrize("name", ["tien_giang_2017", "national_day", "district_outage", "pull_vs_push"])
def test_examples_load(name: str) -> None:
    s = load_scenario(EXAMPLES / f"{name}.toml")
    assert s.traffic and s.duration > 0


def test_schedule_is_deterministic_and_follows_the_streams() -> None:
    s, registry = tiny(), tien_giang_2017()
    first, again, other = schedule(s, registry, 7), schedule(s, registry, 7), schedule(s, registry, 8)
    assert first == again and first != other
    assert [d.at for d in first] == sorted(d.at for d in first)
    for d in first:
        assert s.calendar.is_open(d.at)  # office hours only
        if d.kind == "directive":
            assert d.sender == "000.00.00.H58" and len(d.recipients) == 11
        else:
            assert d.recipients == ("000.00.50.H58",) and d.sender.startswith("000.")
    codes = [(d.sender, d.code) for d in first]
    assert len(set(codes)) == len(codes)  # DocumentIds never collide


def test_embed_example_scenario_is_valid() -> None:
    import runpy

    namespace = runpy.run_path(str(EXAMPLES / "embed.py"), run_name="embed_example")
    scenario = parse_scenario(namespace["SCENARIO"])
    assert scenario.traffic[0].under == OrganId.parse("000.00.50.H58")
