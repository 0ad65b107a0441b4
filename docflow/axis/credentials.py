"""The credentials file of the axis: which systems may call, with which secret, for which agencies.

The file is TOML, exactly as partners and tests write it::

    [[system]]
    id = "000.00.00.H41"            # the XroadVnpt-systemid
    secret = "testsecret"
    agencies = ["000.00.00.H41"]    # OrganIds it may send as and receive for; ["*"] for a hub

Reading refuses anything else with a ``ConfigError`` naming the entry; ``generate`` writes a file with a
random secret per agency (``docflow serve`` on first run).  Standard library only; must not import lxml,
sqlalchemy, httpx, starlette or docflow.store.
"""

from __future__ import annotations

import json
import os
import secrets as random_secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from docflow.errors import ConfigError

ANY = "*"
SECRET_ENV = "DOCFLOW_AXIS_SECRET"


@dataclass(frozen=True, slots=True)
class System:
    """One calling system."""

    id: str
    secret: str
    agencies: frozenset[str]

    def owns(self, agency: str) -> bool:
        """May this system send as, and receive for, ``agency``?"""
        return ANY in self.agencies or agency in self.agencies

    @property
    def relays_for_any(self) -> bool:
        return ANY in self.agencies


@dataclass(frozen=True, slots=True)
class Credentials:
    """Every system of one credentials file, by id."""

    systems: Mapping[str, System]

    @property
    def secrets(self) -> dict[str, str]:
        return {system.id: system.secret for system in self.systems.values()}

    def system(self, system_id: str) -> System | None:
        return self.systems.get(system_id)


def parse(text: str, *, source: str = "<credentials>") -> Credentials:
    """Read credentials TOML; ``ConfigError`` naming the problem and the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    entries = data.get("system")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: needs at least one [[system]] table")
    systems: dict[str, System] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: [[system]] #{number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} is not a table")
        unknown = sorted(set(entry) - {"id", "secret", "agencies"})
        if unknown:
            raise ConfigError(f"{where} has unknown keys {unknown}; expected id, secret, agencies")
        system_id, secret, agencies = entry.get("id"), entry.get("secret"), entry.get("agencies")
        if not isinstance(system_id, str) or not system_id.strip():
            raise ConfigError(f"{where}: id must be a non-empty string")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where} ({system_id}): secret must be a non-empty string")
        if not isinstance(agencies, list) or not agencies or not all(isinstance(a, str) and a for a in agencies):
            raise ConfigError(f'{where} ({system_id}): agencies must be a non-empty list of OrganIds or ["*"]')
        if system_id in systems:
            raise ConfigError(f"{where}: system {system_id} is listed twice")
        systems[system_id] = System(system_id, secret, frozenset(agencies))
    return Credentials(systems)


def load(path: str | Path) -> Credentials:
    """Read the credentials file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read credentials file {file}: {exc.strerror or exc}") from None
    return parse(text, source=str(file))


def render(systems: Iterable[System]) -> str:
    """The TOML text of ``systems`` (strings written as JSON strings, which TOML reads the same)."""
    blocks = []
    for system in systems:
        agencies = ", ".join(json.dumps(a) for a in sorted(system.agencies))
        blocks.append(
            f"[[system]]\nid = {json.dumps(system.id)}\nsecret = {json.dumps(system.secret)}\nagencies = [{agencies}]\n"
        )
    return "\n".join(blocks)


def generate(path: str | Path, agencies: Iterable[str]) -> Credentials:
    """Write a credentials file giving every agency its own system (id = OrganId) and a random secret.

    The file is created with mode 0600 and never overwritten: an existing file is an error.
    """
    systems = [System(code, random_secrets.token_hex(16), frozenset({code})) for code in agencies]
    file = Path(path)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"credentials file {file} exists already; it is never overwritten") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render(systems))
    return Credentials({s.id: s for s in systems})


def secret_for(system_id: str, secret_file: str | Path | None) -> str:
    """A client's secret: from a credentials file (its entry for ``system_id``) or ``$DOCFLOW_AXIS_SECRET``."""
    if secret_file is not None:
        found = load(secret_file).system(system_id)
        if found is None:
            raise ConfigError(f"credentials file {secret_file} has no [[system]] with id {system_id!r}")
        return found.secret
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise ConfigError(f"no secret for system {system_id}: give a credentials file or set ${SECRET_ENV}")
    return secret
