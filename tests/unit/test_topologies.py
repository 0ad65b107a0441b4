import pytest

from docflow.domain.ids import OrganId, Tier
from docflow.domain.registry import AgencyKind, Registry
from docflow.domain.topologies import PROVINCES, national, tien_giang_2017, topology
from docflow.errors import ConfigError

H58 = OrganId("H", 58)
G22 = OrganId("G", 22)

#: 2017 communes per district-level unit, in code order 000.00.50.H58 … 000.00.60.H58.
COMMUNES_2017 = {
    "UBND thành phố Mỹ Tho": 17,
    "UBND thị xã Gò Công": 12,
    "UBND thị xã Cai Lậy": 16,
    "UBND huyện Cái Bè": 25,
    "UBND huyện Cai Lậy": 16,
    "UBND huyện Tân Phước": 13,
    "UBND huyện Châu Thành": 23,
    "UBND huyện Chợ Gạo": 19,
    "UBND huyện Gò Công Tây": 13,
    "UBND huyện Gò Công Đông": 13,
    "UBND huyện Tân Phú Đông": 6,
}


@pytest.fixture(scope="module")
def tg() -> Registry:
    return tien_giang_2017()


@pytest.fixture(scope="module")
def country() -> Registry:
    return national()


def test_tien_giang_has_the_seed_numbers_exactly(tg):
    assert len(tg) == 1 + 2 + 1 + 49 + 11 + 173
    assert tg.count_by_kind() == {
        AgencyKind.GOVERNMENT_OFFICE: 1,
        AgencyKind.MINISTRY: 2,
        AgencyKind.PROVINCE: 1,
        AgencyKind.DEPARTMENT: 49,
        AgencyKind.DISTRICT: 11,
        AgencyKind.COMMUNE: 173,
    }
    assert tg.count_by_tier() == {Tier.CENTRAL: 3, Tier.PROVINCE: 1, Tier.DISTRICT: 60, Tier.COMMUNE: 173}
    assert tg.root == G22 and tg.children(G22) == (OrganId("G", 12), OrganId("G", 14), H58)
    assert len(tg.departments_of(H58)) == 49
    assert len(tg.districts_of(H58)) == 11
    assert len(tg.communes_of(H58)) == 173
    assert len(tg.descendants(H58)) == 49 + 11 + 173


def test_tien_giang_districts_and_their_communes(tg):
    districts = tg.districts_of(H58)
    assert districts == tuple(OrganId("H", 58, n) for n in range(50, 61))
    assert {tg[d].name: len(tg.communes_of(d)) for d in districts} == COMMUNES_2017
    for district in districts:
        communes = tg.communes_of(district)
        assert communes == tg.children(district)
        assert [c.level3 for c in communes] == list(range(20, 20 + len(communes)))
        assert all(c.tier is Tier.COMMUNE and tg.depth(c) == 3 for c in communes)


def test_tien_giang_names_and_headers(tg):
    assert tg[H58].name == "UBND tỉnh Tiền Giang"
    assert tg["000.00.01.H58"].name == "Văn phòng UBND tỉnh Tiền Giang"
    assert tg["000.00.16.H58"].name == "Sở Y tế tỉnh Tiền Giang"
    assert tg["000.00.17.H58"].name == "Thanh tra tỉnh Tiền Giang"
    assert tg["000.00.18.H58"].name == "Ban Dân tộc tỉnh Tiền Giang"
    assert tg["000.21.50.H58"].name == "UBND phường 2, thành phố Mỹ Tho"
    assert tg["000.20.60.H58"].name == "UBND xã Phú Đông, huyện Tân Phú Đông"
    names = [tg[c].name for c in tg.communes_of(H58)]
    assert len(set(names)) == len(names)
    header = tg.organization("000.20.53.H58")
    assert header.organ_name == "UBND thị trấn Cái Bè, huyện Cái Bè"
    assert header.organization_in_charge == "UBND huyện Cái Bè"
    assert header.organ_add.endswith("huyện Cái Bè, Tỉnh Tiền Giang")
    assert header.email == "x20.h53@tiengiang.gov.vn"
    for agency in tg:
        if agency.parent is not None:
            assert agency.organization.organization_in_charge == tg[agency.parent].name


def test_generators_are_deterministic(tg):
    assert tien_giang_2017() == tg
    assert [a.organization for a in tien_giang_2017()] == [a.organization for a in tg]


def test_with_hubs_adds_the_axis_and_the_provincial_hub():
    reg = tien_giang_2017(with_hubs=True)
    assert len(reg) == 237 + 2
    assert reg.select(kinds={AgencyKind.HUB}) == (OrganId.parse("00.00.W00"), OrganId.parse("00.58.W00"))
    assert reg.parent("00.58.W00") == H58 and reg.parent("00.00.W00") == G22
    assert reg["00.58.W00"].tier is Tier.PROVINCE


def test_national_sizes(country):
    assert 12_500 <= len(country) <= 14_000
    kinds = country.count_by_kind()
    assert kinds[AgencyKind.GOVERNMENT_OFFICE] == 1
    assert 20 <= kinds[AgencyKind.MINISTRY] <= 30
    assert kinds[AgencyKind.PROVINCE] == 63
    assert 650 <= kinds[AgencyKind.DISTRICT] <= 750
    assert 10_000 <= kinds[AgencyKind.COMMUNE] <= 11_200
    assert kinds[AgencyKind.OFFICE] == kinds[AgencyKind.DISTRICT]
    # the figures the generator's docstring states
    assert (len(country), kinds[AgencyKind.DISTRICT], kinds[AgencyKind.COMMUNE]) == (13_290, 690, 10_534)


def test_national_provinces_are_numbered_alphabetically(country):
    provinces = country.provinces()
    assert provinces == tuple(OrganId("H", n) for n in range(1, 64))
    assert len(PROVINCES) == 63
    expected = {29: "Hồ Chí Minh", 41: "Nghệ An", 53: "Tây Ninh", 56: "Thanh Hóa", 58: "Tiền Giang", 59: "Trà Vinh"}
    for number, name in expected.items():
        assert country[OrganId("H", number)].name.endswith(name)
    assert country["000.00.00.H24"].name == "UBND thành phố Hà Nội"
    assert country["000.00.00.G01"].name == "Bộ Công an" and country["000.00.00.G19"].kind is AgencyKind.MINISTRY


def test_national_provinces_are_shaped_alike(country):
    for province in country.provinces():
        assert 8 <= len(country.districts_of(province)) <= 15
        assert 18 <= len(country.departments_of(province)) <= 49
        assert country.parent(province) == G22
    assert all(country.depth(c) <= 3 for c in country.codes)


def test_national_tien_giang_keeps_its_real_shape(country, tg):
    assert len(country.departments_of(H58)) == 49
    assert [country[d].name for d in country.districts_of(H58)] == list(COMMUNES_2017)
    assert len(country.communes_of(H58)) == 173
    assert country[H58].organization == tg[H58].organization


def test_national_paths_cross_the_government_office(country):
    path = country.path("000.20.50.H58", "000.20.50.H24")
    assert [p.tier for p in path] == [Tier.COMMUNE, Tier.DISTRICT, Tier.PROVINCE, Tier.CENTRAL, Tier.PROVINCE,
                                      Tier.DISTRICT, Tier.COMMUNE]  # fmt: skip
    assert path[3] == G22


def test_topology_lookup():
    assert topology("tien_giang_2017") == tien_giang_2017()
    assert len(topology(" Tien_Giang_2017 ")) == 237
    with pytest.raises(ConfigError, match=r"unknown topology 'mars'.*national, tien_giang_2017"):
        topology("mars")
