"""What the axis knows of a package before it touches the engine: its parsed facts, its identity, its ids.

Also the small conversions the axis needs at its edges: a ``ResponseFor`` from a DocumentId, a directory row from
a registry agency, a registry by name or CSV file.  Must not import sqlalchemy, lxml, starlette or httpx.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

from docflow.axis.credentials import System
from docflow.bootstrap import load_topology
from docflow.domain.envelope import Envelope, ResponseFor
from docflow.domain.ids import DocumentId, OrganId
from docflow.domain.registry import Agency, Registry
from docflow.domain.status import StatusMessage
from docflow.errors import IdentifierError
from docflow.store import Organisation


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    """What a ``sendEdoc`` body says about itself."""

    kind: str  # "edoc" | "status" | "dossier"
    sender: str
    recipients: tuple[str, ...]
    document_id: str
    business: int
    status_code: str = ""
    subject: str = ""
    notation: str = ""
    envelope: Envelope | None = None
    status: StatusMessage | None = None
    #: a dossier hand-over's own identity (``DossierMessage.identity``): the code and round name one hand-over
    key: str = ""


def axis_system(system_id: str) -> System:
    """The axis itself as the writer of a package (a 02 on a receiver's behalf)."""
    return System(system_id, "", frozenset())


def identity(parsed: Parsed, recipient: str) -> str:
    """The package's identity for ``recipient``: the key the engine's inbox uses for the same message."""
    if parsed.kind == "edoc":
        return f"edoc|{parsed.document_id}|{parsed.business}|{parsed.sender}|{recipient}"
    if parsed.kind == "dossier":
        return f"{parsed.key}|{recipient}"
    return f"status|{parsed.document_id}|{parsed.business}|{parsed.sender}|{recipient}|{parsed.status_code}"


def new_id() -> str:
    """A fresh axis ``DocId``."""
    return uuid.uuid4().hex


def response_for(document_id: str, original_sender: str) -> ResponseFor:
    try:
        parsed = DocumentId.parse(document_id)
    except IdentifierError:
        return ResponseFor(organ_id=OrganId.parse(original_sender), document_id=document_id)
    return ResponseFor(
        organ_id=OrganId.parse(original_sender),
        code=f"{parsed.code_number}/{parsed.code_notation}",
        promulgation_date=parsed.date,
        document_id=document_id,
    )


def organisation_of(agency: Agency) -> Organisation:
    org = agency.organization
    return Organisation(
        organ_id=str(org.organ_id),
        name=org.organ_name,
        kind=str(agency.kind),
        parent=str(agency.parent) if agency.parent is not None else None,
        tier=int(org.organ_id.tier),
        organization_in_charge=org.organization_in_charge,
        address=org.organ_add,
        email=org.email,
        telephone=org.telephone,
        fax=org.fax,
        website=org.website,
    )


def load_registry(name_or_file: str | Registry) -> Registry:
    """A registry by topology name, or from a CSV file (``docflow registry`` writes one)."""
    if isinstance(name_or_file, str) and Path(name_or_file).is_file():
        from docflow.domain.registry_csv import load_csv

        with open(name_or_file, encoding="utf-8") as stream:
            return load_csv(stream, source=name_or_file)
    return load_topology(name_or_file)
