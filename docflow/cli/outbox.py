"""``docflow outbox list|retry|purge --db URL [--node ORGAN_ID] [--document ID]``: given-up work, for an operator.

``list`` prints the messages the engine gave up (both retry budgets spent) with why and when; ``retry`` queues
them again with fresh budgets (their deliveries go back to ``retrying``; a running worker or network sends
them); ``purge`` deletes them for good (their deliveries stay ``dead``).  Every revival is recorded in the
audit log.  Thin: the work is ``Network.dead`` / ``retry_dead`` / ``purge_dead`` (imported inside ``run``).
Must not import SQLAlchemy.
"""

from __future__ import annotations

import argparse

from docflow.cli.db import DB_HELP, database_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="outbox_action", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("list", "list the messages given up after their retry budgets were spent"),
        ("retry", "queue the given-up messages again with fresh budgets"),
        ("purge", "delete the given-up messages for good"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--db", metavar="URL", type=database_url, default=None, help=DB_HELP)
        action.add_argument("--node", metavar="ORGAN_ID", default=None, help="only this node's outbox")
        action.add_argument("--document", metavar="ID", default=None, help="only messages about this DocumentId")


def run(args: argparse.Namespace) -> int:
    from docflow.bootstrap import build_network
    from docflow.errors import StoreError
    from docflow.store.engine import missing_sqlite_file

    if missing := missing_sqlite_file(args.db):
        raise StoreError(f"no database file at {missing}")
    net = build_network(db=args.db, transport="memory://")  # the outbox lives in the store: no transport needed
    try:
        if args.outbox_action == "list":
            rows = net.dead(node=args.node, document=args.document)
            for row in rows:
                headers = row.headers
                when = f"{row.dead_at:%Y-%m-%d %H:%M:%S}" if row.dead_at else "?"
                print(
                    f"{when}  {row.node}  {row.kind:<6} to {row.recipient} for {headers.get('destination', '?')}"
                    f"  {headers.get('document', '')}  ({row.attempts} attempts)  {row.message_id}"
                )
            print(f"{len(rows)} given-up message(s)")
        elif args.outbox_action == "retry":
            print(f"{net.retry_dead(node=args.node, document=args.document)} message(s) queued again")
        else:
            print(f"{net.purge_dead(node=args.node, document=args.document)} message(s) purged")
    finally:
        net.ctx.store.close()
        net.ctx.transport.close()
    return 0
