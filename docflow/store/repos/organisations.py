"""The ``organisations`` table: the directory of agencies kept in the database.
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from docflow.store.records import Organisation
from docflow.store.repos.base import TableRepo, as_row
from docflow.store.tables import organisations

_INSERT: dict[str, Any] = {"sqlite": sqlite.insert(organisations), "postgresql": postgresql.insert(organisations)}
_UPSERT = {
    d: stmt.on_conflict_do_update(
        index_elements=["organ_id"],
        set_={c.name: stmt.excluded[c.name] for c in organisations.c if c.name != "organ_id"},
    )
    for d, stmt in _INSERT.items()
}
_GET = select(organisations).where(organisations.c.organ_id == bindparam("k"))


class OrganisationRepo(TableRepo):
    __slots__ = ()

    def upsert(self, rows: Iterable[Organisation]) -> int:
        """Insert or update directory entries; return how many were given."""
        batch = [as_row(r) for r in rows]
        if batch:
            self.run(_UPSERT[self.dialect], batch, what="upsert organisations")
        return len(batch)

    def get(self, organ_id: str) -> Organisation | None:
        found = self.run(_GET, {"k": organ_id}, what="get organisation").first()
        return Organisation(**found._mapping) if found else None
