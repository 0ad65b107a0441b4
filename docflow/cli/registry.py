"""``docflow registry``: show an agency topology — counts per tier and per kind, then the indented tree.

``--topology`` takes a built-in name (``tien_giang_2017``, the default, or ``national``) or a directory file
(``.csv`` or ``.xml``).  The tree is shown in full for registries of up to ``FULL_TREE_LIMIT`` agencies and to
depth 1 above that (``--depth`` overrides); a node whose children are hidden gets one summary line.
Exit codes: 0 shown, 1 the file cannot be read or is invalid, 2 usage errors (unknown topology, bad depth).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docflow.domain.ids import OrganId
    from docflow.domain.registry import Registry

#: Above this many agencies, the tree is shown to depth 1 unless ``--depth`` says otherwise.
FULL_TREE_LIMIT = 1000
_FILE_SUFFIXES = (".csv", ".xml")


def _depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid depth {text!r}: expected a whole number >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid depth {value}: expected a whole number >= 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology",
        default="tien_giang_2017",
        metavar="NAME|FILE",
        help="tien_giang_2017 (default), national, or an agency directory file (.csv or .xml)",
    )
    parser.add_argument(
        "--depth",
        type=_depth,
        default=None,
        metavar="N",
        help=f"deepest tree level shown, 0 = the root only (default: all up to {FULL_TREE_LIMIT} agencies, else 1)",
    )
    parser.add_argument("--no-tree", action="store_true", help="print the counts only")


def _load(spec: str) -> Registry | None:
    """The registry ``spec`` names, or None when it names nothing (a usage error)."""
    from docflow.domain.topologies import TOPOLOGIES, topology
    from docflow.errors import RegistryError

    if spec.strip().lower() in TOPOLOGIES:
        return topology(spec)
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in _FILE_SUFFIXES:
        return None
    try:
        if suffix == ".xml":
            from docflow.xml.directory import load_directory

            return load_directory(path.read_bytes(), source=str(path))
        from docflow.domain.registry_csv import load_csv

        with path.open(encoding="utf-8-sig", newline="") as stream:
            return load_csv(stream, source=str(path))
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 (byte {exc.start})") from None


def _counts(registry: Registry) -> list[str]:
    tiers = ", ".join(f"{tier.label} {n}" for tier, n in registry.count_by_tier().items())
    kinds = ", ".join(f"{kind.value} {n}" for kind, n in registry.count_by_kind().items())
    return [f"tiers: {tiers}", f"kinds: {kinds}"]


def _tree(registry: Registry, max_depth: int | None) -> list[str]:
    lines: list[str] = []
    stack: list[tuple[OrganId, int]] = [(registry.root, 0)]
    while stack:
        code, depth = stack.pop()
        agency = registry[code]
        indent = "  " * depth
        lines.append(f"{indent}{code}  {agency.name}  [{agency.kind.value}]")
        children = registry.children(code)
        if not children:
            continue
        if max_depth is not None and depth >= max_depth:
            below = Counter(registry[c].kind for c in registry.descendants(code))
            summary = ", ".join(f"{kind.value} {below[kind]}" for kind in type(agency.kind) if below[kind])
            lines.append(f"{indent}  … {sum(below.values())} below ({summary})")
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
    return lines


def run(args: argparse.Namespace) -> int:
    registry = _load(args.topology)
    if registry is None:
        from docflow.domain.topologies import TOPOLOGIES

        known = ", ".join(sorted(TOPOLOGIES))
        print(
            f"docflow registry: error: unknown topology {args.topology!r}: expected {known}, or a .csv/.xml file",
            file=sys.stderr,
        )
        return 2
    root = registry[registry.root]
    lines = [f"{args.topology}: {len(registry)} agencies, root {root.code} {root.name}", *_counts(registry)]
    if not args.no_tree:
        depth = args.depth if args.depth is not None else (None if len(registry) <= FULL_TREE_LIMIT else 1)
        lines.append("")
        lines.extend(_tree(registry, depth))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
