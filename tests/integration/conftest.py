"""Fixtures the integration tests share; a test module may define its own ``served`` with other options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from axis_processes import Served, start_server, stop


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A ``docflow serve`` process with the test credentials (``axis_processes``), stopped after the test."""
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        stop(server.process)
