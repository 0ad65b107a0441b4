from collections.abc import Sequence

import pytest

from docflow.domain.ids import OrganId
from docflow.domain.routing import (
    NATIONAL_AXIS,
    Route,
    RoutingPolicy,
    plan_route,
    province_number,
    provincial_hub,
)
from docflow.errors import ConfigError, RegistryError

G22 = OrganId.parse("000.00.00.G22")
PROVINCE = OrganId.parse("000.00.00.H58")
DISTRICT = OrganId.parse("000.00.52.H58")
COMMUNE = OrganId.parse("000.21.52.H58")
OTHER_PROVINCE = OrganId.parse("000.00.00.H53")
MINISTRY = OrganId.parse("000.00.00.G12")


class CodeTree:
    """A parent-by-code tree whose level-1 bodies hang under the Government Office."""

    def _up(self, code: OrganId) -> list[OrganId]:
        chain = [code]
        while chain[-1].parent is not None:
            chain.append(chain[-1].parent)
        if chain[-1] != G22:
            chain.append(G22)
        return chain

    def path(self, a: OrganId | str, b: OrganId | str) -> Sequence[OrganId]:
        up_a, up_b = self._up(OrganId.parse(str(a))), self._up(OrganId.parse(str(b)))
        common = next(x for x in up_a if x in up_b)
        return [*up_a[: up_a.index(common) + 1], *reversed(up_b[: up_b.index(common)])]


def test_direct_route_is_one_hop():
    route = plan_route(None, COMMUNE, G22, RoutingPolicy.DIRECT)
    assert route.hops == (COMMUNE, G22)
    assert route.next_hop(COMMUNE) == G22 and route.next_hop(G22) is None


def test_hierarchical_commune_to_government_office_climbs_every_tier():
    route = plan_route(CodeTree(), COMMUNE, G22, RoutingPolicy.HIERARCHICAL)
    assert [str(h) for h in route.hops] == ["000.21.52.H58", "000.00.52.H58", "000.00.00.H58", "000.00.00.G22"]


def test_hierarchical_needs_a_tree():
    with pytest.raises(ConfigError):
        plan_route(None, COMMUNE, G22, RoutingPolicy.HIERARCHICAL)


def test_hub_route_between_provinces_passes_both_hubs_and_the_axis():
    route = plan_route(None, COMMUNE, OTHER_PROVINCE, RoutingPolicy.HUB)
    assert route.hops == (COMMUNE, provincial_hub(58), NATIONAL_AXIS, provincial_hub(53), OTHER_PROVINCE)
    assert str(provincial_hub(58)) == "00.58.W00" and str(NATIONAL_AXIS) == "00.00.W00"


def test_hub_route_inside_one_province_meets_at_the_provincial_hub():
    route = plan_route(None, COMMUNE, PROVINCE, RoutingPolicy.HUB)
    assert route.hops == (COMMUNE, provincial_hub(58), PROVINCE)


def test_hub_route_from_a_commune_to_the_government_office():
    route = plan_route(None, COMMUNE, G22, RoutingPolicy.HUB)
    assert route.hops == (COMMUNE, provincial_hub(58), NATIONAL_AXIS, G22)
    assert plan_route(None, MINISTRY, G22, RoutingPolicy.HUB).hops == (MINISTRY, NATIONAL_AXIS, G22)


def test_route_walks_back_for_statuses_and_encodes():
    route = plan_route(None, COMMUNE, OTHER_PROVINCE, RoutingPolicy.HUB)
    assert route.reversed().hops == tuple(reversed(route.hops))
    assert route.previous_hop(OTHER_PROVINCE) == provincial_hub(53)
    assert Route.decode(route.encode()) == route


def test_route_errors_are_clear():
    with pytest.raises(RegistryError, match="itself"):
        plan_route(None, G22, G22, RoutingPolicy.DIRECT)
    with pytest.raises(RegistryError, match="not on the route"):
        plan_route(None, COMMUNE, G22, RoutingPolicy.DIRECT).next_hop(PROVINCE)
    with pytest.raises(ConfigError, match="unknown routing policy"):
        RoutingPolicy.parse("carrier-pigeon")


def test_province_number_of_party_bodies_and_hubs():
    assert province_number(OrganId.parse("000.00.01.A53")) == 53
    assert province_number(MINISTRY) is None
    assert province_number(provincial_hub(7)) == 7
