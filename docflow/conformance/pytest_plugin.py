"""The conformance cases as a pytest plugin, so a vendor runs them in its own CI:

    pytest --docflow-partner URL --docflow-system ID --docflow-secret-file F --docflow-to ORGID [--docflow-as ORGID]

Installed with docflow (entry point ``pytest11``); without ``--docflow-partner`` it adds nothing.  With it, one
test item per case is collected; the cases run once, in their order (they build on each other), on the first
item that runs, and each item passes or fails with its case's verdict and reason.
Must not import lxml, sqlalchemy or the engine.
"""

from __future__ import annotations

from typing import Any

import pytest

from docflow.conformance.cases import CASES, Partner, Verdict, run_cases


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("docflow", "docflow conformance kit")
    group.addoption("--docflow-partner", metavar="URL", default=None, help="axis endpoint to run the cases against")
    group.addoption("--docflow-system", metavar="ID", default=None, help="the calling system's id")
    group.addoption("--docflow-secret-file", metavar="FILE", default=None, help="credentials TOML with its secret")
    group.addoption("--docflow-as", metavar="ORGID", default=None, help="agency to send as (default: the system)")
    group.addoption("--docflow-to", metavar="ORGID", default=None, help="an agency the system receives for")


class ConformanceItem(pytest.Item):
    """One conformance case, reported with its verdict."""

    def __init__(self, *, case: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        verdict = _verdicts(self.config)[self.case]
        if not verdict.passed:
            raise CaseFailure(f"{self.case}: {verdict.reason}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value) if excinfo.errisinstance(CaseFailure) else str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int, str]:
        return "docflow-conformance", 0, f"conformance case {self.case}"


class CaseFailure(Exception):
    """A conformance case failed (the message is its reason)."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--docflow-partner") is None:
        return
    items.extend(
        ConformanceItem.from_parent(
            session, name=f"conformance[{name}]", nodeid=f"docflow-conformance::{name}", case=name
        )
        for name, _, _ in CASES
    )


def _verdicts(config: pytest.Config) -> dict[str, Verdict]:
    cached: dict[str, Verdict] | None = getattr(config, "_docflow_verdicts", None)
    if cached is None:
        from docflow.axis.credentials import secret_for

        system = config.getoption("--docflow-system")
        recipient = config.getoption("--docflow-to")
        if not system or not recipient:
            raise pytest.UsageError("--docflow-partner needs --docflow-system and --docflow-to")
        secret = secret_for(system, config.getoption("--docflow-secret-file"))
        partner = Partner(
            config.getoption("--docflow-partner"), system, secret, config.getoption("--docflow-as") or system, recipient
        )
        cached = {v.case: v for v in run_cases(partner)}
        config._docflow_verdicts = cached  # type: ignore[attr-defined]
    return cached
