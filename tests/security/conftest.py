"""Fixtures of the hostile-input catalogue: one key store for the session, a fresh signed network per case."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_kit import Bench, bench, make_keys

from docflow.keys import KeyStore


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def node(tmp_path: Path, keys: KeyStore) -> Bench:
    return bench(tmp_path, keys)
