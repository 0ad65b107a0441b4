"""The procedure catalogue: the shipped one is realistic and consistent, user files load, bad ones are named."""

from __future__ import annotations

import pytest

from docflow.domain.procedures import load_catalogue, parse_catalogue, step_agencies
from docflow.domain.registry import AgencyKind
from docflow.domain.topologies import tien_giang_2017
from docflow.domain.worktime import TimeUnit
from docflow.errors import ConfigError

CATALOGUE = load_catalogue()

GOOD = """
[[procedure]]
code = "9.000001"
name = "Thủ tục thử"
tier = "district"
level = 3
days = 2
steps = [ { agency = "district", hours = 4 }, { agency = "department", hours = 8, unit = "Sở Tư pháp" } ]
"""


def test_the_shipped_catalogue_has_twenty_procedures_or_more_across_the_three_desk_tiers():
    assert len(CATALOGUE) >= 20
    for tier in ("commune", "district", "province"):
        assert len(CATALOGUE.at_tier(tier)) >= 5
    assert {p.level for p in CATALOGUE.values()} == {2, 3, 4}
    assert any(p.unit is TimeUnit.CALENDAR_DAYS for p in CATALOGUE.values())
    assert all(p.source and p.name and p.field_name for p in CATALOGUE.values())


def test_birth_registration_is_the_same_day_at_the_commune():
    birth = CATALOGUE["1.001193"]
    assert birth.name == "Đăng ký khai sinh" and birth.days == 0 and not birth.crosses_tiers
    assert {s.agency for s in birth.steps} == {AgencyKind.COMMUNE}


def test_a_land_transfer_goes_commune_district_office_province_department_and_back():
    transfer = CATALOGUE["1.004227"]
    assert [s.agency for s in transfer.steps] == [
        AgencyKind.COMMUNE, AgencyKind.OFFICE, AgencyKind.DEPARTMENT, AgencyKind.COMMUNE,
    ]  # fmt: skip
    assert transfer.total_hours == 80 == sum(s.hours for s in transfer.steps)
    assert transfer.hours_after(1) == 40


def test_steps_resolve_to_agencies_of_the_desks_registry():
    registry = tien_giang_2017()
    commune = next(a.code for a in registry if a.kind is AgencyKind.COMMUNE)
    chain = step_agencies(registry, commune, CATALOGUE["1.004227"])
    district = registry.parent(commune)
    assert chain[0] == chain[3] == commune
    assert chain[1] == district  # no land office in the registry: the district handles it
    assert registry[chain[2]].name.startswith("Sở Tài nguyên và Môi trường")


def test_a_user_file_loads(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    catalogue = load_catalogue(path)
    assert list(catalogue) == ["9.000001"] and catalogue["9.000001"].unit is TimeUnit.WORKING_DAYS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("level = 3", "level = 5"), "online level 5"),
        (("days = 2", "days = 1"), "more than the 8 of 1 working days"),
        (('tier = "district"', 'tier = "village"'), "tier 'village'"),
        (('agency = "district", hours = 4', 'agency = "ministry", hours = 4'), "commune/district/office"),
        (('agency = "district", hours = 4', 'agency = "moon", hours = 4'), "unknown agency kind"),
        (('code = "9.000001"\n', ""), "missing 'code'"),
        (("[[procedure]]", "[[procedure"), "not valid TOML"),
    ],
)
def test_bad_catalogues_are_named(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_catalogue(GOOD.replace(*change), "mine.toml")


def test_duplicates_unknown_codes_and_missing_files():
    with pytest.raises(ConfigError, match="listed twice"):
        parse_catalogue(GOOD + GOOD)
    with pytest.raises(KeyError, match="no procedure"):
        CATALOGUE["0.000000"]
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalogue("/nonexistent/procedures.toml")
