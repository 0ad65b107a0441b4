"""``docflow conformance URL --system ID --secret-file F [--as ORGID] --to ORGID [--junit FILE] [--json FILE]``.

Runs the conformance cases (``docflow.conformance.cases``) against any axis endpoint, prints a table of case,
verdict and reason, and exits 0 only when every required case passed (1 otherwise).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the endpoint, with its base path (e.g. http://127.0.0.1:8080/XrdAdapter/adapter)")
    parser.add_argument("--system", required=True, help="the calling system's id")
    parser.add_argument("--secret-file", metavar="FILE", default=None, help="credentials TOML holding the secret")
    parser.add_argument(
        "--as", dest="sender", metavar="ORGID", default=None, help="agency to send as (default --system)"
    )
    parser.add_argument(
        "--to", dest="recipient", metavar="ORGID", required=True, help="an agency the same system receives for"
    )
    parser.add_argument("--junit", metavar="FILE", type=Path, default=None, help="write a JUnit XML report")
    parser.add_argument("--json", metavar="FILE", type=Path, default=None, help="write a JSON report")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per call (default 20)")


def run(args: argparse.Namespace) -> int:
    from docflow.axis.credentials import secret_for
    from docflow.conformance.cases import Partner, run_cases
    from docflow.conformance.report import conforms, table, write_json, write_junit

    secret = secret_for(args.system, args.secret_file)
    partner = Partner(args.url, args.system, secret, args.sender or args.system, args.recipient, args.timeout)
    verdicts = run_cases(partner)
    print(table(verdicts))
    if args.junit is not None:
        write_junit(verdicts, args.junit, args.url)
    if args.json is not None:
        write_json(verdicts, args.json, args.url)
    return 0 if conforms(verdicts) else 1
