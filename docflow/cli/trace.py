"""``docflow trace DOCUMENT_ID --db URL``: print a document's journey — hops and statuses in order.

Thin: the steps come from ``docflow.services.network.trace_of`` (imported inside ``run``).
Exit 0 when the document has recorded steps, 1 when the database knows nothing of it.
"""

from __future__ import annotations

import argparse

from docflow.cli.db import DB_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("document_id", metavar="DOCUMENT_ID", help="the edXML DocumentId, e.g. '000.00.00.H58,...'")
    parser.add_argument("--db", metavar="URL", default=None, help=DB_HELP)
    parser.add_argument("--details", action="store_true", help="also print each step's recorded detail")


def run(args: argparse.Namespace) -> int:
    from docflow.errors import StoreError
    from docflow.services.network import trace_of
    from docflow.store import open_store
    from docflow.store.engine import missing_sqlite_file

    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    with open_store(args.db, create=False) as store:
        steps = trace_of(store, args.document_id)
    if not steps:
        print(f"no recorded step for {args.document_id}")
        return 1
    print(f"{args.document_id}: {len(steps)} steps")
    for step in steps:
        print(str(step))
        if args.details and step.detail:
            print("    " + ", ".join(f"{k}={v}" for k, v in sorted(step.detail.items())))
    return 0
