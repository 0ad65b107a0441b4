"""Agency identifier codes (mã định danh, QCVN 102:2016) and document identifiers.

An ``OrganId`` is ``CCC.BB.AA.XNN``, read right to left: ``XNN`` the level-1 body (G.. ministries and
the Government Office, H01–H63 provinces, A.. Party bodies, W.. connecting systems), ``AA`` a unit under
it (a department or a district), ``BB`` a unit under that (an office, a commune), ``CCC`` a unit under
that.  Unused levels are zero-filled, so the structural level and the parent follow from the code alone.
Connecting systems (hubs) also appear in the short form ``BB.AA.W00`` (e.g. ``00.53.W00``); it is accepted
and kept as is.

Two notions of height, deliberately separate:

``OrganId.level`` (1–4)
    structural: the deepest non-zero part of the code (``000.00.00.H58`` is 1, ``000.21.52.H58`` is 3).
``OrganId.tier`` (``Tier``)
    the tier of the four-tier interconnection the code belongs to:

    - ``CENTRAL`` — every code whose level-1 body is national: the Government Office ``000.00.00.G22``,
      ministries and central bodies (G..), their own units at any level, connecting systems (W..) other than
      a provincial hub, and any other non-provincial letter;
    - ``PROVINCE`` — a level-1 provincial code (H.., the provincial people's committee; A.. Party bodies are
      numbered by province too) and a provincial hub ``00.nn.W00``;
    - ``DISTRICT`` — a level-2 unit of a province: its departments *and* its district people's committees,
      the second tier below a province;
    - ``COMMUNE`` — level 3 (and 4) of a province: communes under a district, but also the offices of a
      department or of a district.  The registry's own ``kind`` tells a commune from an office.

Pure: imports only the standard library and ``docflow.domain.dates``/``docflow.errors``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from functools import total_ordering

from docflow.domain.dates import format_date
from docflow.errors import IdentifierError

# ASCII digits only: ``\d`` would also take other scripts' digits and break the round trip.
_FULL = re.compile(r"([0-9]{3})\.([0-9]{2})\.([0-9]{2})\.([A-Z])([0-9]{2})")
_SHORT_HUB = re.compile(r"([0-9]{2})\.([0-9]{2})\.(W)([0-9]{2})")

#: The Government Office, root of the national document axis.
GOVERNMENT_OFFICE_CODE = "000.00.00.G22"

#: Level-1 letters numbered by province (people's committees H, Party bodies A).
PROVINCIAL_PREFIXES = frozenset({"H", "A"})

_LIMITS = (("level1", 99), ("level2", 99), ("level3", 99), ("level4", 999))


class Tier(IntEnum):
    """The four tiers of the interconnection, top (0) to bottom (3); see the module docstring."""

    CENTRAL = 0  # Government Office, ministries and central bodies, the national axis
    PROVINCE = 1  # a provincial people's committee (level-1 H code), a provincial hub
    DISTRICT = 2  # level 2 of a province: departments and district people's committees
    COMMUNE = 3  # level 3-4 of a province: communes, offices of departments and districts

    @property
    def label(self) -> str:
        """Lower-case English name, as shown by the command line."""
        return self.name.lower()


@total_ordering
@dataclass(frozen=True, slots=True)
class OrganId:
    """A validated agency code; compare, hash and sort by its parts (level 1 first, then 2, 3, 4)."""

    prefix: str  # the level-1 letter: G, H, A, W, ...
    level1: int  # the two digits after the letter
    level2: int = 0  # AA
    level3: int = 0  # BB
    level4: int = 0  # CCC
    short: bool = False  # written in the short hub form BB.AA.W00
    # Codes are dict keys everywhere (registry, routes, stores): hash once, not per lookup; and written out on
    # every message, row and event: format once, not per use.
    _hash: int = field(init=False, repr=False, compare=False)
    _text: str = field(init=False, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> OrganId:
        """Parse ``CCC.BB.AA.XNN`` (or the short hub form); raise ``IdentifierError`` naming the rule.

        Codes parsed once are kept (a bounded table: a country has ~13,000 agencies), since every hop parses
        the same few; an ``OrganId`` is immutable, so sharing one is safe."""
        if cls is OrganId and type(text) is str:
            found = _PARSED.get(text)
            if found is None:
                found = cls._parse(text)
                if len(_PARSED) < _PARSED_LIMIT:
                    _PARSED[text] = found
            return found
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> OrganId:
        if not isinstance(text, str):
            raise IdentifierError(
                f"OrganId must be a string, got {type(text).__name__}", value=text, rule="organ-id-type"
            )
        value = text.strip()
        m = _FULL.fullmatch(value)
        if m:
            return cls(m[4], int(m[5]), int(m[3]), int(m[2]), int(m[1]))
        m = _SHORT_HUB.fullmatch(value)
        if m:
            return cls(m[3], int(m[4]), int(m[2]), int(m[1]), 0, short=True)
        raise IdentifierError(
            f"invalid OrganId {text!r}: expected CCC.BB.AA.XNN (three digits, two, two, a capital letter and "
            "two digits, e.g. 000.00.00.G22) or the hub form BB.AA.W00",
            value=text,
            rule="organ-id-format",
        )

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or len(self.prefix) != 1 or not ("A" <= self.prefix <= "Z"):
            raise IdentifierError(
                f"invalid OrganId level-1 letter {self.prefix!r}: must be one capital letter A-Z",
                value=self.prefix,
                rule="organ-id-letter",
            )
        for name, top in _LIMITS:
            part = getattr(self, name)
            if not isinstance(part, int) or isinstance(part, bool) or not 0 <= part <= top:
                raise IdentifierError(
                    f"invalid OrganId {name} {part!r}: must be an integer 0..{top}", value=part, rule="organ-id-range"
                )
        if self.short and (self.prefix != "W" or self.level4):
            raise IdentifierError(
                "the short form BB.AA.W00 is for connecting systems (W) without a level-4 part",
                value=self.prefix,
                rule="organ-id-short-form",
            )
        object.__setattr__(self, "_hash", hash(self.sort_key()))
        if self.short:
            text = f"{self.level3:02d}.{self.level2:02d}.{self.prefix}{self.level1:02d}"
        else:
            text = f"{self.level4:03d}.{self.level3:02d}.{self.level2:02d}.{self.prefix}{self.level1:02d}"
        object.__setattr__(self, "_text", text)

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return self._text

    def sort_key(self) -> tuple[str, int, int, int, int, bool]:
        """The tuple codes sort by (``sorted(codes, key=OrganId.sort_key)`` is the fast way to sort many)."""
        return (self.prefix, self.level1, self.level2, self.level3, self.level4, self.short)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, OrganId):
            return NotImplemented
        return self.sort_key() < other.sort_key()

    @property
    def level(self) -> int:
        """Structural level 1–4: the deepest non-zero part of the code."""
        if self.level4:
            return 4
        if self.level3:
            return 3
        if self.level2:
            return 2
        return 1

    @property
    def is_provincial(self) -> bool:
        """True for codes numbered by a province (H and A letters) and for provincial hubs ``00.nn.W00``."""
        if self.short:
            return self.level2 != 0
        return self.prefix in PROVINCIAL_PREFIXES

    @property
    def tier(self) -> Tier:
        """The tier of the interconnection (see the module docstring)."""
        if not self.is_provincial:
            return Tier.CENTRAL
        if self.short:
            return Tier.PROVINCE
        level = self.level
        if level == 1:
            return Tier.PROVINCE
        return Tier.DISTRICT if level == 2 else Tier.COMMUNE

    @property
    def parent(self) -> OrganId | None:
        """The code one level up (the deepest non-zero part zeroed), or None for a level-1 code or a short hub code."""
        if self.short:
            return None
        if self.level4:
            return OrganId(self.prefix, self.level1, self.level2, self.level3, 0)
        if self.level3:
            return OrganId(self.prefix, self.level1, self.level2, 0, 0)
        if self.level2:
            return OrganId(self.prefix, self.level1, 0, 0, 0)
        return None

    @property
    def is_hub(self) -> bool:
        """True for connecting systems (W codes)."""
        return self.prefix == "W"

    @property
    def is_government_office(self) -> bool:
        """True for ``000.00.00.G22``, the root of the national document axis."""
        return self == _GOVERNMENT_OFFICE


#: Codes already parsed, by their exact text (see ``OrganId.parse``).
_PARSED: dict[str, OrganId] = {}
_PARSED_LIMIT = 65_536


def organ_id(value: OrganId | str) -> OrganId:
    """Coerce a string or an ``OrganId`` to an ``OrganId``."""
    return value if isinstance(value, OrganId) else OrganId.parse(value)


_GOVERNMENT_OFFICE = OrganId.parse(GOVERNMENT_OFFICE_CODE)

_DOC_ID = re.compile(r"^([^,]+),([0-9]{4})/([0-9]{2})/([0-9]{2}),([^,/]+)/(.+)$")


@dataclass(frozen=True, slots=True)
class DocumentId:
    """``<sender OrganId>,<yyyy/MM/dd>,<CodeNumber>/<CodeNotation>``."""

    sender: OrganId
    date: date
    code_number: str
    code_notation: str

    @classmethod
    def parse(cls, text: str) -> DocumentId:
        """Parse a DocumentId; raise ``IdentifierError`` naming what is wrong."""
        m = _DOC_ID.match(text.strip()) if isinstance(text, str) else None
        if not m:
            raise IdentifierError(
                f"invalid DocumentId {text!r}: expected '<OrganId>,<yyyy/MM/dd>,<number>/<notation>'",
                value=text,
                rule="document-id-format",
            )
        sender = OrganId.parse(m[1])
        try:
            when = date(int(m[2]), int(m[3]), int(m[4]))
        except ValueError as exc:
            raise IdentifierError(
                f"invalid DocumentId {text!r}: {m[2]}/{m[3]}/{m[4]} is not a calendar date",
                value=text,
                rule="document-id-date",
            ) from exc
        return cls(sender, when, m[5], m[6])

    def __str__(self) -> str:
        return f"{self.sender},{format_date(self.date)},{self.code_number}/{self.code_notation}"
