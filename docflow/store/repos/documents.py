"""The ``documents`` table: a document a node sent or received, with its exact bytes, stored once per node.
Imports SQLAlchemy Core and this package only.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select

from docflow.store.records import Document
from docflow.store.repos.base import TableRepo, as_row
from docflow.store.repos.prepared import Prepared
from docflow.store.tables import documents

_ADD = Prepared(documents.insert())
_GET = Prepared(
    select(documents).where(
        documents.c.node == bindparam("k_node"),
        documents.c.document_id == bindparam("k_doc"),
        documents.c.business_type == bindparam("k_type"),
    )
)


class DocumentRepo(TableRepo):
    __slots__ = ()

    def add(self, doc: Document) -> int:
        """Store a document with its exact envelope; return its row id; ``DuplicateError`` if present."""
        row = as_row(doc)
        row["sha256"] = doc.sha256 or hashlib.sha256(doc.envelope).hexdigest()
        result = self.run(_ADD, row, what=f"document {doc.document_id} at {doc.node}")
        return int(result.inserted_primary_key[0])

    def get(self, node: str, document_id: str, business_type: int = 0) -> Document | None:
        params = {"k_node": node, "k_doc": document_id, "k_type": business_type}
        found = self.run(_GET, params, what="get document").first()
        return Document(**found._mapping) if found else None
