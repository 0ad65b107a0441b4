"""``docflow audit verify --db URL [--node ORGAN_ID] [--key-dir DIR] [--no-states]``: check the audit log.

Checks every node's keyed event chain, its signed checkpoint and (unless ``--no-states``) that the state tables
hold what the events replay to; exit 0 when all is well, 1 naming the first event, range or row at fault.
The node keys and checkpoints are read from ``--key-dir``, else ``$DOCFLOW_AUDIT_KEYS``, else
``~/.local/share/docflow/audit-keys`` (the directory the writing nodes used).  A successful check moves the
checkpoints forward.  Thin: the check lives in ``docflow.store.audit`` (imported inside ``run``).
Must not import SQLAlchemy.
"""

from __future__ import annotations

import argparse

from docflow.cli.db import DB_HELP, database_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION")
    actions.required = True
    text = (
        "check every node's keyed event chain, its checkpoint and the state tables, and name the first event, "
        "range or row that was altered or removed"
    )
    verify = actions.add_parser("verify", help=text, description=text)
    verify.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)
    verify.add_argument("--node", metavar="ORGAN_ID", default=None, help="check only this node's chain")
    verify.add_argument(
        "--key-dir",
        metavar="DIR",
        default=None,
        help="the audit keys and checkpoints (default: $DOCFLOW_AUDIT_KEYS or ~/.local/share/docflow/audit-keys)",
    )
    verify.add_argument(
        "--no-states", action="store_true", help="check the chains only, not the state tables against the events"
    )


def run(args: argparse.Namespace) -> int:
    from docflow.errors import StoreError
    from docflow.store import open_store
    from docflow.store.audit import verify_chain
    from docflow.store.audit_keys import Keyring, default_keyring
    from docflow.store.engine import missing_sqlite_file

    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    keyring = Keyring(args.key_dir) if args.key_dir else default_keyring()
    with open_store(args.db, create=False) as store, store.snapshot() as repo:
        report = verify_chain(repo.conn, args.node, keyring=keyring, states=not args.no_states)
    print(report)
    return 0 if report.ok else 1
