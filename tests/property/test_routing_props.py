"""Route planning invariants over the Tiền Giang topology (with hubs) for every policy."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from docflow.domain.routing import NATIONAL_AXIS, RoutingPolicy, plan_route, province_number
from docflow.domain.topologies import tien_giang_2017

REGISTRY = tien_giang_2017(with_hubs=True)
AGENCIES = [a.code for a in REGISTRY if not a.code.is_hub]
pairs = st.tuples(st.sampled_from(AGENCIES), st.sampled_from(AGENCIES)).filter(lambda p: p[0] != p[1])


@settings(max_examples=200, deadline=None)
@given(pair=pairs, policy=st.sampled_from(list(RoutingPolicy)))
def test_every_route_runs_from_sender_to_recipient_without_repeats(pair, policy):
    sender, recipient = pair
    route = plan_route(REGISTRY, sender, recipient, policy)
    assert route.hops[0] == sender and route.hops[-1] == recipient
    assert len(set(route.hops)) == len(route.hops)
    assert route.reversed().hops == tuple(reversed(route.hops))
    walked = [sender]
    while (nxt := route.next_hop(walked[-1])) is not None:
        walked.append(nxt)
    assert tuple(walked) == route.hops


@settings(max_examples=200, deadline=None)
@given(pair=pairs)
def test_hierarchical_hops_are_tree_neighbours_through_the_lowest_common_ancestor(pair):
    sender, recipient = pair
    hops = plan_route(REGISTRY, sender, recipient, RoutingPolicy.HIERARCHICAL).hops
    for here, there in itertools.pairwise(hops):
        assert REGISTRY.parent(here) == there or REGISTRY.parent(there) == here
    assert REGISTRY.lca(sender, recipient) in hops


@settings(max_examples=200, deadline=None)
@given(pair=pairs)
def test_hub_routes_use_the_axis_only_between_provinces(pair):
    sender, recipient = pair
    hops = plan_route(REGISTRY, sender, recipient, RoutingPolicy.HUB).hops
    same_province = province_number(sender) is not None and province_number(sender) == province_number(recipient)
    assert (NATIONAL_AXIS in hops) is not same_province
    assert all(h.is_hub for h in hops[1:-1])
