"""The ``quarantine`` table: refused bytes kept with their reason.

Adding an entry never fails on what it keeps: text is made storable (``safe_text``) and bounded.
Imports SQLAlchemy Core, ``docflow.errors`` and this package only.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import bindparam, select

from docflow.errors import Violation
from docflow.store.records import QuarantineEntry
from docflow.store.repos.base import TableRepo, safe_text
from docflow.store.tables import quarantine

_ADD = quarantine.insert()
_LIST = select(quarantine).order_by(quarantine.c.id).limit(bindparam("n"))
_LIST_NODE = (
    select(quarantine).where(quarantine.c.node == bindparam("k_node")).order_by(quarantine.c.id).limit(bindparam("n"))
)
#: Reasons and sources are kept whole up to this many characters.
TEXT_LIMIT = 4000


class QuarantineRepo(TableRepo):
    __slots__ = ()

    def add(self, entry: QuarantineEntry) -> int:
        """Keep refused bytes with their reason; return the entry's id."""
        violations = [
            {k: safe_text(v) if isinstance(v, str) else v for k, v in asdict(v).items()} for v in entry.violations
        ]
        row = {
            "node": entry.node,
            "received_at": entry.received_at,
            "reason": safe_text(entry.reason)[:TEXT_LIMIT],
            "source": safe_text(entry.source)[:TEXT_LIMIT],
            "violations": json.dumps(violations, ensure_ascii=True),
            "body": entry.body,
        }
        return int(self.run(_ADD, row, what="quarantine").inserted_primary_key[0])

    def list(self, node: str | None = None, *, limit: int = 100) -> list[QuarantineEntry]:
        if node is None:
            rows = self.run(_LIST, {"n": limit}, what="list quarantine")
        else:
            rows = self.run(_LIST_NODE, {"k_node": node, "n": limit}, what="list quarantine")
        out = []
        for row in rows:
            fields = dict(row._mapping)
            fields["violations"] = tuple(Violation(**v) for v in json.loads(fields["violations"]))
            out.append(QuarantineEntry(**fields))
        return out
