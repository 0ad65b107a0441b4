"""Read and write the agency registry as CSV over text streams (no file is opened here).

Format: UTF-8, one header row naming the columns in ``COLUMNS`` (any order; extra columns are refused),
then one agency per row.  ``organ_id``, ``name`` and ``kind`` are required; ``parent`` is empty for the
root only; the header fields (``organization_in_charge``, ``address``, ``email``, ``telephone``, ``fax``,
``website``) may be empty.  Rows may come in any order.  Every error names the source and the line.
``dump_csv`` writes the registry in code order with the columns in ``COLUMNS`` order, so
``dump_csv(load_csv(text))`` reproduces a file that ``dump_csv`` wrote.

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

import csv
from typing import TextIO

from docflow.domain.ids import OrganId
from docflow.domain.registry import Agency, Registry
from docflow.errors import DocflowError, RegistryError

COLUMNS = (
    "organ_id",
    "name",
    "kind",
    "parent",
    "organization_in_charge",
    "address",
    "email",
    "telephone",
    "fax",
    "website",
)
_REQUIRED = ("organ_id", "name", "kind")


def load_csv(stream: TextIO, *, source: str = "<csv>") -> Registry:
    """Build a ``Registry`` from CSV text; ``RegistryError``/``IdentifierError`` name ``source`` and the line."""
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RegistryError(f"{source}: empty file: expected a header row ({','.join(COLUMNS)})")
        names = [h.strip().lstrip("\ufeff").lower() for h in header]
        unknown = [n for n in names if n not in COLUMNS]
        missing = [n for n in _REQUIRED if n not in names]
        if unknown or missing or len(set(names)) != len(names):
            raise RegistryError(
                f"{source}, line 1: bad header {header!r}: columns are {', '.join(COLUMNS)} "
                f"({', '.join(_REQUIRED)} required, each once)"
            )
        agencies: list[Agency] = []
        origins: dict[OrganId, str] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise RegistryError(f"{source}, line {line}: {len(row)} fields, expected {len(names)}")
            values = {name: cell.strip() for name, cell in zip(names, row, strict=True)}
            agency = _agency(values, f"{source}, line {line}")
            if agency.code in origins:
                raise RegistryError(
                    f"{source}, line {line}: duplicate agency {agency.code} (first on {origins[agency.code]})"
                )
            origins[agency.code] = f"{source}, line {line}"
            agencies.append(agency)
    except csv.Error as exc:
        raise RegistryError(f"{source}, line {reader.line_num}: malformed CSV: {exc}") from None
    return Registry(agencies, origins=origins)


def _agency(values: dict[str, str], where: str) -> Agency:
    for name in _REQUIRED:
        if not values.get(name):
            raise RegistryError(f"{where}: column {name} is empty")
    try:
        return Agency.of(
            values["organ_id"],
            values["name"],
            values["kind"],
            values.get("parent") or None,
            organization_in_charge=values.get("organization_in_charge", ""),
            address=values.get("address", ""),
            email=values.get("email", ""),
            telephone=values.get("telephone", ""),
            fax=values.get("fax", ""),
            website=values.get("website", ""),
        )
    except DocflowError as exc:
        raise RegistryError(f"{where}: {exc}") from exc


def dump_csv(registry: Registry, stream: TextIO) -> None:
    """Write ``registry`` as CSV (header row, then agencies in code order, ``\\n`` line ends)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    for agency in registry:
        org = agency.organization
        writer.writerow(
            (
                str(agency.code),
                org.organ_name,
                agency.kind.value,
                "" if agency.parent is None else str(agency.parent),
                org.organization_in_charge,
                org.organ_add,
                org.email,
                org.telephone,
                org.fax,
                org.website,
            )
        )
