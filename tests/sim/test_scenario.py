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


@pytest.mark.parametrize(
    "name", ["tien_giang_2017", "national_day", "district_outage", "pull_vs_push", "one_stop_tien_giang"]
)
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


def write_scenario(tmp_path: Path, head: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(
        f"[scenario]\n{head}\n"
        '[[traffic]]\nkind = "directive"\nfrom = "province"\nto = "district"\nrate_per_hour = 0.2\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("duraton_hours = 10", "unknown key scenario.duraton_hours (did you mean duration_hours?)"),
        ("duration_hours = 10\nseed = 1.5", "scenario.seed must be an integer, not 1.5"),
        ('duration_hours = 10\nseed = "abc"', "scenario.seed must be an integer, not 'abc'"),
        ("duration_hours = 10\nseed = true", "scenario.seed must be an integer, not True"),
        ("duration_hours = 0", "scenario.duration_hours must be > 0, not 0"),
        ("duration_hours = 10\nstart = 3", "scenario.start: Input should be a valid datetime, not 3"),
    ],
)
def test_file_errors_are_one_line_naming_the_file_and_the_key(tmp_path: Path, head: str, message: str) -> None:
    path = write_scenario(tmp_path, head)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert text == f"scenario {path}: {message}" and "\n" not in text


def test_a_misspelt_key_deep_in_a_table_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"unknown key clerks\.kind\.province\.cuont \(did you mean count\?\)"):
        tiny(clerks={"kind": {"province": {"cuont": 2}}})
    with pytest.raises(ConfigError, match=r"unknown key traffic\[0\]\.form \(did you mean from\?\)"):
        tiny(traffic=[{"kind": "report", "form": "commune", "to": "district", "rate_per_hour": 1}])
    with pytest.raises(ConfigError, match=r"^scenario: unknown key scenario\.zzz$"):
        tiny(scenario={"duration_hours": 1, "zzz": 1})


def test_distributions_are_numbers_or_complete_tables() -> None:
    s = tiny(clerks={"accept_minutes": 5, "complete_minutes": {"dist": "uniform", "low": 10, "high": 30}})
    steps = dict(s.clerks.steps)
    assert steps["accept"].kind == "fixed" and steps["accept"].mean == 5.0
    assert (steps["complete"].low, steps["complete"].high, steps["complete"].mean) == (10.0, 30.0, 20.0)
    with pytest.raises(ConfigError, match=r"clerks\.accept_minutes: a uniform distribution needs low and high"):
        tiny(clerks={"accept_minutes": {"dist": "uniform", "low": 1}})
    with pytest.raises(ConfigError, match=r"clerks\.accept_minutes must be a number, not 'soon'"):
        tiny(clerks={"accept_minutes": "soon"})


def test_per_kind_clerks_inherit_the_general_values() -> None:
    s = tiny(clerks={"count": 2, "reject_rate": 0.1, "kind": {"province": {"count": 5}}})
    province = s.clerk_spec(AgencyKind.PROVINCE)
    assert province.count == 5 and province.reject_rate == 0.1 and province.steps == s.clerks.steps
    assert s.clerk_spec(AgencyKind.COMMUNE).count == 2


def test_an_unknown_under_agency_names_the_traffic_entry() -> None:
    from docflow.sim import simulate

    traffic = [
        {
            "name": "reports from nowhere",
            "kind": "report",
            "from": "commune",
            "to": "district",
            "under": "000.00.99.H58",
            "rate_per_hour": 1,
        }
    ]
    with pytest.raises(ConfigError) as caught:
        simulate(tiny(traffic=traffic), fidelity="model")
    assert str(caught.value) == (
        "scenario: traffic[0] (reports from nowhere): under = 000.00.99.H58, which is not in the topology "
        "tien_giang_2017"
    )


def test_the_json_schema_in_docs_is_current() -> None:
    import json

    from docflow.sim.scenario_file import json_schema

    kept = EXAMPLES.parent / "docs" / "scenario.schema.json"
    assert json.loads(kept.read_text(encoding="utf-8")) == json_schema(), (
        "regenerate: docflow simulate --schema > docs/scenario.schema.json"
    )
    assert set(json_schema()["properties"]) == {
        "scenario",
        "calendar",
        "topology",
        "routing",
        "network",
        "clerks",
        "deadlines",
        "traffic",
        "faults",
        "dossiers",
    }
    assert json_schema()["required"] == ["scenario", "traffic"]
