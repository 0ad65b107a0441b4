"""Agency identifier codes (mã định danh, QCVN 102:2016) and document identifiers.

An ``OrganId`` is ``CCC.BB.AA.XNN``, read right to left: ``XNN`` the level-1 body (G.. ministries and
the Government Office, H01–H63 provinces, A.. Party bodies, W.. connecting systems), ``AA`` a unit under
it (a department or a district), ``BB`` a unit under that (an office, a commune), ``CCC`` a unit under
that.  Unused levels are zero-filled, so tier and parent follow from the code alone.  Connecting systems
(hubs) also appear in the short form ``BB.AA.W00`` (e.g. ``00.53.W00``); it is accepted and kept as is.

Pure: imports only the standard library and ``docflow.errors``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import total_ordering

from docflow.domain.dates import format_date
from docflow.errors import IdentifierError

_FULL = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z])(\d{2})$")
_SHORT_HUB = re.compile(r"^(\d{2})\.(\d{2})\.(W)(\d{2})$")

#: The Government Office, root of the national document axis.
GOVERNMENT_OFFICE_CODE = "000.00.00.G22"


class Tier(IntEnum):
    """The four tiers of the interconnection, top (0) to bottom (3)."""

    CENTRAL = 0  # a level-1 code alone: Government Office, ministries, provinces' people's committees
    LEVEL2 = 1  # department or district
    LEVEL3 = 2  # office of a department, or commune
    LEVEL4 = 3


@total_ordering
@dataclass(frozen=True, slots=True)
class OrganId:
    """A validated agency code; compare, hash and sort by its parts (level 1 first)."""

    prefix: str  # the level-1 letter: G, H, A, W, ...
    level1: int  # the two digits after the letter
    level2: int = 0  # AA
    level3: int = 0  # BB
    level4: int = 0  # CCC
    short: bool = False  # written in the short hub form BB.AA.W00

    @classmethod
    def parse(cls, text: str) -> OrganId:
        """Parse ``CCC.BB.AA.XNN`` (or the short hub form); raise ``IdentifierError`` naming the rule."""
        if not isinstance(text, str):
            raise IdentifierError(f"OrganId must be a string, got {type(text).__name__}", value=text)
        value = text.strip()
        m = _FULL.match(value)
        if m:
            return cls(m[4], int(m[5]), int(m[3]), int(m[2]), int(m[1]))
        m = _SHORT_HUB.match(value)
        if m:
            return cls(m[3], int(m[4]), int(m[2]), int(m[1]), 0, short=True)
        raise IdentifierError(
            f"invalid OrganId {text!r}: expected CCC.BB.AA.XNN (three digits, two, two, a capital letter and "
            "two digits, e.g. 000.00.00.G22)",
            value=text,
            rule="organ-id-format",
        )

    def __post_init__(self) -> None:
        if len(self.prefix) != 1 or not ("A" <= self.prefix <= "Z"):
            raise IdentifierError(f"invalid OrganId level-1 letter {self.prefix!r}", value=self.prefix)
        limits = (("level1", 99), ("level2", 99), ("level3", 99), ("level4", 999))
        for name, top in limits:
            part = getattr(self, name)
            if not 0 <= part <= top:
                raise IdentifierError(f"invalid OrganId {name} {part}: must be 0..{top}", value=part)

    def __str__(self) -> str:
        if self.short:
            return f"{self.level3:02d}.{self.level2:02d}.{self.prefix}{self.level1:02d}"
        return f"{self.level4:03d}.{self.level3:02d}.{self.level2:02d}.{self.prefix}{self.level1:02d}"

    def _key(self) -> tuple[str, int, int, int, int]:
        return (self.prefix, self.level1, self.level2, self.level3, self.level4)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, OrganId):
            return NotImplemented
        return self._key() < other._key()

    @property
    def tier(self) -> Tier:
        """The tier given by the deepest non-zero level."""
        if self.level4:
            return Tier.LEVEL4
        if self.level3:
            return Tier.LEVEL3
        if self.level2:
            return Tier.LEVEL2
        return Tier.CENTRAL

    @property
    def parent(self) -> OrganId | None:
        """The code one level up (zeroing the deepest level), or None for a level-1 code."""
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


def organ_id(value: OrganId | str) -> OrganId:
    """Coerce a string or an ``OrganId`` to an ``OrganId``."""
    return value if isinstance(value, OrganId) else OrganId.parse(value)


_DOC_ID = re.compile(r"^([^,]+),(\d{4})/(\d{2})/(\d{2}),([^,/]+)/(.+)$")


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
