"""The import rules of docs/architecture.md, checked on the source (every import, also inside functions)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "docflow"

FORBIDDEN = {
    "domain": ("lxml", "sqlalchemy", "alembic", "pika", "simpy", "docflow.xml", "docflow.store",
               "docflow.transports", "docflow.services", "docflow.sim", "docflow.cli", "docflow.bootstrap"),
    "xml": ("sqlalchemy", "alembic", "pika", "docflow.store", "docflow.transports", "docflow.services",
            "docflow.sim", "docflow.cli"),
    "store": ("lxml", "pika", "docflow.xml", "docflow.transports", "docflow.services", "docflow.sim",
              "docflow.cli"),
    "transports": ("lxml", "sqlalchemy", "alembic", "docflow.xml", "docflow.store", "docflow.services",
                   "docflow.sim", "docflow.cli"),
    "services": ("sqlalchemy", "pika", "docflow.transports.memory", "docflow.transports.filesystem",
                 "docflow.transports.amqp", "docflow.transports.registry", "docflow.sim", "docflow.cli",
                 "docflow.bootstrap"),
}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_it_may(layer):
    offences = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports_of(path):
            for banned in FORBIDDEN[layer]:
                if name == banned or name.startswith(banned + "."):
                    offences.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert offences == []


def test_only_the_xml_layer_imports_lxml_and_only_the_store_imports_sqlalchemy():
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = path.relative_to(PACKAGE).parts[0]
        names = imports_of(path)
        if any(n == "lxml" or n.startswith("lxml.") for n in names):
            assert layer == "xml", path
        if any(n == "sqlalchemy" or n.startswith(("sqlalchemy.", "alembic")) for n in names):
            assert layer == "store", path
