"""``docflow audit verify --db URL [--node ORGAN_ID]``: check the hash-chained event log.

Exit 0 when every chain verifies, 1 when one is broken (the first bad event is named).
Thin: the check lives in ``docflow.store.audit`` (imported inside ``run``).  Must not import SQLAlchemy.
"""

from __future__ import annotations

import argparse

from docflow.cli.db import DB_HELP, database_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION")
    actions.required = True
    text = "recompute every node's event hash chain and report the first event that was altered or removed"
    verify = actions.add_parser("verify", help=text, description=text)
    verify.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)
    verify.add_argument("--node", metavar="ORGAN_ID", default=None, help="check only this node's chain")


def run(args: argparse.Namespace) -> int:
    from docflow.errors import StoreError
    from docflow.store import open_store
    from docflow.store.engine import missing_sqlite_file

    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    with open_store(args.db, create=False) as store:
        report = store.verify_audit(args.node)
    print(report)
    return 0 if report.ok else 1
