"""Properties of OrganId (parse/format, ordering) and of the registry tree (LCA, paths)."""

import itertools
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from docflow.domain.ids import OrganId
from docflow.domain.topologies import tien_giang_2017
from docflow.errors import IdentifierError

full_codes = st.builds(
    OrganId,
    prefix=st.sampled_from(string.ascii_uppercase),
    level1=st.integers(0, 99),
    level2=st.integers(0, 99),
    level3=st.integers(0, 99),
    level4=st.integers(0, 999),
)
short_codes = st.builds(
    lambda l1, l2, l3: OrganId("W", l1, l2, l3, 0, short=True),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)
codes = st.one_of(full_codes, short_codes)
# text close to the format (digits, dots, letters), plus anything at all
near_codes = st.text(alphabet="0123456789.GHWAg \n٠", max_size=16)
any_text = st.one_of(near_codes, st.text(max_size=20))

TG = tien_giang_2017()
tg_codes = st.sampled_from(TG.codes)


@given(codes)
def test_format_then_parse_is_the_identity(code):
    text = str(code)
    assert OrganId.parse(text) == code
    assert str(OrganId.parse(text)) == text


@given(any_text)
def test_parse_raises_only_identifier_error(text):
    try:
        code = OrganId.parse(text)
    except IdentifierError as exc:
        assert exc.rule == "organ-id-format"
    else:
        assert str(code) == text.strip()


@given(codes, codes)
def test_ordering_is_total_and_follows_the_parts(a, b):
    assert sum((a < b, a == b, b < a)) == 1
    assert (a < b) == (a.sort_key() < b.sort_key())
    assert (a == b) == (a.sort_key() == b.sort_key())
    assert (a <= b) == (not b < a)
    if a == b:
        assert hash(a) == hash(b)


@given(codes, codes, codes)
def test_ordering_is_transitive(a, b, c):
    x, y, z = sorted([a, b, c])
    assert x <= y <= z and x <= z


@given(codes)
def test_parent_by_code_is_one_level_up(code):
    parent = code.parent
    if parent is None:
        assert code.short or code.level == 1
    else:  # the deepest non-zero part is zeroed, nothing else changes
        parts = [code.level1, code.level2, code.level3, code.level4]
        parts[code.level - 1] = 0
        assert [parent.level1, parent.level2, parent.level3, parent.level4] == parts
        assert parent.prefix == code.prefix and parent.level < code.level and parent < code


@settings(max_examples=200)
@given(tg_codes, tg_codes)
def test_lca_and_path_properties(a, b):
    top = TG.lca(a, b)
    assert TG.is_ancestor(top, a) and TG.is_ancestor(top, b)
    assert top == TG.lca(b, a)
    for child in TG.children(top):  # nothing lower is common to both
        assert not (TG.is_ancestor(child, a) and TG.is_ancestor(child, b))
    path = TG.path(a, b)
    assert path[0] == a and path[-1] == b and top in path
    assert len(set(path)) == len(path)
    assert len(path) == TG.depth(a) + TG.depth(b) - 2 * TG.depth(top) + 1
    for x, y in itertools.pairwise(path):
        assert TG.parent(x) == y or TG.parent(y) == x
    assert TG.path(b, a) == tuple(reversed(path))
