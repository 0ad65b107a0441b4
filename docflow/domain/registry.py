"""The four-tier agency registry: an immutable tree of agencies with O(1) lookup by code.

The root is the Government Office (``000.00.00.G22``) in the national topologies; ministries and
provinces hang under it, departments and district people's committees under their province, communes
under their district.  Each entry is an ``Agency``: the message-header ``Organization`` (name, organisation
in charge, address, e-mail, phone, fax, website) plus the registry's own ``kind`` and the ``parent`` code.
The parent is stored, not derived from the code: level-1 codes hang under the Government Office, and a
directory may place a node anywhere as long as the whole forms one tree.

Tree navigation and selections return ``OrganId`` tuples (what routing and messages need); ``registry[code]``
gives the ``Agency`` and ``registry.organization(code)`` the header.  Codes may be given as ``OrganId`` or
text: text is looked up in a dict first, parsed only when not found verbatim.

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from docflow.domain.envelope import Organization
from docflow.domain.ids import OrganId, Tier, organ_id
from docflow.errors import RegistryError

Code = OrganId | str


class AgencyKind(StrEnum):
    """What an agency is, beyond what its code says (a level-3 code is a commune *or* an office)."""

    GOVERNMENT_OFFICE = "government_office"
    MINISTRY = "ministry"  # ministries and other central bodies
    HUB = "hub"  # a connecting system: the national axis, a provincial integration platform
    PROVINCE = "province"  # a provincial people's committee
    DEPARTMENT = "department"  # a department (sở) or other province-level agency
    DISTRICT = "district"  # a district-level people's committee (city, town, district)
    OFFICE = "office"  # an office under a department or a district
    COMMUNE = "commune"  # a commune-level people's committee (xã, phường, thị trấn)
    UNIT = "unit"  # anything else

    @classmethod
    def parse(cls, text: str) -> AgencyKind:
        """The kind named ``text`` (case-insensitive); ``RegistryError`` listing the kinds otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(k.value for k in cls)
            raise RegistryError(f"unknown agency kind {text!r}: expected one of {known}") from None


@dataclass(frozen=True, slots=True)
class Agency:
    """One registry entry: the header ``organization``, what it is, and where it hangs."""

    organization: Organization
    kind: AgencyKind
    parent: OrganId | None = None

    def __post_init__(self) -> None:
        if self.parent is not None and self.parent == self.organization.organ_id:
            raise RegistryError(f"agency {self.code} cannot be its own parent")

    @classmethod
    def of(
        cls,
        code: Code,
        name: str,
        kind: AgencyKind | str,
        parent: Code | None = None,
        *,
        organization_in_charge: str = "",
        address: str = "",
        email: str = "",
        telephone: str = "",
        fax: str = "",
        website: str = "",
    ) -> Agency:
        """Build an entry from plain values (codes as text or ``OrganId``, kind as text or enum)."""
        org = Organization(organ_id(code), name, organization_in_charge, address, email, telephone, fax, website)
        kind = kind if isinstance(kind, AgencyKind) else AgencyKind.parse(kind)
        return cls(org, kind, None if parent is None else organ_id(parent))

    @property
    def code(self) -> OrganId:
        return self.organization.organ_id

    @property
    def name(self) -> str:
        return self.organization.organ_name

    @property
    def tier(self) -> Tier:
        return self.organization.organ_id.tier


class Registry:
    """An immutable tree of agencies; build it once, then look up, navigate and select.

    ``origins`` optionally maps codes to where they were read (``"agencies.csv, line 7"``) so that build
    errors name the place.  Raises ``RegistryError`` on an empty input, a duplicate code, a missing
    parent, no root or more than one, and cycles.
    """

    __slots__ = ("_agencies", "_by_text", "_children", "_depth", "_order", "_root")

    def __init__(self, agencies: Iterable[Agency], *, origins: Mapping[OrganId, str] | None = None) -> None:
        where = origins or {}

        def at(code: OrganId) -> str:
            return f"{where[code]}: " if code in where else ""

        by_code: dict[OrganId, Agency] = {}
        for agency in agencies:
            code = agency.code
            if code in by_code:
                raise RegistryError(f"{at(code)}duplicate agency {code}: already registered as {by_code[code].name!r}")
            by_code[code] = agency
        if not by_code:
            raise RegistryError("a registry needs at least one agency")
        roots = [a.code for a in by_code.values() if a.parent is None]
        children: dict[OrganId, list[OrganId]] = {code: [] for code in by_code}
        for agency in by_code.values():
            parent = agency.parent
            if parent is None:
                continue
            if parent not in by_code:
                raise RegistryError(f"{at(agency.code)}agency {agency.code}: parent {parent} is not in the registry")
            children[parent].append(agency.code)
        if len(roots) != 1:
            if not roots:
                raise RegistryError("the registry has no root: every agency names a parent, so the tree has a cycle")
            listed = ", ".join(str(r) for r in sorted(roots, key=OrganId.sort_key))
            raise RegistryError(
                f"the registry has {len(roots)} roots ({listed}): exactly one agency may have no parent"
            )
        root = roots[0]
        depth: dict[OrganId, int] = {root: 0}
        stack = [root]
        while stack:
            code = stack.pop()
            below = depth[code] + 1
            for child in children[code]:
                depth[child] = below
                stack.append(child)
        if len(depth) != len(by_code):
            stray = min((c for c in by_code if c not in depth), key=OrganId.sort_key)
            raise RegistryError(f"{at(stray)}agency {stray} is on a cycle: {_cycle_text(by_code, stray)}")
        self._root = root
        self._agencies: Mapping[OrganId, Agency] = MappingProxyType(by_code)
        self._children: Mapping[OrganId, tuple[OrganId, ...]] = MappingProxyType(
            {code: tuple(sorted(kids, key=OrganId.sort_key)) for code, kids in children.items()}
        )
        self._depth: Mapping[OrganId, int] = MappingProxyType(depth)
        self._order: tuple[OrganId, ...] = tuple(sorted(by_code, key=OrganId.sort_key))
        self._by_text: Mapping[str, OrganId] = MappingProxyType({str(code): code for code in self._order})

    # -- lookup ---------------------------------------------------------------------------------------

    def _code(self, code: Code) -> OrganId:
        if isinstance(code, OrganId):
            if code in self._agencies:
                return code
            raise RegistryError(f"unknown agency {code}: not in the registry")
        found = self._by_text.get(code) if isinstance(code, str) else None
        if found is not None:
            return found
        parsed = OrganId.parse(code)  # IdentifierError for malformed text
        if parsed in self._agencies:
            return parsed
        raise RegistryError(f"unknown agency {parsed}: not in the registry")

    def code(self, code: Code) -> OrganId:
        """The registered ``OrganId`` for ``code``; ``RegistryError`` when unknown."""
        return self._code(code)

    def __getitem__(self, code: Code) -> Agency:
        return self._agencies[self._code(code)]

    def get(self, code: Code) -> Agency | None:
        """The agency, or None when ``code`` is well-formed but unknown."""
        try:
            return self[code]
        except RegistryError:
            return None

    def organization(self, code: Code) -> Organization:
        """The message-header ``Organization`` (From/To) of ``code``."""
        return self[code].organization

    def __contains__(self, code: object) -> bool:
        if isinstance(code, OrganId):
            return code in self._agencies
        if not isinstance(code, str):
            return False
        if code in self._by_text:
            return True
        try:
            return OrganId.parse(code) in self._agencies
        except ValueError:
            return False

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Agency]:
        """Agencies in code order."""
        agencies = self._agencies
        return (agencies[code] for code in self._order)

    @property
    def codes(self) -> tuple[OrganId, ...]:
        """Every code, in code order."""
        return self._order

    @property
    def root(self) -> OrganId:
        return self._root

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Registry):
            return NotImplemented
        return self._agencies == other._agencies

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Registry root={self._root} agencies={len(self)}>"

    # -- navigation -----------------------------------------------------------------------------------

    def parent(self, code: Code) -> OrganId | None:
        return self._agencies[self._code(code)].parent

    def children(self, code: Code) -> tuple[OrganId, ...]:
        """Direct children in code order."""
        return self._children[self._code(code)]

    def depth(self, code: Code) -> int:
        """Distance from the root (the root is 0)."""
        return self._depth[self._code(code)]

    def ancestors(self, code: Code) -> tuple[OrganId, ...]:
        """From the parent up to the root (empty for the root)."""
        agencies = self._agencies
        chain: list[OrganId] = []
        parent = agencies[self._code(code)].parent
        while parent is not None:
            chain.append(parent)
            parent = agencies[parent].parent
        return tuple(chain)

    def descendants(self, code: Code) -> tuple[OrganId, ...]:
        """Everything below ``code`` in tree (pre-)order, children in code order; ``code`` itself excluded."""
        children = self._children
        found: list[OrganId] = []
        stack = list(reversed(children[self._code(code)]))
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(children[node]))
        return tuple(found)

    def is_ancestor(self, ancestor: Code, code: Code) -> bool:
        """True when ``ancestor`` is ``code`` itself or above it."""
        return self.lca(ancestor, code) == self._code(ancestor)

    def lca(self, a: Code, b: Code) -> OrganId:
        """The lowest common ancestor of ``a`` and ``b`` (either one itself when it is above the other)."""
        x, y = self._code(a), self._code(b)
        agencies, depth = self._agencies, self._depth
        dx, dy = depth[x], depth[y]
        while dx > dy:
            x, dx = agencies[x].parent, dx - 1  # type: ignore[assignment]
        while dy > dx:
            y, dy = agencies[y].parent, dy - 1  # type: ignore[assignment]
        while x != y:
            x, y = agencies[x].parent, agencies[y].parent  # type: ignore[assignment]
        return x

    def path(self, a: Code, b: Code) -> tuple[OrganId, ...]:
        """The tree path ``a`` → lowest common ancestor → ``b``, both ends included (``(a,)`` when a == b)."""
        x, y = self._code(a), self._code(b)
        top = self.lca(x, y)
        agencies = self._agencies
        up = [x]
        while up[-1] != top:
            up.append(agencies[up[-1]].parent)  # type: ignore[arg-type]
        down: list[OrganId] = []
        node = y
        while node != top:
            down.append(node)
            node = agencies[node].parent  # type: ignore[assignment]
        return (*up, *reversed(down))

    # -- selections -----------------------------------------------------------------------------------

    def select(
        self,
        *,
        under: Code | None = None,
        tiers: Collection[Tier] | None = None,
        kinds: Collection[AgencyKind] | None = None,
    ) -> tuple[OrganId, ...]:
        """Codes in code order, strictly below ``under`` (everything when None), of the given tiers and kinds."""
        agencies = self._agencies
        if under is None:
            pool: Iterable[OrganId] = self._order
        else:
            pool = sorted(self.descendants(under), key=OrganId.sort_key)
        return tuple(
            code
            for code in pool
            if (kinds is None or agencies[code].kind in kinds) and (tiers is None or code.tier in tiers)
        )

    def communes_of(self, district: Code) -> tuple[OrganId, ...]:
        """The communes under ``district``."""
        return self.select(under=district, kinds={AgencyKind.COMMUNE})

    def districts_of(self, province: Code) -> tuple[OrganId, ...]:
        """The district-level people's committees under ``province``."""
        return self.select(under=province, kinds={AgencyKind.DISTRICT})

    def departments_of(self, province: Code) -> tuple[OrganId, ...]:
        """The departments and province-level agencies under ``province``."""
        return self.select(under=province, kinds={AgencyKind.DEPARTMENT})

    def provinces(self) -> tuple[OrganId, ...]:
        """Every provincial people's committee."""
        return self.select(kinds={AgencyKind.PROVINCE})

    def count_by_tier(self) -> dict[Tier, int]:
        """How many agencies in each tier (every tier present, in tier order)."""
        counts = dict.fromkeys(Tier, 0)
        for code in self._order:
            counts[code.tier] += 1
        return counts

    def count_by_kind(self) -> dict[AgencyKind, int]:
        """How many agencies of each kind present, in the order ``AgencyKind`` declares them."""
        counts = dict.fromkeys(AgencyKind, 0)
        for agency in self._agencies.values():
            counts[agency.kind] += 1
        return {kind: n for kind, n in counts.items() if n}


def _cycle_text(by_code: Mapping[OrganId, Agency], start: OrganId) -> str:
    seen: list[OrganId] = []
    node: OrganId | None = start
    while node is not None and node not in seen:
        seen.append(node)
        node = by_code[node].parent
    loop = seen[seen.index(node) :] if node is not None else seen
    return " → ".join(str(c) for c in [*loop, loop[0]])
