"""``docflow axis URL --system ID [--secret-file F] send FILE | list | get DOCID | ack DOCID | sent DOCID | agencies``.

A person's client of any axis endpoint, ours or a partner's: the same ``AxisClient`` the HTTP transport uses,
one line per result.  The secret comes from a credentials file (its ``[[system]]`` entry for ``--system``) or
``$DOCFLOW_AXIS_SECRET``.  Exit 0 on success, 1 when the endpoint answers FAIL (its ErrorCode is printed).
Must not import sqlalchemy or lxml.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.axis.client import AxisClient


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="the endpoint, e.g. http://127.0.0.1:8080 (with any base path)")
    parser.add_argument("--system", required=True, metavar="ID", help="the XroadVnpt-systemid to call as")
    parser.add_argument("--secret-file", metavar="FILE", default=None, help="credentials TOML holding the secret")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    parser.add_argument("--retries", type=int, default=3, help="retries after a failed connection or a 5xx")
    actions = parser.add_subparsers(dest="axis_action", metavar="ACTION")
    actions.required = True
    send = actions.add_parser("send", help="sendEdoc a file (a document, or a status with --status)")
    send.add_argument("file", type=Path, metavar="FILE")
    send.add_argument("--status", action="store_true", help="the file is a status packet (messagetype=status)")
    send.add_argument("--to", action="append", default=[], metavar="ORGID", help="recipient (default: the To list)")
    listing = actions.add_parser("list", help="getReceivedEdocList: what waits for this system")
    listing.add_argument("--status", action="store_true", help="list status packets instead of documents")
    get = actions.add_parser("get", help="getEdoc: write the package's bytes to stdout or --out")
    get.add_argument("doc_id", metavar="DOCID")
    get.add_argument("--out", type=Path, default=None, metavar="FILE")
    ack = actions.add_parser("ack", help="updateStatus done (or --fail REASON, or --processing)")
    ack.add_argument("doc_id", metavar="DOCID")
    ack.add_argument("--fail", metavar="REASON", default=None)
    ack.add_argument("--processing", action="store_true")
    sent = actions.add_parser("sent", help="getSentEdocList: one line per recipient of a sent DocId")
    sent.add_argument("doc_id", metavar="DOCID")
    actions.add_parser("agencies", help="getAgenciesList: one line per agency")


def run(args: argparse.Namespace) -> int:
    from docflow.axis.client import AxisCallError, AxisClient
    from docflow.axis.credentials import secret_for

    secret = secret_for(args.system, args.secret_file)
    with AxisClient(args.url, args.system, secret, timeout=args.timeout, retries=args.retries) as client:
        try:
            return _act(client, args)
        except AxisCallError as exc:
            print(f"docflow axis: FAIL {exc.code}: {exc.description}", file=sys.stderr)
            return 1


def _act(client: AxisClient, args: argparse.Namespace) -> int:
    action = args.axis_action
    if action == "send":
        data = args.file.read_bytes()
        doc_id = client.send(data, message_type="status" if args.status else "edoc", to=args.to)
        print(doc_id)
    elif action == "list":
        for item in client.received("status" if args.status else "edoc"):
            print(f"{item['docId']}  {item['status']:<10} {item['from']} -> {item['to']}  {item['created_time']}")
    elif action == "get":
        data = client.get(args.doc_id)
        if args.out is not None:
            args.out.write_bytes(data)
            print(f"{args.out}: {len(data)} bytes")
        else:
            sys.stdout.buffer.write(data)
    elif action == "ack":
        status = "fail" if args.fail is not None else "processing" if args.processing else "done"
        client.update(args.doc_id, status, args.fail or "")
        print(f"{args.doc_id} {status}")
    elif action == "sent":
        for item in client.sent(args.doc_id):
            print(
                f"{item['toCode']}  send {item['sendStatus']:<10} receive {item['receiveStatus']:<10} "
                f"{item['notation']}  {item['title']}"
            )
    else:
        for agency in client.agencies():
            print(f"{agency['code']}  parent {agency['pid'] or '-':<14} {agency['name']}")
    return 0
